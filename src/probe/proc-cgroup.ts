/** /proc/PID/cgroup → the path that says who manages the process (v2 unified, else v1 systemd). */
import { GONE, DENIED, readSmall } from './proc-read.js';

/** One line of /proc/PID/cgroup: "hierarchy-id:controller,list:path" (v2: "0::path"). */
export interface CgroupLine {
  readonly hierarchy: string;
  readonly controllers: readonly string[];
  readonly path: string;
}

/** Every well-formed line of /proc/PID/cgroup (a path may itself contain ':'). Pure. */
export function parseCgroupLines(text: string): CgroupLine[] {
  const out: CgroupLine[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    out.push({ hierarchy: line.slice(0, first), controllers: line.slice(first + 1, second).split(','), path: line.slice(second + 1) });
  }
  return out;
}

/** The "0::" path (cgroup v2), else the "name=systemd" path (v1), else null. Pure. */
export function parseCgroupText(text: string): string | null {
  const lines = parseCgroupLines(text);
  const v2 = lines.find((l) => l.hierarchy === '0' && l.controllers.length === 1 && l.controllers[0] === '');
  if (v2) return v2.path;
  return lines.find((l) => /^\d+$/.test(l.hierarchy) && l.controllers.includes('name=systemd'))?.path ?? null;
}

const buf = Buffer.allocUnsafe(4096);

export function readCgroup(pid: number): string | null {
  const n = readSmall(`/proc/${pid}/cgroup`, buf);
  if (n === GONE || n === DENIED || n <= 0) return null;
  return parseCgroupText(buf.toString('utf8', 0, n));
}
