/**
 * Evidence of why a stopped (T) process stopped: the system call each of its threads sits in
 * (/proc/PID/task/TID/syscall) and where the fd argument and fd 0 point. A background read of
 * the terminal stops inside read(tty) (SIGTTIN); a background write or mode change inside
 * write/ioctl(tty) (SIGTTOU); `kill -STOP` of a sleeper inside nanosleep. The syscall file needs
 * ptrace rights (owner or root): EACCES is "no evidence" (null), never a guess.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import type { StopEvidence } from '../model/proc.js';
import { DENIED, GONE, readSmall } from './proc-read.js';

type Call = StopEvidence['call'];

/** Syscall numbers of the calls that can raise SIGTTIN/SIGTTOU on a terminal, per architecture. */
const CALLS: Readonly<Record<string, ReadonlyMap<number, Call>>> = {
  // x86_64: read, write, ioctl, pread64, pwrite64, readv, writev, preadv, pwritev, preadv2, pwritev2
  x64: new Map<number, Call>([
    [0, 'read'], [1, 'write'], [16, 'ioctl'], [17, 'read'], [18, 'write'], [19, 'read'], [20, 'write'],
    [295, 'read'], [296, 'write'], [327, 'read'], [328, 'write'],
  ]),
  // arm64 (the generic table): ioctl, read, write, readv, writev, pread64, pwrite64, preadv, pwritev, preadv2, pwritev2
  arm64: new Map<number, Call>([
    [29, 'ioctl'], [63, 'read'], [64, 'write'], [65, 'read'], [66, 'write'], [67, 'read'], [68, 'write'],
    [69, 'read'], [70, 'write'], [286, 'read'], [287, 'write'],
  ]),
};

/**
 * One /proc/PID/syscall line → the call and its fd argument. Pure. "-1 sp pc": stopped in user
 * space; "running": no evidence (null); "N a1 a2 …": in system call N. An unknown architecture
 * classifies every call as 'other'.
 */
export function parseSyscallLine(text: string, arch: string): { call: Call; fd: number | null } | null {
  const f = text.trim().split(/\s+/);
  if (f.length === 0 || f[0] === '' || f[0] === 'running') return null;
  const nr = Number(f[0]);
  if (!Number.isInteger(nr)) return null;
  if (nr < 0) return { call: 'user', fd: null };
  const call = CALLS[arch]?.get(nr);
  if (!call) return { call: 'other', fd: null };
  const fd = f[1] !== undefined ? Number.parseInt(f[1], 16) : NaN;
  return { call, fd: Number.isInteger(fd) && fd >= 0 && fd < 1 << 20 ? fd : null };
}

const buf = Buffer.allocUnsafe(512);
/** At most this many threads are looked at (a stopped 200-thread trainer need not cost 200 reads). */
const MAX_THREADS = 64;

function readLink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

/** Read the stop evidence of `pid`; null when the syscall files are unreadable or it is gone. */
export function readStopEvidence(pid: number, arch: string = process.arch): StopEvidence | null {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  // The main thread first: it is the one a single-threaded reader is.
  tids.sort((a, b) => (a === String(pid) ? -1 : b === String(pid) ? 1 : Number(a) - Number(b)));
  let best: { call: Call; fd: number | null } | null = null;
  let denied = false;
  for (const tid of tids.slice(0, MAX_THREADS)) {
    const n = readSmall(`/proc/${pid}/task/${tid}/syscall`, buf);
    if (n === DENIED) {
      denied = true;
      break;
    }
    if (n === GONE || n <= 0) continue;
    const c = parseSyscallLine(buf.toString('latin1', 0, n), arch);
    if (!c) continue;
    if (c.call === 'read' || c.call === 'write' || c.call === 'ioctl') {
      // A terminal call on a terminal fd decides; a read of a pipe does not.
      const path = c.fd !== null ? readLink(`/proc/${pid}/fd/${c.fd}`) : null;
      if (path !== null && isTerminalPath(path)) return { call: c.call, fd: c.fd, fdPath: path, stdin: readLink(`/proc/${pid}/fd/0`) };
      if (!best || best.call === 'other' || best.call === 'user') best = c;
    } else if (!best) best = c;
  }
  if (denied || !best) return null;
  const fdPath = best.fd !== null ? readLink(`/proc/${pid}/fd/${best.fd}`) : null;
  return { call: best.call, fd: best.fd, fdPath, stdin: readLink(`/proc/${pid}/fd/0`) };
}

/** "/dev/pts/3", "/dev/tty", "/dev/ttyS0", "/dev/console": a terminal device path. Pure. */
export function isTerminalPath(path: string): boolean {
  return /^\/dev\/(pts\/\d+|tty[A-Za-z]*\d*|console)$/.test(path);
}
