/**
 * The scheduler: which stage of which task starts next, on which slot. Pure: it starts, waits
 * for and signals nothing; the launcher tells it what happened (a stage ended: succeeded,
 * failed by exit, signal, timeout or stuck, or cancelled) and starts what `next()` returns,
 * on whatever executor runs the batch.
 *
 * - One queue per slot (a GPU, or the driver's one queue), `concurrency` stages at once on each.
 *   A task stays on the slot of its first stage (its outputs and caches are there).
 * - `pipeline`: a task goes on to its next stage as soon as one ends; `stage-by-stage`: no task
 *   starts a stage of a later level while any unfinished task still has an earlier one to run.
 * - `after`: a stage whose `after` (or any stage before that) did not succeed is skipped; the
 *   task's other stages still run, and the task is failed.
 * - retries: a failed stage (not one that could not start) runs again up to its `retries`, on
 *   the same slot, unless the run is stopping.
 */
import type { BatchConfig, StageConfig } from './config.js';

export interface TaskResult {
  readonly task: number;
  readonly gpu: string | null;
  readonly status: 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'pending';
  /** Stage that failed or was last run. */
  readonly stage: string | null;
  /** "exit 3", "signal SIGKILL", "timeout 30s", "stuck: pid 12 python3 stopped (T) 10s". */
  readonly detail: string | null;
}

/** A stage the scheduler wants started now; its slot is taken until `ended` is told. */
export interface StageStart {
  readonly task: number;
  readonly vars: Readonly<Record<string, string>>;
  readonly stage: StageConfig;
  readonly slot: number;
  readonly attempt: number;
}

/**
 * How a started stage ended. `reason` is the journal's: 'exit', 'signal', 'timeout', 'stuck',
 * 'spawn' (it never started: not retried), 'interrupted' (with status 'cancelled').
 */
export interface StageEnd {
  readonly status: 'succeeded' | 'failed' | 'cancelled';
  readonly reason: string;
  readonly detail: string | null;
}

export interface EndDecision {
  /** The same stage is queued again (next attempt). */
  readonly willRetry: boolean;
  /** Later stages of the task that will never run, in order, with why. */
  readonly skipped: ReadonlyArray<{ readonly stage: string; readonly detail: string }>;
  /** The task's final status when it has nothing left to run, else null. */
  readonly finished: 'succeeded' | 'failed' | null;
}

type Status = TaskResult['status'] | 'running';

interface TaskState {
  readonly index: number;
  readonly vars: Readonly<Record<string, string>>;
  slot: number | null;
  /** Index into stages of the next stage to run. */
  next: number;
  attempt: number;
  running: boolean;
  failedStages: Set<string>;
  status: Status;
  stage: string | null;
  detail: string | null;
}

const isFinal = (s: Status): boolean => s === 'succeeded' || s === 'failed' || s === 'cancelled';

export class Scheduler {
  private readonly tasks: TaskState[];
  private readonly used: Map<number, number>;
  private stopped = false;

  constructor(
    private readonly config: Pick<BatchConfig, 'tasks' | 'stages' | 'concurrency' | 'order'>,
    private readonly slots: readonly number[],
  ) {
    this.tasks = config.tasks.map((t) => ({ index: t.index, vars: t.vars, slot: null, next: 0, attempt: 1, running: false, failedStages: new Set(), status: 'pending', stage: null, detail: null }));
    this.used = new Map(slots.map((s) => [s, 0]));
  }

  /** The run is stopping (interrupted, or aborted): nothing more starts and nothing is retried. */
  stop(): void {
    this.stopped = true;
  }

  /** The stages to start now, in order; each one's slot is taken and its task marked running. */
  next(): StageStart[] {
    const out: StageStart[] = [];
    if (this.stopped) return out;
    for (const slot of this.slots) {
      while ((this.used.get(slot) ?? 0) < this.config.concurrency) {
        const t = this.pick(slot);
        if (!t) break;
        t.slot ??= slot;
        t.running = true;
        t.status = 'running';
        this.used.set(slot, (this.used.get(slot) ?? 0) + 1);
        out.push({ task: t.index, vars: t.vars, stage: this.config.stages[t.next]!, slot, attempt: t.attempt });
      }
    }
    return out;
  }

  /** A started stage ended: frees its slot and decides what the task does next. */
  ended(start: StageStart, end: StageEnd): EndDecision {
    const t = this.task(start.task);
    this.used.set(start.slot, (this.used.get(start.slot) ?? 1) - 1);
    const willRetry = end.status === 'failed' && end.reason !== 'spawn' && start.attempt <= start.stage.retries && !this.stopped;
    t.running = false;
    t.stage = start.stage.name;
    if (end.status === 'cancelled') {
      t.detail = end.detail;
      t.status = 'cancelled';
      return { willRetry: false, skipped: [], finished: null };
    }
    if (willRetry) {
      t.attempt = start.attempt + 1;
      return { willRetry, skipped: [], finished: null };
    }
    t.attempt = 1;
    if (end.status === 'failed') {
      t.failedStages.add(start.stage.name);
      t.detail = end.detail;
    }
    t.next++;
    const skipped = this.skipBlocked(t);
    if (t.next < this.config.stages.length || isFinal(t.status)) return { willRetry, skipped, finished: null };
    t.status = t.failedStages.size > 0 ? 'failed' : 'succeeded';
    return { willRetry, skipped, finished: t.status };
  }

  /**
   * Every task's result. `stopWhy` (the run stopped early): tasks that did not finish are
   * cancelled, those that never ran say "not run: <why>".
   */
  results(stopWhy: string | null): TaskResult[] {
    for (const t of this.tasks) {
      if (stopWhy !== null && (t.status === 'pending' || t.status === 'running')) {
        t.status = 'cancelled';
        t.detail ??= `not run: ${stopWhy}`;
      }
    }
    return this.tasks.map((t) => ({ task: t.index, gpu: t.slot === null ? null : String(t.slot), status: t.status === 'running' ? 'cancelled' : t.status, stage: t.stage, detail: t.detail }));
  }

  private task(index: number): TaskState {
    const t = this.tasks.find((x) => x.index === index);
    if (!t) throw new Error(`scheduler: no task ${index}`);
    return t;
  }

  /** Moves t.next past stages that come after one that did not succeed. */
  private skipBlocked(t: TaskState): Array<{ stage: string; detail: string }> {
    const skipped: Array<{ stage: string; detail: string }> = [];
    while (t.next < this.config.stages.length) {
      const s = this.config.stages[t.next]!;
      if (!this.dependsOnFailed(t, s)) break;
      t.failedStages.add(s.name);
      skipped.push({ stage: s.name, detail: `skipped: ${s.after} did not succeed` });
      t.next++;
    }
    return skipped;
  }

  private dependsOnFailed(t: TaskState, s: StageConfig): boolean {
    let cur: StageConfig | undefined = s;
    while (cur && cur.after !== null) {
      if (t.failedStages.has(cur.after)) return true;
      const after: string = cur.after;
      cur = this.config.stages.find((x) => x.name === after);
    }
    return false;
  }

  /** Lowest stage level any unfinished task still has to run (stage-by-stage order). */
  private minPendingLevel(): number {
    let min = Infinity;
    for (const t of this.tasks) {
      if (isFinal(t.status)) continue;
      const s = this.config.stages[t.next];
      if (s) min = Math.min(min, s.level);
    }
    return min;
  }

  /** The next task for `slot`: one already on it first, else one not yet placed. */
  private pick(slot: number): TaskState | null {
    const level = this.config.order === 'stage-by-stage' ? this.minPendingLevel() : null;
    const ready = (t: TaskState): boolean => !t.running && !isFinal(t.status) && t.next < this.config.stages.length && (level === null || this.config.stages[t.next]!.level === level);
    return this.tasks.find((t) => t.slot === slot && ready(t)) ?? this.tasks.find((t) => t.slot === null && ready(t)) ?? null;
  }
}
