/**
 * The one safe reader of batch files, apart from the YAML parser (config.ts) so that the screen
 * can check a batch file at start without loading it (the parser is ~24 ms of its start).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { ReaperError } from '../model/errors.js';

/** A batch file is at most this big: a real one is a few KiB; more is a mistake or an attack. */
export const MAX_BATCH_BYTES = 1024 * 1024;

function fileKind(st: import('node:fs').Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads a batch file safely: /dev/zero, a FIFO, a folder or a huge file must not hang, abort or
 * eat memory. The open never blocks (O_NONBLOCK: a FIFO without a writer), fstat of the opened
 * descriptor must say "regular file" (symlinks are followed: the target is what is checked), at
 * most MAX_BATCH_BYTES are read however the file changes meanwhile, and the bytes must be UTF-8.
 */
export function readBatchFile(file: string, opts: { requireOwn?: boolean } = {}): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new ReaperError('CONFIG', `${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ReaperError('CONFIG', `${file}: not a batch file: ${fileKind(st)} (a batch file is a regular YAML file)`);
    // A batch file found rather than named (the TUI's ./reaper.yaml) runs commands as the caller:
    // it must be the caller's (or root's) and writable by nobody else, or anyone could plant one.
    const uid = process.getuid?.();
    if (opts.requireOwn && uid !== undefined && ((st.uid !== uid && st.uid !== 0) || (st.mode & 0o022) !== 0)) {
      throw new ReaperError('CONFIG', `${file}: not used: ${st.uid !== uid && st.uid !== 0 ? `owned by uid ${st.uid}, not you` : 'writable by others'} (a batch file someone else can write could run anything as you)`);
    }
    const tooBig = (): ReaperError => new ReaperError('CONFIG', `${file}: too large for a batch file (at most ${MAX_BATCH_BYTES / 1024} KiB)`);
    if (st.size > MAX_BATCH_BYTES) throw tooBig();
    const buf = Buffer.alloc(MAX_BATCH_BYTES + 1);
    let n = 0;
    for (;;) {
      let got: number;
      try {
        got = readSync(fd, buf, n, buf.length - n, null);
      } catch (e) {
        throw new ReaperError('CONFIG', `${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (got === 0) break;
      n += got;
      if (n > MAX_BATCH_BYTES) throw tooBig();
    }
    return decodeUtf8(buf.subarray(0, n), file);
  } finally {
    closeSync(fd);
  }
}

function decodeUtf8(bytes: Buffer, file: string): string {
  const fatal = new TextDecoder('utf-8', { fatal: true });
  try {
    return fatal.decode(bytes);
  } catch {
    let line = 1;
    let from = 0;
    for (;;) {
      const nl = bytes.indexOf(0x0a, from);
      const end = nl < 0 ? bytes.length : nl;
      try {
        fatal.decode(bytes.subarray(from, end));
      } catch {
        break;
      }
      if (nl < 0) break;
      from = nl + 1;
      line++;
    }
    throw new ReaperError('CONFIG', `${file}:${line}: not valid UTF-8 (a batch file is UTF-8 text)`);
  }
}
