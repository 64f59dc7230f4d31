/**
 * Run history from the run folders: `reaper runs` and `reaper show`. The pure part (records →
 * history, history → lines) is in src/analysis/run-history*.ts so the TUI can use it; this file
 * does the reading, defensively: a journal is untrusted text in a folder that may have been
 * tampered with. A malformed journal hides only its own run (torn lines ignored, bad lines
 * reported, no run-start → "unreadable"), never a crash. Stderr tails read at most the last
 * 64 KiB of a log, and only a regular file that is inside the run folder (O_NOFOLLOW, then the
 * opened descriptor's real path is checked).
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { buildRunHistory, parseJournalText, type RunHistory, type RunHistoryEntry, type StderrTail } from '../analysis/run-history.js';
import { readProcIdentity } from '../probe/proc-stat.js';
import { listRunIds } from './journal.js';
import { inspectRunFolder, inspectStateDir } from './run-trust.js';
import { runPaths } from './paths.js';

export {   formatMs, type RunHistory, type RunHistoryEntry,    type StderrTail,  } from '../analysis/run-history.js';
export { formatRunHistoryLines, formatTaskCounts, formatLocalTime,  } from '../analysis/run-history-text.js';

/** What is read of a log for its tail, at most. */
const TAIL_MAX_BYTES = 64 * 1024;
/** A journal larger than this is not read (a run of 10,000 tasks writes a few MB). */
const JOURNAL_MAX_BYTES = 64 * 1024 * 1024;
/** A line of a tail longer than this is cut (a progress bar without newlines). */
const TAIL_LINE_MAX = 1000;

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

function errText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return 'is a symlink';
  return code ?? (e as Error).message;
}

/** Reads a whole small regular file without following a symlink; a FIFO or device is refused, never waited on. */
function readRegularFile(file: string, maxBytes: number): { text: string } | { error: string } {
  let fd: number;
  try {
    fd = openSync(file, READ_FLAGS);
  } catch (e) {
    return { error: errText(e) };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { error: 'not a regular file' };
    if (st.size > maxBytes) return { error: `too large (${st.size} bytes)` };
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n <= 0) break;
      off += n;
    }
    return { text: buf.subarray(0, off).toString('utf8') };
  } catch (e) {
    return { error: errText(e) };
  } finally {
    closeSync(fd);
  }
}

/** A run's journal as records plus warnings, or why it cannot be read. */
function readJournalRecords(dir: string): { records: unknown[]; warnings: string[] } | { error: string } {
  try {
    const st = lstatSync(dir);
    if (st.isSymbolicLink()) return { error: 'run folder is a symlink' };
    if (!st.isDirectory()) return { error: 'not a folder' };
  } catch (e) {
    return { error: errText(e) };
  }
  const r = readRegularFile(path.join(dir, 'journal.jsonl'), JOURNAL_MAX_BYTES);
  if ('error' in r) return { error: `journal.jsonl: ${r.error === 'ENOENT' ? 'missing' : r.error}` };
  return parseJournalText(r.text);
}

function aliveKey(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const { pid, startTime } = v as { pid?: unknown; startTime?: unknown };
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0 || typeof startTime !== 'number') return false;
  const id = readProcIdentity(pid);
  return !!id && id.startTime === startTime && id.state !== 'Z' && id.state !== 'X';
}

/** True while the run-start's launcher or guardian identity (pid and start time) is alive. */
function readRunLiveness(records: readonly unknown[]): boolean {
  const start = records.find((r): r is Record<string, unknown> => typeof r === 'object' && r !== null && (r as { ev?: unknown }).ev === 'run-start');
  return !!start && (aliveKey(start.launcher) || aliveKey(start.guardian));
}

/**
 * The last `lines` lines of a log inside `runDir`: at most the last 64 KiB are read, the file is
 * opened without following a symlink and must be a regular file whose real path is inside the
 * run folder. Lines are raw (sanitise before display); a carriage return keeps what a terminal
 * would show (the text after it).
 */
export function readStderrTail(runDir: string, file: string, lines: number, maxBytes = TAIL_MAX_BYTES): StderrTail {
  const fail = (error: string): StderrTail => ({ lines: [], truncated: false, error });
  let root: string;
  try {
    root = realpathSync(runDir);
  } catch (e) {
    return fail(`run folder: ${errText(e)}`);
  }
  const abs = path.resolve(runDir, file);
  const rel = path.relative(path.resolve(runDir), abs);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return fail('log is not inside the run folder');
  let fd: number;
  try {
    fd = openSync(abs, READ_FLAGS);
  } catch (e) {
    return fail(errText(e));
  }
  try {
    // The folders on the way may be symlinks: what counts is where the opened file really is.
    let real: string;
    try {
      real = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      real = realpathSync(abs);
    }
    if (!real.startsWith(root + path.sep)) return fail('log is not inside the run folder');
    const st = fstatSync(fd);
    if (!st.isFile()) return fail('log is not a regular file');
    const from = Math.max(0, st.size - maxBytes);
    const buf = Buffer.alloc(Math.min(st.size, maxBytes));
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, from + off);
      if (n <= 0) break;
      off += n;
    }
    let text = buf.subarray(0, off).toString('utf8');
    if (from > 0) {
      const nl = text.indexOf('\n');
      text = nl >= 0 ? text.slice(nl + 1) : '';
    }
    const all = text.split('\n');
    if (all.at(-1) === '') all.pop();
    const picked = all.slice(Math.max(0, all.length - lines)).map((l) => {
      const line = l.endsWith('\r') ? l.slice(0, -1) : l;
      const shown = line.slice(line.lastIndexOf('\r') + 1);
      return shown.length > TAIL_LINE_MAX ? shown.slice(0, TAIL_LINE_MAX) + '…' : shown;
    });
    return { lines: picked, truncated: from > 0 || all.length > picked.length, error: null };
  } catch (e) {
    return fail(errText(e));
  } finally {
    closeSync(fd);
  }
}

/** Adds the stderr tails of failed (and unfinished) stages; a log shared by retries is shown once, on its last attempt. */
export function attachStderrTails(h: RunHistory, lines: number, read: (file: string) => StderrTail = (f) => readStderrTail(h.dir, f, lines)): RunHistory {
  const lastFailed = new Map<string, string>();
  for (const t of h.tasks) for (const s of t.stages) if ((s.outcome === 'failed' || s.outcome === 'unknown') && s.stderrLog) lastFailed.set(s.stderrLog, `${s.task}/${s.stage}/${s.attempt}`);
  if (lastFailed.size === 0 || lines <= 0) return h;
  const tails = new Map<string, StderrTail>();
  return {
    ...h,
    tasks: h.tasks.map((t) => ({
      ...t,
      stages: t.stages.map((s) => {
        if (!s.stderrLog || lastFailed.get(s.stderrLog) !== `${s.task}/${s.stage}/${s.attempt}`) return s;
        let tail = tails.get(s.stderrLog);
        if (!tail) tails.set(s.stderrLog, (tail = read(s.stderrLog)));
        return { ...s, stderrTail: tail };
      }),
    })),
  };
}

export interface ReadHistoryOptions {
  readonly nowMs?: number;
  /** Lines of stderr per failed stage (0: none). */
  readonly tailLines?: number;
  /** readRunHistories: only the newest N runs are read. */
  readonly limit?: number;
}

/** One run's history (with stderr tails when asked), or why its journal cannot be read. */
export function readRunHistory(state: string, runId: string, opts: ReadHistoryOptions = {}): RunHistoryEntry {
  const dir = runPaths(state, runId).dir;
  const j = readJournalRecords(dir);
  if ('error' in j) return { kind: 'unreadable', id: runId, dir, reason: j.error };
  // The same trust rules as stop, reap and ls (run-trust.ts): a folder or journal someone else
  // owns or can write is not believed, so its log paths are never followed either.
  const unsafe = inspectStateDir(state);
  if (unsafe) return { kind: 'unreadable', id: runId, dir, reason: unsafe };
  const t = inspectRunFolder(state, runId);
  if (!t.ok) return { kind: 'unreadable', id: runId, dir, reason: t.why };
  const entry = buildRunHistory(j.records, { id: runId, dir, live: readRunLiveness(j.records), nowMs: opts.nowMs ?? Date.now(), warnings: j.warnings });
  if (entry.kind === 'unreadable' || !opts.tailLines) return entry;
  return attachStderrTails(entry, opts.tailLines);
}

/** Every run under `<state>/runs`, newest first; each malformed one is an "unreadable" entry of its own. */
export function readRunHistories(state: string, opts: ReadHistoryOptions = {}): RunHistoryEntry[] {
  const nowMs = opts.nowMs ?? Date.now();
  const ids = listRunIds(state).reverse();
  return (opts.limit !== undefined ? ids.slice(0, opts.limit) : ids)
    .map((id) => {
      try {
        return readRunHistory(state, id, { ...opts, nowMs });
      } catch (e) {
        return { kind: 'unreadable', id, dir: runPaths(state, id).dir, reason: (e as Error).message } as const;
      }
    });
}
