/**
 * The run journal: one JSON object per line, appended and fsynced per event, so a launcher
 * killed at any instant leaves a readable record (a torn last line is ignored). Written by the
 * launcher and, when the launcher died, by the guardian (O_APPEND: whole lines, no interleaving).
 */
import { closeSync, existsSync, fsync, fsyncSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ReaperError } from '../model/errors.js';
import type { ProcKey } from '../model/proc.js';
import type { RunSummary, TaskStatus, TaskSummary } from '../model/run.js';
import type { Snapshot } from '../model/snapshot.js';
import { RUN_ID_RE, runPaths, runsDir } from './paths.js';

export interface LayerState {
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
      by: 'launcher' | 'guardian' | 'stop';
      detail: string | null;
      exitCode: number | null;
      survivors: number;
    };

export class JournalWriter {
  private fd: number | null;
  private syncing = false;
  private dirty = false;
  private closeWhenSynced = false;
  constructor(readonly file: string) {
    this.fd = openSync(file, 'a', 0o644);
  }
  /**
   * The line reaches the file at once (a synchronous O_APPEND write: a launcher killed right
   * after still leaves it readable); the fsync for it runs off the event loop, coalesced, so a
   * burst of events does not stall the launcher. close() syncs what is left.
   */
  append(e: JournalEvent): void {
    if (this.fd === null) return;
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

/** Every complete event of a journal; a torn or garbled line (a crash mid-write) is skipped. */
export function readJournal(file: string): JournalEvent[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ReaperError('RUN_JOURNAL_CORRUPT', `cannot read ${file}: ${(e as Error).message}`);
  }
  const out: JournalEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v = JSON.parse(line) as JournalEvent;
      if (v && typeof v === 'object' && typeof v.ev === 'string') out.push(v);
    } catch {
      /* torn line */
    }
  }
  return out;
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
  const end = [...events].reverse().find((e) => e.ev === 'run-end');
  const tasks = new Map<number, { gpu: string; stage: string | null; status: TaskStatus; detail: string | null; startedAtMs: number | null; endedAtMs: number | null; leaders: ProcKey[] }>();
  for (const t of start.tasks) tasks.set(t.task, { gpu: '', stage: null, status: 'pending', detail: null, startedAtMs: null, endedAtMs: null, leaders: [] });
  const lastStage = start.stages[start.stages.length - 1] ?? null;
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
  } else {
    for (const t of tasks.values()) if (t.status === 'running' || t.status === 'pending') t.status = 'cancelled';
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
  };
}

function listRunIds(state: string): string[] {
  const dir = runsDir(state);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => RUN_ID_RE.test(n))
    .sort();
}

/**
 * Every run under `<state>/runs`, oldest first. `live` is true while the launcher or the guardian
 * identity from the journal is in the snapshot with the same start time. A snapshot of null means
 * "unknown" (state "running" for runs without an end record).
 */
export function readRuns(state: string, snapshot: Snapshot | null): RunSummary[] {
  const out: RunSummary[] = [];
  for (const id of listRunIds(state)) {
    const p = runPaths(state, id);
    let events: JournalEvent[];
    try {
      events = readJournal(p.journal);
    } catch {
      continue;
    }
    const s = summarizeRun(p.dir, events, snapshot);
    if (s) out.push(s);
  }
  return out;
}

/** A run id, or "last" for the newest run. Throws RUN_NOT_FOUND. */
export function resolveRunId(state: string, idOrLast: string): string {
  const ids = listRunIds(state);
  if (idOrLast === 'last') {
    const last = ids[ids.length - 1];
    if (!last) throw new ReaperError('RUN_NOT_FOUND', `no runs recorded under ${runsDir(state)}`);
    return last;
  }
  if (ids.includes(idOrLast)) return idOrLast;
  const prefixed = ids.filter((i) => i.startsWith(idOrLast) || i.endsWith(idOrLast));
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1) throw new ReaperError('USAGE', `run id "${idOrLast}" is ambiguous (${prefixed.slice(0, 4).join(', ')}…)`);
  throw new ReaperError('RUN_NOT_FOUND', `no run "${idOrLast}" under ${runsDir(state)}`);
}

export function journalPathFor(state: string, runId: string): string {
  return path.join(runPaths(state, runId).dir, 'journal.jsonl');
}
