/**
 * Low-level /proc reads into reused buffers (openSync/readSync/closeSync: no promise,
 * no allocation per file). A process can vanish between any two syscalls; that is
 * reported as GONE, a permission problem as DENIED, never thrown.
 */
import { closeSync, openSync, readlinkSync, readSync } from 'node:fs';
import { NO_MARKERS, type EnvMarkers } from './proc-cmdline.js';

/** The file (or the whole process) no longer exists. */
export const GONE = -1;
/** EACCES/EPERM: unknown, not an error. */
export const DENIED = -2;

/**
 * Maps a read error to GONE/DENIED. Running out of file descriptors (EMFILE/ENFILE) or
 * memory says nothing about the process, so it is thrown: a scan must fail loudly rather
 * than silently miss processes.
 */
function errnoResult(e: unknown): number {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EMFILE' || code === 'ENFILE' || code === 'ENOMEM') throw e;
  if (code === 'EACCES' || code === 'EPERM') return DENIED;
  // ENOENT, ESRCH (process exited between open and read), EINVAL, anything else: treat as gone.
  return GONE;
}

/**
 * Read up to buf.length bytes of a /proc file with one read (/proc seq files hand the whole
 * text to a read that is large enough). Returns the byte count, GONE or DENIED.
 */
export function readSmall(path: string, buf: Buffer): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    return errnoResult(e);
  }
  try {
    return readSync(fd, buf, 0, buf.length, null);
  } catch (e) {
    return errnoResult(e);
  } finally {
    closeSync(fd);
  }
}

/** At most this much of /proc/<pid>/cmdline is read (the kernel's MAX_ARG_STRLEN): longer argv is cut and shown with `…`. */
export const CMDLINE_CAP = 128 * 1024;
/**
 * /proc/<pid>/environ is searched in pieces of this size, so memory stays small whatever its
 * size; it is read to its end, at most ENVIRON_MAX bytes (the kernel caps argv plus environment
 * at 6 MiB), so a run marker is never missed because it sits far into a big environment: a
 * shell in the chain (the cgroup mover is one) rewrites the environment in its own order.
 */
export const ENVIRON_CHUNK = 64 * 1024;
const ENVIRON_MAX = 6 * 1024 * 1024;

const probeByte = Buffer.allocUnsafe(1);

/**
 * A growable buffer for files of unknown size (cmdline, environ). It grows to the largest file
 * read so far, never past the cap of a read, and callers use only the bytes a read returned:
 * one huge argv must not make every later read or search cost its size.
 */
export class GrowBuffer {
  buf: Buffer;
  /** The last readAll stopped at its cap with more bytes in the file. */
  truncated = false;
  constructor(size = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(size);
  }
  /**
   * Reads the file up to maxBytes; returns the byte count, GONE or DENIED. Use buf[0, count) only.
   * `shortReadEnds`: a read that returns fewer bytes than asked is the end of the file, as it is
   * for /proc/<pid>/cmdline (the kernel fills a read up to the end of the argument area): saves
   * the second read that would return 0.
   */
  readAll(path: string, maxBytes = 4 * 1024 * 1024, shortReadEnds = false): number {
    this.truncated = false;
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      return errnoResult(e);
    }
    try {
      let len = 0;
      for (;;) {
        if (len >= maxBytes) {
          this.truncated = readSync(fd, probeByte, 0, 1, null) > 0;
          return len;
        }
        if (len === this.buf.length) {
          const bigger = Buffer.allocUnsafe(Math.min(maxBytes, this.buf.length * 2));
          this.buf.copy(bigger, 0, 0, len);
          this.buf = bigger;
        }
        const want = Math.min(this.buf.length, maxBytes) - len;
        const n = readSync(fd, this.buf, len, want, null);
        if (n === 0) return len;
        len += n;
        if (shortReadEnds && n < want) return len;
      }
    } catch (e) {
      return errnoResult(e);
    } finally {
      closeSync(fd);
    }
  }
}

const RUN_KEY = Buffer.from('REAPER_RUN=');
const TASK_KEY = Buffer.from('REAPER_TASK=');

/**
 * The value of the first variable in view[from, to) that starts with `key` (KEY=value, NUL-separated;
 * `from` and every byte after a NUL start a variable), ending at its NUL or at `to`. One native
 * search instead of a JavaScript step per variable: most environments hold neither key.
 */
function markerIn(view: Buffer, key: Buffer, from: number, to: number): string | null {
  while (from < to) {
    const at = view.indexOf(key, from);
    if (at < 0 || at + key.length > to) return null;
    if (at === 0 || view[at - 1] === 0) {
      const z = view.indexOf(0, at + key.length);
      return view.toString('utf8', at + key.length, z < 0 || z > to ? to : z);
    }
    from = at + 1;
  }
  return null;
}

/**
 * REAPER_RUN / REAPER_TASK of a process, reading its environ through `buf` piece by piece and
 * looking only at the bytes each read returned. The first occurrence of a key counts (getenv's
 * rule). A variable longer than `buf` is skipped: no marker value is that long. Returns
 * NO_MARKERS when the file is unreadable or gone.
 *
 * A read that returns fewer bytes than asked ends the file: the kernel's environ_read copies
 * until the request is filled or the environment ends (a failure part-way fails the whole read),
 * so the usual one-read environment costs one read, not a second that returns 0.
 */
export function readEnvMarkers(path: string, buf: Buffer, maxBytes = ENVIRON_MAX): EnvMarkers {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    errnoResult(e);
    return NO_MARKERS;
  }
  let runId: string | null = null;
  let taskId: string | null = null;
  try {
    let len = 0; // bytes of an unfinished variable kept at the front of buf (buf[0] starts a variable)
    let skipping = false; // inside a variable longer than buf
    let total = 0;
    let eof = false;
    while (!eof && total < maxBytes && (runId === null || taskId === null)) {
      const want = Math.min(buf.length - len, maxBytes - total);
      const n = readSync(fd, buf, len, want, null);
      if (n < want) eof = true;
      total += n;
      const end = len + n;
      const view = buf.subarray(0, end);
      let start = 0;
      if (skipping) {
        const z = view.indexOf(0, len);
        if (z < 0) {
          len = 0;
          continue;
        }
        skipping = false;
        start = z + 1;
      }
      // Whole variables end at the last NUL; at the end of the file the rest is the last one.
      const lastNul = view.lastIndexOf(0);
      const done = eof ? end : lastNul >= start ? lastNul + 1 : start;
      if (runId === null) runId = markerIn(view, RUN_KEY, start, done);
      if (taskId === null) taskId = markerIn(view, TASK_KEY, start, done);
      if (eof) break;
      if (done === 0 && end === buf.length) {
        skipping = true; // one variable fills the whole buffer
        len = 0;
      } else {
        buf.copy(buf, 0, done, end);
        len = end - done;
      }
    }
  } catch (e) {
    errnoResult(e);
  } finally {
    closeSync(fd);
  }
  return runId === null && taskId === null ? NO_MARKERS : { runId, taskId };
}

/**
 * Does /proc show this process's own PID namespace (its /proc/self is our pid)? /proc/loadavg's
 * last pid is of the reader's namespace, so it says "no process was created" only then.
 */
export function procSelfIsUs(): boolean {
  try {
    return readlinkSync('/proc/self') === String(process.pid);
  } catch {
    return false;
  }
}

const loadavgBuf = Buffer.allocUnsafe(128);

/**
 * /proc/loadavg's task counters ("… running/total last-pid"): every process or thread created
 * takes a new pid and every exit lowers the total, so both unchanged means no task came or went.
 * last-pid is of the reader's PID namespace (see procSelfIsUs). Null when unreadable.
 */
export function readTaskCounters(): { readonly total: number; readonly lastPid: number } | null {
  const n = readSmall('/proc/loadavg', loadavgBuf);
  if (n <= 0) return null;
  const f = loadavgBuf.toString('latin1', 0, n).trim().split(' ');
  const total = Number(f[3]?.slice(f[3].indexOf('/') + 1));
  const lastPid = Number(f[4]);
  return Number.isInteger(total) && Number.isInteger(lastPid) && lastPid > 0 ? { total, lastPid } : null;
}
