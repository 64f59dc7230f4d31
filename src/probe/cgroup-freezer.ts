/**
 * Is a process held by a cgroup freezer? SIGCONT cannot resume it then: on cgroup v2 it sits in
 * the freezer trap (state S), on v1 in the refrigerator (state D, where SIGKILL waits too), and
 * neither shows as T. Found through /proc/PID/cgroup and the mounts in /proc/self/mountinfo;
 * only reads, never writes.
 */
import { readFileSync } from 'node:fs';
import { parseCgroupLines } from './proc-cgroup.js';

export interface FrozenCgroup {
  readonly version: 1 | 2;
  /** The cgroup folder whose own freeze holds the process (the one to thaw). */
  readonly path: string;
  /** The command that thaws it, for the operator. */
  readonly thaw: string;
}

interface Mount {
  readonly root: string;
  readonly point: string;
}

interface Mounts {
  readonly v2: Mount[];
  readonly v1Freezer: Mount[];
}

let mountsCache: Mounts | null = null;

/** cgroup mounts of this mount namespace (read once: they do not move while reaper acts). */
function readMounts(): Mounts {
  if (mountsCache) return mountsCache;
  const out: Mounts = { v2: [], v1Freezer: [] };
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return (mountsCache = out);
  }
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    const root = unescapeMount(pre[3] ?? '');
    const point = unescapeMount(pre[4] ?? '');
    const fstype = post[0];
    const superOpts = (post[2] ?? '').split(',');
    if (fstype === 'cgroup2') out.v2.push({ root, point });
    else if (fstype === 'cgroup' && superOpts.includes('freezer')) out.v1Freezer.push({ root, point });
  }
  return (mountsCache = out);
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function readSmall(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The folder of cgroup `cgPath` under mount `m`, or null when the mount does not show it. */
function folderOf(m: Mount, cgPath: string): string | null {
  const root = m.root === '/' ? '' : m.root;
  if (root && cgPath !== root && !cgPath.startsWith(root + '/')) return null;
  const rel = cgPath.slice(root.length);
  if (rel.split('/').includes('..')) return null;
  return m.point + (rel === '/' ? '' : rel);
}

/** Folders from `dir` up to the mount point, nearest first. */
function upward(dir: string, point: string): string[] {
  const out: string[] = [];
  let d = dir;
  while (d.length >= point.length && d.startsWith(point)) {
    out.push(d);
    if (d === point) break;
    d = d.slice(0, d.lastIndexOf('/')) || '/';
  }
  return out;
}

/** The freezer that holds `pid`, or null (not frozen, gone, or no freezer to read). */
export function readFrozenCgroup(pid: number): FrozenCgroup | null {
  const text = readSmall(`/proc/${pid}/cgroup`);
  if (text === null) return null;
  const mounts = readMounts();
  for (const { hierarchy: hier, controllers, path: cgPath } of parseCgroupLines(text)) {
    if (hier === '0' && controllers.length === 1 && controllers[0] === '') {
      for (const m of mounts.v2) {
        const dir = folderOf(m, cgPath);
        if (dir === null) continue;
        // cgroup.freeze is each folder's own request; an ancestor's freeze holds us too.
        // The topmost frozen one is what must be thawed.
        const frozen = upward(dir, m.point).filter((d) => readSmall(`${d}/cgroup.freeze`)?.trim() === '1');
        const top = frozen[frozen.length - 1];
        if (top) return { version: 2, path: top, thaw: `echo 0 > ${top}/cgroup.freeze` };
        break;
      }
    } else if (controllers.includes('freezer')) {
      for (const m of mounts.v1Freezer) {
        const dir = folderOf(m, cgPath);
        if (dir === null) continue;
        const state = readSmall(`${dir}/freezer.state`)?.trim();
        if (state !== 'FROZEN' && state !== 'FREEZING') break;
        const self = upward(dir, m.point).filter((d) => readSmall(`${d}/freezer.self_freezing`)?.trim() === '1');
        const top = self[self.length - 1] ?? dir;
        return { version: 1, path: top, thaw: `echo THAWED > ${top}/freezer.state` };
      }
    }
  }
  return null;
}
