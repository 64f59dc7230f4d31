/**
 * Whether a run folder may be believed at all. Its journal names pids, groups and a cgroup that
 * `reaper stop`, the guardian and `reap --run` act on (often as root), so whoever can write it
 * could aim them: a folder is trusted only when no one but its reader (or root) can change it.
 *
 *   - every folder from / down to the state folder is owned by the reader or root, and one that
 *     others may write is sticky (/tmp) or the reader's own, shared with the reader's primary
 *     group only; the state folder itself is writable by its owner only;
 *   - `runs/`, the run folder and the journal are real folders/files (no symbolic links), owned
 *     by the reader or root, writable by their owner only; the journal has one link;
 *   - the journal is opened with O_NOFOLLOW and checked again through the descriptor (what was
 *     checked is what is read).
 * Pure checks take the stat values as input; only `inspect*` and `openTrusted*` touch the disk.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import path from 'node:path';
import { ReaperError } from '../model/errors.js';
import { RUN_ID_RE, runPaths, runsDir } from './paths.js';

export interface OwnerMode {
  readonly uid: number;
  readonly mode: number;
  readonly gid?: number;
}

/** The uid reaper runs as (the "reader" of the rules above). */
export function selfUid(): number {
  return process.getuid?.() ?? 0;
}

/**
 * Why a folder on the way to the state folder is unsafe, or null. Pure. A sticky folder (/tmp)
 * may be writable by all; a folder of the reader's own that is writable by the reader's primary
 * group (umask 002 with a group of one's own) is the reader's choice.
 */
export function judgeAncestor(st: OwnerMode, reader: number, readerGid: number | null = null): string | null {
  if (st.uid !== reader && st.uid !== 0) return `owned by uid ${st.uid}`;
  if ((st.mode & 0o1000) !== 0) return null;
  const ownGroup = st.uid === reader && readerGid !== null && st.gid === readerGid;
  if ((st.mode & 0o002) !== 0 || ((st.mode & 0o020) !== 0 && !ownGroup)) return `writable by ${(st.mode & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o7777).toString(8)})`;
  return null;
}

/** Why a folder or file reaper keeps run records in is unsafe, or null. Pure. */
export function judgeOwned(st: OwnerMode, reader: number): string | null {
  if (st.uid !== reader && st.uid !== 0) return `owned by uid ${st.uid}, not by you (uid ${reader}) or root`;
  if ((st.mode & 0o022) !== 0) return `writable by ${(st.mode & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o7777).toString(8)}; chmod go-w fixes it)`;
  return null;
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

function prefixes(abs: string): string[] {
  const out: string[] = [];
  let cur = abs;
  for (;;) {
    out.unshift(cur);
    const up = path.dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  return out;
}

/**
 * Why the state folder cannot be trusted, or null (also null when it does not exist: no runs).
 * Both the path as written and the path it resolves to are checked, so a symbolic link on the way
 * only counts when whoever could swap it is the reader or root.
 */
export function inspectStateDir(state: string, reader = selfUid()): string | null {
  const gid = reader === selfUid() ? (process.getgid?.() ?? null) : null;
  const abs = path.resolve(state);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return `state folder ${abs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  for (const p of prefixes(abs).slice(0, -1)) {
    const st = lstatOrNull(p);
    if (!st) return null;
    const why = st.isSymbolicLink() ? (st.uid === reader || st.uid === 0 ? null : `a symbolic link owned by uid ${st.uid}`) : judgeAncestor(st, reader, gid);
    if (why) return `${p} (on the way to the state folder ${abs}) is ${why}: refusing to trust run records under it`;
  }
  const chain = prefixes(real);
  for (const p of chain) {
    const st = lstatSync(p);
    const why = p === real ? judgeOwned(st, reader) : judgeAncestor(st, reader, gid);
    if (why) return `${p === real ? 'state folder' : 'folder'} ${p}${p === real && real !== abs ? ` (${abs})` : ''} is ${why}: refusing to trust run records under it`;
  }
  return null;
}

export interface TrustedRun {
  readonly runId: string;
  readonly dir: string;
  readonly journal: string;
  /** The user the run belongs to: the owner of its folder and journal. */
  readonly owner: number;
  /** The journal's identity as checked (device and inode). */
  readonly dev: number;
  readonly ino: number;
}

export type RunTrust = { readonly ok: true; readonly run: TrustedRun } | { readonly ok: false; readonly why: string };

/** Checks one run folder and its journal (not the state folder: see inspectStateDir). */
export function inspectRunFolder(state: string, runId: string, reader = selfUid()): RunTrust {
  if (!RUN_ID_RE.test(runId)) return { ok: false, why: `"${runId.slice(0, 40)}" is not a run id` };
  const p = runPaths(state, runId);
  const runs = lstatOrNull(runsDir(state));
  if (!runs) return { ok: false, why: `no run folder ${p.dir}` };
  if (!runs.isDirectory()) return { ok: false, why: `${runsDir(state)} is not a folder${runs.isSymbolicLink() ? ' (a symbolic link)' : ''}` };
  const rw = judgeOwned(runs, reader);
  if (rw) return { ok: false, why: `${runsDir(state)} is ${rw}` };
  const d = lstatOrNull(p.dir);
  if (!d) return { ok: false, why: `no run folder ${p.dir}` };
  if (d.isSymbolicLink()) return { ok: false, why: `run folder ${p.dir} is a symbolic link` };
  if (!d.isDirectory()) return { ok: false, why: `${p.dir} is not a folder` };
  const dw = judgeOwned(d, reader);
  if (dw) return { ok: false, why: `run folder ${p.dir} is ${dw}` };
  const j = lstatOrNull(p.journal);
  if (!j) return { ok: false, why: `run ${runId} has no journal (${p.journal})` };
  if (j.isSymbolicLink()) return { ok: false, why: `journal ${p.journal} is a symbolic link` };
  if (!j.isFile()) return { ok: false, why: `journal ${p.journal} is not a regular file` };
  const jw = judgeOwned(j, reader);
  if (jw) return { ok: false, why: `journal ${p.journal} is ${jw}` };
  if (j.nlink !== 1) return { ok: false, why: `journal ${p.journal} has ${j.nlink} hard links` };
  if (j.uid !== d.uid) return { ok: false, why: `journal ${p.journal} (uid ${j.uid}) and its folder (uid ${d.uid}) belong to different users` };
  return { ok: true, run: { runId, dir: p.dir, journal: p.journal, owner: j.uid, dev: j.dev, ino: j.ino } };
}

/** The state folder and the run folder together; throws USAGE (exit 2) with the reason. */
export function trustRun(state: string, runId: string, reader = selfUid()): TrustedRun {
  const sw = inspectStateDir(state, reader);
  if (sw) throw new ReaperError('USAGE', `run ${runId}: ${sw}`);
  const t = inspectRunFolder(state, runId, reader);
  if (!t.ok) throw new ReaperError('USAGE', `run ${runId}: ${t.why}; nothing was signalled`);
  return t.run;
}

const MAX_JOURNAL_BYTES = 64 * 1024 * 1024;

/**
 * Reads a trusted journal through one O_NOFOLLOW descriptor, checked to be the very file that
 * was inspected (a swap between the check and the read is refused).
 */
export function readTrustedText(run: TrustedRun): string {
  let fd: number;
  try {
    fd = openSync(run.journal, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    throw new ReaperError('USAGE', `journal ${run.journal}: ${(e as NodeJS.ErrnoException).code === 'ELOOP' ? 'is a symbolic link' : (e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.dev !== run.dev || st.ino !== run.ino) throw new ReaperError('USAGE', `journal ${run.journal} was replaced while it was read`);
    const size = Math.min(st.size, MAX_JOURNAL_BYTES);
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n <= 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens a trusted journal to append one record: never through a symbolic link, never creating a
 * file, and only when the descriptor is the file that was checked. Returns the descriptor.
 */
export function openTrustedAppend(run: TrustedRun): number {
  const fd = openSync(run.journal, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  const st = fstatSync(fd);
  if (!st.isFile() || st.dev !== run.dev || st.ino !== run.ino || st.nlink !== 1) {
    closeSync(fd);
    throw new ReaperError('USAGE', `journal ${run.journal} was replaced; nothing appended`);
  }
  return fd;
}
