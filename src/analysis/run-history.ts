/**
 * A run's history from its journal records: per task and stage, what happened and why (outcome,
 * exit code or signal, reason, duration, GPU, log paths). Pure: the records come in as parsed
 * JSON values of unknown shape, because a journal is untrusted text: a field of the wrong type
 * becomes unknown (null) instead of a crash, and a journal without a usable `run-start` makes
 * only its own run unreadable. Lives in analysis (not launch) so the TUI's details pane can use
 * it; src/launch/history.ts reads the files and adds the stderr tails.
 */

type RunState = 'running' | 'finished' | 'failed' | 'interrupted' | 'crashed';

/** A stage attempt: `unknown` = started, but no end record and the run is no longer live. */
type StageOutcome = 'succeeded' | 'failed' | 'cancelled' | 'skipped' | 'running' | 'unknown';

/** `not-run`: the run ended before the task started; `cancelled` also covers a run that ended between stages. */
type TaskOutcome = 'succeeded' | 'failed' | 'cancelled' | 'skipped' | 'running' | 'pending' | 'not-run' | 'unknown';

export interface StderrTail {
  /** The last lines (raw text: sanitise before display). */
  readonly lines: readonly string[];
  /** True when the file holds more than was read (only the end of a large log is read). */
  readonly truncated: boolean;
  /** Why no tail could be read ("not inside the run folder", "ENOENT"), else null. */
  readonly error: string | null;
}

export interface StageHistory {
  readonly task: number;
  readonly stage: string;
  readonly attempt: number;
  readonly gpu: string | null;
  readonly outcome: StageOutcome;
  /** exit | signal | timeout | stuck | spawn | interrupted | skipped, as recorded; null while running. */
  readonly reason: string | null;
  /** The launcher's sentence: "exit 3", "timeout 1s", "skipped: sample did not succeed". */
  readonly detail: string | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** A failed attempt that the launcher retried. */
  readonly retried: boolean;
  readonly pid: number | null;
  /** The Slurm job of the stage (backend slurm), else null. */
  readonly jobId: string | null;
  /** Its name as recorded (reaper-<run>-<task>-<stage>), else null. */
  readonly jobName: string | null;
  readonly startedAtMs: number | null;
  readonly endedAtMs: number | null;
  readonly durationMs: number | null;
  readonly stdoutLog: string | null;
  readonly stderrLog: string | null;
  /** The last warning about a stuck member ("stopped (T) for 12s: python3 …"), if any. */
  readonly stuck: string | null;
  /** Filled by the reader (src/launch/history.ts) for failed stages; null otherwise. */
  readonly stderrTail: StderrTail | null;
}

export interface TaskHistory {
  readonly task: number;
  readonly vars: Readonly<Record<string, string>>;
  readonly gpu: string | null;
  readonly outcome: TaskOutcome;
  /** Why, for a task that did not succeed: the detail of the stage that decided it. */
  readonly detail: string | null;
  readonly durationMs: number | null;
  readonly stages: readonly StageHistory[];
}

export interface TaskCounts {
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly skipped: number;
  readonly running: number;
  readonly pending: number;
  readonly notRun: number;
  readonly unknown: number;
}

export interface RunHistory {
  readonly kind: 'run';
  readonly id: string;
  readonly dir: string;
  readonly name: string;
  readonly file: string | null;
  /** The launcher's host name, when the journal records it; null otherwise. */
  readonly host: string | null;
  /** Where the stages ran (run-start's `backend`). */
  readonly backend: 'local' | 'slurm';
  readonly state: RunState;
  /** Who wrote the end record (launcher, guardian, stop); null without one. */
  readonly endedBy: string | null;
  readonly endDetail: string | null;
  readonly exitCode: number | null;
  readonly survivors: number | null;
  readonly launcherPid: number | null;
  readonly startedAtMs: number | null;
  readonly endedAtMs: number | null;
  /** End minus start; for a live run, now minus start; null when a time is unknown. */
  readonly durationMs: number | null;
  readonly stages: readonly string[];
  readonly tasks: readonly TaskHistory[];
  readonly counts: TaskCounts;
  /** Lines of the journal that were not records (bad JSON, not an object): "line 3: not JSON". */
  readonly warnings: readonly string[];
}

/** A run folder whose journal has no usable run-start (missing, torn, garbage). Only this run is hidden. */
interface UnreadableRun {
  readonly kind: 'unreadable';
  readonly id: string;
  readonly dir: string;
  readonly reason: string;
}

export type RunHistoryEntry = RunHistory | UnreadableRun;

export interface HistoryContext {
  readonly id: string;
  readonly dir: string;
  /** Whether the launcher or guardian is alive; null when unknown (a run without end record is then "running"). */
  readonly live: boolean | null;
  readonly nowMs: number;
  /** Problems the reader met while splitting the journal into records ("line 3: not JSON"). */
  readonly warnings?: readonly string[];
}

type Rec = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const int = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) ? v : null);
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

function varsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRec(v)) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
  return out;
}

interface StageAcc {
  task: number;
  stage: string;
  attempt: number;
  gpu: string | null;
  outcome: StageOutcome;
  reason: string | null;
  detail: string | null;
  exitCode: number | null;
  signal: string | null;
  retried: boolean;
  pid: number | null;
  jobId: string | null;
  jobName: string | null;
  startedAtMs: number | null;
  endedAtMs: number | null;
  durationMs: number | null;
  stdoutLog: string | null;
  stderrLog: string | null;
  stuck: string | null;
  order: number;
}

/**
 * Builds the history of one run from its records (parsed journal lines, oldest first). Records
 * that are not objects, have an unknown `ev`, or name a task the run-start does not list, are
 * ignored; the first `run-start` names the run, the last `run-end` ends it.
 */
export function buildRunHistory(records: readonly unknown[], ctx: HistoryContext): RunHistoryEntry {
  const recs = records.filter(isRec);
  const start = recs.find((r) => r.ev === 'run-start');
  if (!start) {
    const w = ctx.warnings ?? [];
    const why = records.length === 0 && w.length === 0 ? 'empty journal' : 'no run-start record';
    return { kind: 'unreadable', id: ctx.id, dir: ctx.dir, reason: w.length > 0 ? `${why} (${w[0]}${w.length > 1 ? ` and ${w.length - 1} more bad line${w.length > 2 ? 's' : ''}` : ''})` : why };
  }
  const taskList = Array.isArray(start.tasks) ? start.tasks.filter(isRec) : [];
  const stageNames = Array.isArray(start.stages) ? start.stages.filter((s): s is string => typeof s === 'string') : [];
  const taskVars = new Map<number, Record<string, string>>();
  for (const t of taskList) {
    const i = int(t.task);
    if (i !== null && !taskVars.has(i)) taskVars.set(i, varsOf(t.vars));
  }
  const end = [...recs].reverse().find((r) => r.ev === 'run-end') ?? null;
  const endState = end ? str(end.state) : null;
  const state: RunState =
    end !== null
      ? endState === 'finished' || endState === 'failed' || endState === 'interrupted' || endState === 'crashed'
        ? endState
        : 'crashed'
      : ctx.live === false
        ? 'crashed'
        : 'running';
  const active = state === 'running';

  const stages = new Map<string, StageAcc>();
  let order = 0;
  const keyOf = (task: number, stage: string, attempt: number): string => `${task}\u0000${stage}\u0000${attempt}`;
  const stageFor = (task: number, stage: string, attempt: number): StageAcc => {
    const k = keyOf(task, stage, attempt);
    let s = stages.get(k);
    if (!s) {
      s = { task, stage, attempt, gpu: null, outcome: active ? 'running' : 'unknown', reason: null, detail: null, exitCode: null, signal: null, retried: false, pid: null, jobId: null, jobName: null, startedAtMs: null, endedAtMs: null, durationMs: null, stdoutLog: null, stderrLog: null, stuck: null, order: order++ };
      stages.set(k, s);
    }
    return s;
  };
  // The newest attempt of (task, stage), for records that carry no attempt number.
  const latest = new Map<string, StageAcc>();

  for (const r of recs) {
    const task = int(r.task);
    const stage = str(r.stage);
    if (task === null || stage === null || !taskVars.has(task)) continue;
    const attempt = int(r.attempt) ?? 1;
    if (r.ev === 'task-start') {
      const s = stageFor(task, stage, attempt);
      s.gpu = str(r.gpu) ?? s.gpu;
      const job = isRec(r.job) ? str(r.job.id) : null;
      // A Slurm stage records pid 0 and its job: show the job, never "pid 0".
      s.jobId = job;
      s.jobName = job !== null && isRec(r.job) ? str(r.job.name) : null;
      s.pid = job !== null ? null : int(r.pid);
      s.startedAtMs = num(r.t);
      s.stdoutLog = str(r.stdout);
      s.stderrLog = str(r.stderr);
      latest.set(`${task}\u0000${stage}`, s);
    } else if (r.ev === 'task-end') {
      const s = stageFor(task, stage, attempt);
      const status = str(r.status);
      s.outcome = status === 'succeeded' || status === 'failed' || status === 'cancelled' ? status : 'unknown';
      s.gpu = str(r.gpu) ?? s.gpu;
      s.reason = str(r.reason);
      s.detail = str(r.detail);
      s.exitCode = int(r.code);
      s.signal = str(r.signal);
      s.retried = status === 'failed' && r.willRetry === true;
      s.endedAtMs = num(r.t);
      s.durationMs = num(r.durationMs) ?? (s.startedAtMs !== null && s.endedAtMs !== null ? s.endedAtMs - s.startedAtMs : null);
      latest.set(`${task}\u0000${stage}`, s);
    } else if (r.ev === 'task-skip') {
      const s = stageFor(task, stage, attempt);
      s.outcome = 'skipped';
      s.reason = 'skipped';
      s.detail = str(r.detail);
      s.endedAtMs = num(r.t);
    } else if (r.ev === 'task-stuck') {
      const s = latest.get(`${task}\u0000${stage}`);
      if (!s) continue;
      const forMs = num(r.forMs);
      s.stuck = `${str(r.state) ?? '?'}${forMs !== null ? ` for ${formatMs(forMs)}` : ''}${int(r.pid) !== null ? `: pid ${int(r.pid)}` : ''}${str(r.cmd) ? ` ${str(r.cmd)}` : ''}`;
    }
  }
  // A stage still "running" in a live run keeps counting; one that ended without record keeps its start only.
  for (const s of stages.values()) {
    if (s.outcome === 'running' && s.startedAtMs !== null) s.durationMs = Math.max(0, ctx.nowMs - s.startedAtMs);
    if (s.outcome === 'unknown' && s.detail === null) s.detail = end ? 'no end record for this stage' : 'no end record: launcher gone';
  }

  const tasks: TaskHistory[] = [...taskVars.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([task, vars]) => {
      const own = [...stages.values()].filter((s) => s.task === task).sort((a, b) => a.order - b.order);
      const decided = taskOutcome(own, stageNames, active);
      const gpu = [...own].reverse().find((s) => s.gpu !== null)?.gpu ?? null;
      const starts = own.map((s) => s.startedAtMs).filter((t): t is number => t !== null);
      const ends = own.map((s) => s.endedAtMs ?? (s.outcome === 'running' ? ctx.nowMs : null)).filter((t): t is number => t !== null);
      const durationMs = starts.length > 0 && ends.length > 0 ? Math.max(0, Math.max(...ends) - Math.min(...starts)) : null;
      return { task, vars, gpu, outcome: decided.outcome, detail: decided.detail, durationMs, stages: own.map(({ order: _o, ...s }) => ({ ...s, stderrTail: null })) };
    });

  const count = (o: TaskOutcome): number => tasks.filter((t) => t.outcome === o).length;
  const startedAtMs = num(start.t);
  const endedAtMs = end ? num(end.t) : null;
  const launcher = isRec(start.launcher) ? int(start.launcher.pid) : null;
  return {
    kind: 'run',
    id: ctx.id,
    dir: ctx.dir,
    name: str(start.name) ?? '',
    file: str(start.file),
    host: str(start.host) ?? str(start.hostname),
    backend: start.backend === 'slurm' ? 'slurm' : 'local',
    state,
    endedBy: end ? str(end.by) : null,
    endDetail: end ? str(end.detail) : null,
    exitCode: end ? int(end.exitCode) : null,
    survivors: end ? int(end.survivors) : null,
    launcherPid: launcher,
    startedAtMs,
    endedAtMs,
    durationMs: startedAtMs === null ? null : endedAtMs !== null ? Math.max(0, endedAtMs - startedAtMs) : active ? Math.max(0, ctx.nowMs - startedAtMs) : null,
    stages: stageNames,
    tasks,
    counts: {
      total: tasks.length,
      succeeded: count('succeeded'),
      failed: count('failed'),
      cancelled: count('cancelled'),
      skipped: count('skipped'),
      running: count('running'),
      pending: count('pending'),
      notRun: count('not-run'),
      unknown: count('unknown'),
    },
    warnings: ctx.warnings ?? [],
  };
}

function taskOutcome(own: readonly StageAcc[], stageNames: readonly string[], active: boolean): { outcome: TaskOutcome; detail: string | null } {
  const failed = own.find((s) => s.outcome === 'failed' && !s.retried);
  if (failed) return { outcome: 'failed', detail: `${failed.stage}: ${failed.detail ?? failed.reason ?? 'failed'}` };
  const cancelled = own.find((s) => s.outcome === 'cancelled');
  if (cancelled) return { outcome: 'cancelled', detail: `${cancelled.stage}: ${cancelled.detail ?? 'cancelled'}` };
  const open = own.find((s) => s.outcome === 'running' || s.outcome === 'unknown');
  if (open) return open.outcome === 'running' ? { outcome: 'running', detail: `${open.stage}${open.stuck ? `: stuck ${open.stuck}` : ''}` } : { outcome: 'unknown', detail: `${open.stage}: ${open.detail ?? 'no end record'}` };
  if (own.length === 0) return active ? { outcome: 'pending', detail: null } : { outcome: 'not-run', detail: 'the run ended before this task started' };
  const done = new Set(own.filter((s) => s.outcome === 'succeeded' || s.outcome === 'skipped').map((s) => s.stage));
  const missing = stageNames.filter((n) => !done.has(n));
  if (missing.length > 0) return active ? { outcome: 'running', detail: `waiting for ${missing[0]}` } : { outcome: 'cancelled', detail: `the run ended before ${missing.join(', ')}` };
  const skipped = own.find((s) => s.outcome === 'skipped');
  if (skipped) return { outcome: 'skipped', detail: `${skipped.stage}: ${skipped.detail ?? 'skipped'}` };
  return { outcome: 'succeeded', detail: null };
}

/** 850ms, 1.2s, 59s, 3m05s, 2h04m, 3d02h. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 10) return `${(Math.floor(s * 10) / 10).toFixed(1)}s`;
  if (s < 60) return `${Math.floor(s)}s`;
  const p = (n: number): string => String(n).padStart(2, '0');
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${p(Math.floor(s % 60))}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${p(m % 60)}m`;
  return `${Math.floor(h / 24)}d${p(h % 24)}h`;
}

/**
 * Splits journal text into records. A last line without its newline that is not JSON is a torn
 * write (a crash mid-append) and is dropped silently; any other line that is not a JSON object is
 * reported by its line number. Never throws.
 */
export function parseJournalText(text: string): { records: unknown[]; warnings: string[] } {
  const records: unknown[] = [];
  const warnings: string[] = [];
  const lines = text.split('\n');
  const tornLast = !text.endsWith('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const last = i === lines.length - 1;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      if (!(last && tornLast)) warnings.push(`line ${i + 1}: not JSON`);
      return;
    }
    if (!isRec(v) || typeof v.ev !== 'string') {
      warnings.push(`line ${i + 1}: not a journal record`);
      return;
    }
    records.push(v);
  });
  return { records, warnings };
}
