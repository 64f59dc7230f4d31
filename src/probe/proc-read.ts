/**
 * Low-level /proc reads into reused buffers (openSync/readSync/closeSync: no promise,
 * no allocation per file). A process can vanish between any two syscalls; that is
 * reported as GONE, a permission problem as DENIED, never thrown.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { envMarkerOf, NO_MARKERS, type EnvMarkers } from './proc-cmdline.js';

/** The file (or the whole process) no longer exists. */
export const GONE = -1;
/** EACCES/EPERM: unknown, not an error. */
export const DENIED = -2;

/**
 * Maps a read error to GONE/DENIED. Running out of file descriptors (EMFILE/ENFILE) or
 * memory says nothing about the process, so it is thrown: a scan must fail loudly rather
 * than silently miss processes.
 */
export function errnoResult(e: unknown): number {
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
export const ENVIRON_MAX = 6 * 1024 * 1024;

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
  /** Reads the file up to maxBytes; returns the byte count, GONE or DENIED. Use buf[0, count) only. */
  readAll(path: string, maxBytes = 4 * 1024 * 1024): number {
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
        const n = readSync(fd, this.buf, len, Math.min(this.buf.length, maxBytes) - len, null);
        if (n === 0) return len;
        len += n;
      }
    } catch (e) {
      return errnoResult(e);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * REAPER_RUN / REAPER_TASK of a process, reading its environ through `buf` piece by piece and
 * looking only at the bytes each read returned. The first occurrence of a key counts (getenv's
 * rule). A variable longer than `buf` is skipped: no marker value is that long. Returns
 * NO_MARKERS when the file is unreadable or gone.
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
  const take = (start: number, end: number): void => {
    const m = envMarkerOf(buf, start, end);
    if (m === null) return;
    if (m.key === 'run' && runId === null) runId = m.value;
    if (m.key === 'task' && taskId === null) taskId = m.value;
  };
  try {
    let len = 0; // bytes of an unfinished variable kept at the front of buf
    let skipping = false; // inside a variable longer than buf
    let total = 0;
    while (total < maxBytes && (runId === null || taskId === null)) {
      const n = readSync(fd, buf, len, Math.min(buf.length - len, maxBytes - total), null);
      if (n === 0) {
        if (!skipping && len > 0) take(0, len); // the last variable, without its NUL
        break;
      }
      total += n;
      const end = len + n;
      let start = 0;
      if (skipping) {
        const z = buf.indexOf(0, len);
        if (z < 0 || z >= end) {
          len = 0;
          continue;
        }
        skipping = false;
        start = z + 1;
      }
      for (;;) {
        const z = buf.indexOf(0, start);
        if (z < 0 || z >= end) break;
        take(start, z);
        start = z + 1;
      }
      if (start === 0 && end === buf.length) {
        skipping = true; // one variable fills the whole buffer
        len = 0;
      } else {
        buf.copy(buf, 0, start, end);
        len = end - start;
      }
    }
  } catch (e) {
    errnoResult(e);
  } finally {
    closeSync(fd);
  }
  return runId === null && taskId === null ? NO_MARKERS : { runId, taskId };
}
