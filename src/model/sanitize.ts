/**
 * Text from other processes (argv, comm, nvidia-smi names) is untrusted: an argv can
 * carry escape sequences that rewrite the operator's screen. Control characters are
 * shown escaped (\x1b, \n), the way ps shows them as "?".
 */

// C0, DEL, C1 and the Unicode bidi overrides/isolates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function sanitizeText(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    if (code === 0x0a) return '\\n';
    if (code === 0x09) return '\\t';
    if (code === 0x0d) return '\\r';
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
