/**
 * Text from other processes (argv, comm, nvidia-smi names, journals) is untrusted: an argv can
 * carry escape sequences that rewrite the operator's screen, or bidi controls that make a
 * command line read differently from what it runs. Control characters are shown escaped
 * (\x1b, \n), the way ps shows them as "?".
 */

// C0, DEL, C1, the bidi marks, embeddings, overrides and isolates, and the Unicode line and
// paragraph separators (a terminal or an editor may break the line there).
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function sanitizeText(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    if (code === 0x0a) return '\\n';
    if (code === 0x09) return '\\t';
    if (code === 0x0d) return '\\r';
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

// What JSON.stringify leaves raw but a terminal or viewer acts on (it escapes only C0 itself).
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON.stringify for documents that carry untrusted strings (`--json` of every command): the
 * same value, with DEL, C1, bidi controls and U+2028/2029 written as \uXXXX escapes: a terminal
 * or viewer shows them as text, and the document parses back to exactly the same strings.
 * Those characters can only occur inside JSON strings, where \uXXXX means the same character.
 */
export function toSafeJson(value: unknown, space?: number): string {
  const text = JSON.stringify(value, null, space);
  if (text === undefined) return 'null';
  return text.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
