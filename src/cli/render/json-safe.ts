/**
 * JSON for output that may carry untrusted text. JSON.stringify escapes C0 controls but leaves
 * DEL, C1 controls (\u009b is a CSI on many terminals) and the bidi marks, embeddings and
 * isolates raw, so `jq -r` or a plain `cat` would pass them to the terminal. Outside strings
 * JSON text is ASCII, so escaping these characters anywhere in the output only touches strings.
 */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function stringifySafe(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
