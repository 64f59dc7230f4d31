/** /proc/PID/cgroup → the path that says who manages the process (v2 unified, else v1 systemd). */
import { GONE, DENIED, readSmall } from './proc-read.js';

/** The "0::" path (cgroup v2), else the "name=systemd" path (v1), else null. Pure. */
export function parseCgroupText(text: string): string | null {
  let v1: string | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('0::')) return line.slice(3);
    const m = /^\d+:name=systemd:(.*)$/.exec(line);
    if (m) v1 = m[1]!;
  }
  return v1;
}

const buf = Buffer.allocUnsafe(4096);

export function readCgroup(pid: number): string | null {
  const n = readSmall(`/proc/${pid}/cgroup`, buf);
  if (n === GONE || n === DENIED || n <= 0) return null;
  return parseCgroupText(buf.toString('utf8', 0, n));
}
