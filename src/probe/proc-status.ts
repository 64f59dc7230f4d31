/** /proc/<pid>/status: only the lines the snapshot needs (real uid, VmLck, TracerPid). */

export interface RawStatus {
  /** Real uid (first column of Uid:); null when the line is missing. */
  readonly uid: number | null;
  /** VmLck in KiB; 0 when absent (kernel threads, zombies). */
  readonly lockedKiB: number;
  /** 0 when not traced; null when the line is missing. */
  readonly tracerPid: number | null;
}

function numberAfter(text: string, key: string): number | null {
  const at = text.indexOf(key);
  if (at < 0) return null;
  const m = /^\s*(-?\d+)/.exec(text.slice(at + key.length, at + key.length + 32));
  return m ? Number(m[1]) : null;
}

/** Parse the text of /proc/<pid>/status. */
export function parseStatus(text: string): RawStatus {
  const t = '\n' + text;
  return {
    uid: numberAfter(t, '\nUid:'),
    lockedKiB: numberAfter(t, '\nVmLck:') ?? 0,
    tracerPid: numberAfter(t, '\nTracerPid:'),
  };
}

const UID = Buffer.from('\nUid:');
const VMLCK = Buffer.from('\nVmLck:');
const TRACER = Buffer.from('\nTracerPid:');

function numberAtBytes(buf: Buffer, len: number, needle: Buffer, from: number): { value: number; end: number } | null {
  const at = buf.indexOf(needle, from);
  if (at < 0 || at >= len) return null;
  let p = at + needle.length;
  while (p < len && (buf[p] === 0x20 || buf[p] === 0x09)) p++;
  const start = p;
  let v = 0;
  while (p < len) {
    const c = buf[p]!;
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    p++;
  }
  if (p === start) return null;
  return { value: v, end: p };
}

/** The same from bytes (scanner hot path). Lines appear in the order TracerPid, Uid, …, VmLck. */
export function parseStatusBytes(buf: Buffer, len: number): RawStatus {
  const tracer = numberAtBytes(buf, len, TRACER, 0);
  const uid = numberAtBytes(buf, len, UID, tracer ? tracer.end : 0);
  const lck = numberAtBytes(buf, len, VMLCK, uid ? uid.end : 0);
  return { uid: uid ? uid.value : null, lockedKiB: lck ? lck.value : 0, tracerPid: tracer ? tracer.value : null };
}
