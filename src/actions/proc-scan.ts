/**
 * The executor's tight rescans: every /proc/<pid>/stat, nothing else (argv, environ, fds are
 * not needed to follow a tree while it is being stopped). Uses the probe's reader.
 */
import { readdirSync } from 'node:fs';
import { readStatSync, type RawStat } from '../probe/proc-stat.js';

export function scanStats(): Map<number, RawStat> {
  const out = new Map<number, RawStat>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const st = readStatSync(pid);
    if (st) out.set(pid, st);
  }
  return out;
}

/** Pids of this process and its ancestors, read now (what the executor must never hit). */
export function readSelfAndAncestors(): Set<number> {
  const out = new Set<number>([process.pid, 0, 1]);
  let pid = process.pid;
  for (let i = 0; i < 4096; i++) {
    const st = readStatSync(pid);
    if (!st || st.ppid <= 1 || out.has(st.ppid)) break;
    out.add(st.ppid);
    pid = st.ppid;
  }
  return out;
}
