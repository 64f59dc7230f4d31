/**
 * The run journal: one JSON object per line, appended and fsynced per event, so a launcher
 * killed at any instant leaves a readable record (a torn last line is ignored). Written by the
 * launcher and, when the launcher died, by the guardian, `reaper stop` or `reaper reap --run`
 * (O_APPEND: whole lines, no interleaving). Readers treat it as a hint, never as an authority:
 * see run-trust.ts for when a journal is believed and run-evidence.ts for what it may aim at.
 */
import { closeSync, constants, existsSync, fstatSync, fsync, fsyncSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ReaperError } from '../model/errors.js';
import { sanitizeText } from '../model/sanitize.js';
import type { ProcKey } from '../model/proc.js';
import type { RunJobRef, RunSummary, TaskStatus, TaskSummary } from '../model/run.js';
import type { Snapshot } from '../model/snapshot.js';
import { readProcIdentity } from '../probe/proc-stat.js';
import { RUN_ID_RE, runsDir } from './paths.js';
import { inspectRunFolder, inspectStateDir, readTrustedText, trustRun, type TrustedRun } from './run-trust.js';

interface LayerState {
  readonly id: string;
  readonly active: boolean;
  readonly detail: string;
}

export type JournalEvent =
  | {
      ev: 'run-start';
      t: number;
      run: string;
      name: string;
      file: string;
      launcher: ProcKey;
      guardian: ProcKey | null;
      layers: LayerState[];
      gpus: string[];
      tasks: Array<{ task: number; vars: Record<string, string> }>;
      stages: string[];
      graceMs: number;
      cgroup: string | null;
      detached: boolean;
      /** The launcher's host name (`reaper runs`); absent in journals written before it was recorded. */
      host?: string;
      /** Where the stages ran; absent: this machine (local, and journals written before backends). */
      backend?: 'slurm';
    }
  | {
      ev: 'task-start';
      t: number;
      task: number;
      stage: string;
      attempt: number;
      gpu: string;
      pid: number;
      startTime: number | null;
      pgid: number;
      cgroup: string | null;
      argv: string[];
      stdout: string;
      stderr: string;
      /** backend slurm: the stage's job (pid, pgid 0 and startTime null then). */
      job?: { id: string; name: string };
    }
  | { ev: 'task-stuck'; t: number; task: number; stage: string; pid: number; state: string; forMs: number; cmd: string; action: 'fail' | 'warn' }
  | {
      ev: 'task-end';
      t: number;
      task: number;
      stage: string;
      attempt: number;
      gpu: string;
      status: 'succeeded' | 'failed' | 'cancelled';
      /** exit | signal | timeout | stuck | spawn | interrupted */
      reason: string;
      detail: string | null;
      code: number | null;
      signal: string | null;
      durationMs: number;
      willRetry: boolean;
    }
  | { ev: 'task-skip'; t: number; task: number; stage: string; detail: string }
  | { ev: 'sweep'; t: number; scope: string; found: number; survived: number; cgroupKilled: boolean }
  | { ev: 'signal'; t: number; signal: string; action: string }
  | {
      ev: 'run-end';
      t: number;
      state: 'finished' | 'failed' | 'interrupted' | 'crashed';
      /** Who ended the run; `reap`: `reaper reap --run` after launcher and guardian were gone. */
      by: 'launcher' | 'guardian' | 'stop' | 'reap';
      detail: string | null;
      exitCode: number | null;
      survivors: number;
    };

/** Whether a journal write failed because the run id is taken (exclusive creation). */
function inUse(file: string): ReaperError {
  return new ReaperError('USAGE', `run id ${path.basename(path.dirname(file))} is already in use (${file} exists); choose another --run-id`);
}

export class JournalWriter {
  private fd: number | null;
  private syncing = false;
  private dirty = false;
  private closeWhenSynced = false;
  /**
   * Creates the journal of a new run: exclusively (a second run with the same id fails here,
   * before it starts anything), never through a symbolic link, 0600. `opts.fd` wraps a descriptor
   * already opened on an existing journal (openTrustedAppend) for the guardian, stop and reap.
   */
  constructor(
    readonly file: string,
    opts: { fd?: number } = {},
  ) {
    if (opts.fd !== undefined) {
      this.fd = opts.fd;
      return;
    }
    try {
      this.fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw inUse(file);
      throw e;
    }
  }
  /**
   * The line reaches the file at once (a synchronous O_APPEND write: a launcher killed right
   * after still leaves it readable); the fsync for it runs off the event loop, coalesced, so a
   * burst of events does not stall the launcher. close() syncs what is left. A run has one end
   * record: a `run-end` is written only by whoever claims the end first (claimRunEnd).
   */
  append(e: JournalEvent): void {
    if (this.fd === null) return;
    if (e.ev === 'run-end' && !claimRunEnd(this.file)) return;
    writeSync(this.fd, JSON.stringify(e) + '\n');
    this.dirty = true;
    this.flush();
  }
  private flush(): void {
    if (this.syncing || !this.dirty || this.fd === null) return;
    this.syncing = true;
    this.dirty = false;
    const fd = this.fd;
    fsync(fd, () => {
      this.syncing = false;
      if (this.closeWhenSynced) {
        this.closeWhenSynced = false;
        try {
          closeSync(fd);
        } catch {
          /* closed */
        }
        return;
      }
      this.flush();
    });
  }
  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      fsyncSync(fd);
    } catch {
      /* fsync unsupported on this file system: the writes stand */
    }
    // An fsync still in flight owns the descriptor until it returns.
    if (this.syncing) this.closeWhenSynced = true;
    else closeSync(fd);
  }
}

/** `<run>/run-end.claim`: created exclusively by whoever writes the run's end record. */
function runEndClaimPath(journal: string): string {
  return path.join(path.dirname(journal), 'run-end.claim');
}

/**
 * One end record per run, whoever ends it (launcher, guardian, stop, reap): the first writer
 * creates the claim file exclusively. A later writer backs off, unless the journal still has no
 * end record and the claimant (pid + start time in the claim) is dead before it wrote one.
 */
export function claimRunEnd(journal: string): boolean {
  const claim = runEndClaimPath(journal);
  const self = readProcIdentity(process.pid);
  const text = `${process.pid} ${self?.startTime ?? 0}\n`;
  try {
    const fd = openSync(claim, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return !journalHasEnd(journal);
  }
  if (journalHasEnd(journal)) return false;
  try {
    const [pid, st] = readFileSync(claim, 'utf8').trim().split(/\s+/).map(Number);
    if (pid === process.pid) return true;
    const id = pid !== undefined && Number.isInteger(pid) && pid > 0 ? readProcIdentity(pid) : null;
    if (id && id.startTime === st && id.state !== 'Z') return false;
  } catch {
    /* unreadable claim: the journal decides */
  }
  return true;
}

function journalHasEnd(journal: string): boolean {
  try {
    return readJournal(journal).some((e) => e.ev === 'run-end');
  } catch {
    return false;
  }
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isStrOrNull = (v: unknown): boolean => v === null || typeof v === 'string';
const isKey = (v: unknown): boolean => typeof v === 'object' && v !== null && isInt((v as ProcKey).pid) && isNum((v as ProcKey).startTime);

/**
 * Whether a parsed line has the fields its kind promises (a planted or garbled journal must not
 * crash the readers of every other run). Unknown kinds pass: newer writers may add some.
 */
function isWellFormedEvent(v: unknown): v is JournalEvent {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const e = v as Record<string, unknown>;
  if (!isStr(e.ev) || !isNum(e.t)) return false;
  switch (e.ev) {
    case 'run-start':
      return (
        isStr(e.run) &&
        isStr(e.name) &&
        isKey(e.launcher) &&
        (e.guardian === null || isKey(e.guardian)) &&
        Array.isArray(e.tasks) &&
        e.tasks.every((t: unknown) => typeof t === 'object' && t !== null && isInt((t as { task: unknown }).task) && typeof (t as { vars: unknown }).vars === 'object' && (t as { vars: unknown }).vars !== null) &&
        Array.isArray(e.stages) &&
        e.stages.every(isStr) &&
        Array.isArray(e.gpus) &&
        isNum(e.graceMs) &&
        isStrOrNull(e.cgroup) &&
        (e.layers === undefined || Array.isArray(e.layers))
      );
    case 'task-start':
      return isInt(e.task) && isStr(e.stage) && isInt(e.attempt) && isStr(e.gpu) && isInt(e.pid) && (e.startTime === null || isNum(e.startTime)) && isInt(e.pgid) && isStrOrNull(e.cgroup);
    case 'task-end':
      return isInt(e.task) && isStr(e.stage) && isInt(e.attempt) && (e.status === 'succeeded' || e.status === 'failed' || e.status === 'cancelled') && isStrOrNull(e.detail) && typeof e.willRetry === 'boolean';
    case 'task-skip':
      return isInt(e.task) && isStr(e.stage) && isStrOrNull(e.detail);
    case 'task-stuck':
      return isInt(e.task) && isStr(e.stage) && isInt(e.pid) && isStr(e.state) && isNum(e.forMs);
    case 'run-end':
      return isStr(e.state) && ['finished', 'failed', 'interrupted', 'crashed'].includes(e.state) && isStr(e.by) && isStrOrNull(e.detail) && (e.survivors === undefined || isNum(e.survivors));
    default:
      return true;
  }
}

/** Every complete, well-formed event of a journal text; torn, garbled or malformed lines are skipped. */
export function parseJournal(text: string): JournalEvent[] {
  const out: JournalEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v: unknown = JSON.parse(line);
      if (isWellFormedEvent(v)) out.push(v);
    } catch {
      /* torn line */
    }
  }
  return out;
}

/** Every complete event of a journal; a torn or garbled line (a crash mid-write) is skipped. Never follows a symbolic link. */
export function readJournal(file: string): JournalEvent[] {
  let text: string;
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new ReaperError('RUN_JOURNAL_CORRUPT', code === 'ELOOP' ? `${file} is a symbolic link: not read` : `cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new ReaperError('RUN_JOURNAL_CORRUPT', `${file} is not a regular file`);
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  return parseJournal(text);
}

/** A trusted run's journal (see run-trust.ts): throws USAGE with the reason when it is not to be believed. */
export function readRunJournal(state: string, runId: string): { run: TrustedRun; events: JournalEvent[] } {
  const run = trustRun(state, runId);
  const events = parseJournal(readTrustedText(run));
  const start = events.find((e) => e.ev === 'run-start');
  if (start && start.ev === 'run-start' && start.run !== runId) throw new ReaperError('USAGE', `run ${runId}: its journal names run "${start.run.slice(0, 40)}": refusing it`);
  return { run, events };
}

function alive(snapshot: Snapshot | null, key: ProcKey | null): boolean {
  if (!key || !snapshot) return false;
  const p = snapshot.byPid.get(key.pid);
  return !!p && p.startTime === key.startTime && p.state !== 'Z' && p.state !== 'X';
}

/** Builds one run's summary from its events. */
export function summarizeRun(dir: string, events: readonly JournalEvent[], snapshot: Snapshot | null): RunSummary | null {
  const start = events.find((e) => e.ev === 'run-start');
  if (!start || start.ev !== 'run-start') return null;
  // One end record per run; should a second ever appear, the first one is what happened.
  const end = events.find((e) => e.ev === 'run-end');
  const tasks = new Map<number, { gpu: string; stage: string | null; status: TaskStatus; detail: string | null; startedAtMs: number | null; endedAtMs: number | null; leaders: ProcKey[] }>();
  for (const t of start.tasks) tasks.set(t.task, { gpu: '', stage: null, status: 'pending', detail: null, startedAtMs: null, endedAtMs: null, leaders: [] });
  const lastStage = start.stages[start.stages.length - 1] ?? null;
  // Slurm jobs by stage attempt; a task-end closes its attempt's job.
  const jobs = new Map<string, { -readonly [K in keyof RunJobRef]: RunJobRef[K] }>();
  const attemptKey = (task: number, stage: string, attempt: number): string => `${task}\u0000${stage}\u0000${attempt}`;
  for (const e of events) {
    if (e.ev === 'task-start' && tasks.has(e.task) && isJobRef(e.job)) {
      jobs.set(attemptKey(e.task, e.stage, e.attempt), { id: e.job.id, name: e.job.name, task: e.task, stage: e.stage, attempt: e.attempt, open: true });
    } else if (e.ev === 'task-end') {
      const j = jobs.get(attemptKey(e.task, e.stage, e.attempt));
      if (j) j.open = false;
    }
  }
  for (const e of events) {
    if (e.ev === 'task-start') {
      const t = tasks.get(e.task);
      if (!t) continue;
      t.gpu = e.gpu;
      t.stage = e.stage;
      t.status = 'running';
      t.detail = null;
      t.startedAtMs ??= e.t;
      if (e.startTime !== null) t.leaders.push({ pid: e.pid, startTime: e.startTime });
    } else if (e.ev === 'task-end') {
      const t = tasks.get(e.task);
      if (!t) continue;
      t.stage = e.stage;
      if (e.status === 'failed') {
        t.status = e.willRetry ? 'running' : 'failed';
        t.detail = e.detail;
        if (!e.willRetry) t.endedAtMs = e.t;
      } else if (e.status === 'cancelled') {
        t.status = 'cancelled';
        t.detail = e.detail;
        t.endedAtMs = e.t;
      } else if (e.stage === lastStage) {
        t.status = 'succeeded';
        t.endedAtMs = e.t;
      } else {
        t.status = 'running';
      }
    } else if (e.ev === 'task-skip') {
      const t = tasks.get(e.task);
      if (t && t.status !== 'failed' && t.status !== 'cancelled') {
        t.status = 'skipped';
        t.detail = e.detail;
      }
    } else if (e.ev === 'task-stuck') {
      const t = tasks.get(e.task);
      if (t && t.status === 'running') t.detail = `stuck: ${e.state} ${Math.round(e.forMs / 1000)}s`;
    }
  }
  const live = alive(snapshot, start.launcher) || alive(snapshot, start.guardian);
  let state: RunSummary['state'];
  if (end && end.ev === 'run-end') state = end.state;
  else if (live || snapshot === null) state = 'running';
  else state = 'crashed';
  if (!end) {
    // A run without an end record: its running tasks are whatever they were when it stopped writing.
    if (state === 'crashed') for (const t of tasks.values()) if (t.status === 'running') t.detail ??= 'launcher gone';
  } else if (end.ev === 'run-end') {
    const how = end.by === 'guardian' ? 'cleaned up by the guardian (launcher gone)' : end.by === 'reap' ? 'killed by reaper reap' : end.by === 'stop' ? 'stopped by reaper stop' : 'run ended';
    for (const t of tasks.values()) {
      if (t.status === 'running') {
        t.status = 'cancelled';
        t.detail ??= how;
        t.endedAtMs ??= end.t;
      } else if (t.status === 'pending') {
        t.status = 'cancelled';
        t.detail ??= `not started: ${how}`;
      }
    }
  }
  const taskList: TaskSummary[] = [...tasks.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([task, t]) => ({ task, gpu: t.gpu, stage: t.stage, status: t.status, detail: t.detail, startedAtMs: t.startedAtMs, endedAtMs: t.endedAtMs, leaders: t.leaders }));
  return {
    id: start.run,
    name: start.name,
    dir,
    startedAtMs: start.t,
    endedAtMs: end ? end.t : null,
    launcher: start.launcher,
    guardian: start.guardian,
    live: end ? false : live,
    state,
    tasks: taskList,
    endedBy: end && end.ev === 'run-end' ? end.by : null,
    endDetail: end && end.ev === 'run-end' ? end.detail : null,
    backend: start.backend === 'slurm' ? 'slurm' : 'local',
    jobs: [...jobs.values()],
  };
}

/** A `job` field as the Slurm executor writes it: a numeric id (array/het forms too) and a name. */
function isJobRef(v: unknown): v is { id: string; name: string } {
  if (typeof v !== 'object' || v === null) return false;
  const { id, name } = v as { id?: unknown; name?: unknown };
  return typeof id === 'string' && /^\d+(?:_\d+)?(?:\+\d+)?$/.test(id) && typeof name === 'string' && name.length > 0 && name.length <= 512;
}

/** Run ids under `<state>/runs`, oldest first (ids sort by their UTC start time). */
export function listRunIds(state: string): string[] {
  const dir = runsDir(state);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => RUN_ID_RE.test(n))
    .sort();
}

/** A run folder that readRuns left out, and why ("journal … is a symbolic link"). */
export interface SkippedRun {
  /** The folder name; "*" when the whole state folder was refused. */
  readonly id: string;
  readonly why: string;
}

/**
 * Every run under `<state>/runs` that can be believed, oldest first, and the folders left out
 * with the reason: a malformed, foreign-owned, writable-by-others or symlinked journal hides
 * only its own run. `live` is true while the launcher or the guardian identity from the
 * journal is in the snapshot with the same start time. A snapshot of null means "unknown"
 * (state "running" for runs without an end record).
 */
export function readRunsReport(state: string, snapshot: Snapshot | null): { runs: RunSummary[]; skipped: SkippedRun[] } {
  const runs: RunSummary[] = [];
  const skipped: SkippedRun[] = [];
  const stateWhy = inspectStateDir(state);
  if (stateWhy) return { runs, skipped: [{ id: '*', why: stateWhy }] };
  let ids: string[];
  try {
    ids = listRunIds(state);
  } catch (e) {
    return { runs, skipped: [{ id: '*', why: `cannot list ${runsDir(state)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }] };
  }
  for (const id of ids) {
    const trust = inspectRunFolder(state, id);
    if (!trust.ok) {
      skipped.push({ id, why: trust.why });
      continue;
    }
    try {
      const events = parseJournal(readTrustedText(trust.run));
      const start = events.find((e) => e.ev === 'run-start');
      if (!start || start.ev !== 'run-start') {
        skipped.push({ id, why: 'no well-formed run-start record in its journal' });
        continue;
      }
      if (start.run !== id) {
        skipped.push({ id, why: `its journal names another run ("${start.run.slice(0, 40)}")` });
        continue;
      }
      const s = summarizeRun(trust.run.dir, events, snapshot);
      if (s) runs.push(s);
    } catch (e) {
      skipped.push({ id, why: `unreadable journal: ${(e as Error).message.split('\n')[0]}` });
    }
  }
  return { runs, skipped };
}

/** readRunsReport's runs; `onSkip` hears about each folder left out. */
export function readRuns(state: string, snapshot: Snapshot | null, opts: { onSkip?: (skipped: SkippedRun) => void } = {}): RunSummary[] {
  const r = readRunsReport(state, snapshot);
  if (opts.onSkip) for (const s of r.skipped) opts.onSkip(s);
  return r.runs;
}

/** Shortest prefix `resolveRunId` accepts: a run id's date and most of a day ("20261128"). */
const RUN_ID_MIN_PREFIX = 8;

/**
 * A run id, "last" for the newest run, or a unique prefix of at least 8 characters. A shorter
 * prefix, a suffix or a substring is refused: `stop c` must never pick a run by one letter.
 * Throws RUN_NOT_FOUND, or USAGE for a too short or ambiguous prefix (listing the candidates).
 */
export function resolveRunId(state: string, idOrLast: string): string {
  const ids = listRunIds(state);
  if (idOrLast === 'last') {
    const last = ids[ids.length - 1];
    if (!last) throw new ReaperError('RUN_NOT_FOUND', `no runs recorded under ${runsDir(state)}`);
    return last;
  }
  if (ids.includes(idOrLast)) return idOrLast;
  if (!/^[0-9a-f-]+$/.test(idOrLast)) throw new ReaperError('USAGE', `not a run id: "${sanitizeText(idOrLast.slice(0, 40))}" (give the whole id, a prefix of ${RUN_ID_MIN_PREFIX}+ characters, or "last")`);
  if (idOrLast.length < RUN_ID_MIN_PREFIX) throw new ReaperError('USAGE', `run id prefix "${idOrLast}" is too short: give at least ${RUN_ID_MIN_PREFIX} characters, the whole id, or "last"`);
  const prefixed = ids.filter((i) => i.startsWith(idOrLast));
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1) throw new ReaperError('USAGE', `run id prefix "${idOrLast}" matches ${prefixed.length} runs: ${prefixed.slice(0, 8).join(', ')}${prefixed.length > 8 ? ', …' : ''}`);
  throw new ReaperError('RUN_NOT_FOUND', `no run "${idOrLast}" under ${runsDir(state)}`);
}

