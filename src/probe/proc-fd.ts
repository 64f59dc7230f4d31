/** GPU holders without nvidia-smi: which /dev/nvidia<minor> a process has open. */
import { readdirSync, readlinkSync } from 'node:fs';

const PREFIX = '/dev/nvidia';

/**
 * Pure: the minor number of a /dev/nvidia<digits> link target, or null. nvidiactl, nvidia-uvm,
 * nvidia-modeset and nvidia-caps/* are not GPUs.
 */
export function nvidiaMinorOf(target: string): number | null {
  if (!target.startsWith(PREFIX)) return null;
  const rest = target.slice(PREFIX.length);
  if (!/^\d{1,6}$/.test(rest)) return null;
  return Number(rest);
}

/** Minors held open by `pid`, sorted, deduplicated; null when its fd dir is unreadable or gone. */
export function readNvidiaMinors(pid: number): number[] | null {
  const dir = `/proc/${pid}/fd/`;
  let fds: string[];
  try {
    fds = readdirSync(dir);
  } catch {
    return null;
  }
  let out: number[] | null = null;
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(dir + fd);
    } catch {
      continue; // closed meanwhile
    }
    // Cheap reject first: most targets are pipes, sockets, /dev/pts or regular files.
    if (target.length < 12 || target.charCodeAt(5) !== 110 /* n */) continue;
    const m = nvidiaMinorOf(target);
    if (m === null) continue;
    if (!out) out = [];
    if (!out.includes(m)) out.push(m);
  }
  return out ? out.sort((a, b) => a - b) : [];
}
