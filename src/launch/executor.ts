/**
 * The seam between the launcher and what runs a stage. The launcher owns the journal, the
 * scheduler, timeouts, the stuck rule, retries and signal handling, the same for every backend;
 * an executor owns the processes (or jobs): it starts a stage, observes the run, tears stages
 * down and says what the journal must record about them. Its calls may take time (a Slurm
 * client call has a deadline); the launcher awaits them, and nothing waits on a hung one.
 *
 * Lifecycle of a run: open → (start | observe | stop | afterExit → finish)* → stopAll? →
 * close → (run-end written) → release.
 *
 * - local (executors/local.ts): one process group per stage inside the containment layers,
 *   observed through cgroups and /proc scans, torn down by the signal ladder and cgroup.kill.
 * - slurm (executors/slurm.ts): `open` asks `scontrol ping` (8 ms, where the other clients retry
 *   a down controller for 9 s), writes the exec wrapper and starts the guardian (which scancels);
 *   `start` submits with `sbatch --parsable` (the wrapper execs the argv; logs into the run
 *   folder; REAPER_* exported) and returns at once with the job id (SlurmStartRecord) and
 *   `running`, which settles when the job leaves PENDING (the timeout counts from then); one
 *   `squeue` per interval for the whole run settles each stage's `exited` (`scontrol show job -o`
 *   gives the exit code: accounting may be off); `observe`'s `members` are the job's processes
 *   in /proc where it runs on this node (by /proc/PID/cgroup), null elsewhere; `stop`/`stopAll`
 *   are scancel of the run's own jobs (name and user checked in squeue), confirmed in squeue and
 *   /proc; `afterExit` has nothing to sweep (Slurm's proctrack holds the job); `close` finds any
 *   job of the run still queued or running (by id, or by name when a submission timed out) and
 *   cancels it.
 */
import type { SlurmOptions } from './config.js';

/** A process of a stage, as the stuck watch needs it. */
export interface Member {
  readonly pid: number;
  readonly startTime: number;
  readonly state: string;
  readonly cmd: string;
  readonly wchan: string | null;
}

/** What a sweep found: processes found, how many survived, whether cgroup.kill did it. */
export interface Sweep {
  readonly found: number;
  readonly survived: number;
  readonly cgroupKilled: boolean;
}

/** One stage to run: everything is expanded already (placeholders, environment, folder). */
export interface StageRequest {
  readonly task: number;
  readonly stage: string;
  readonly attempt: number;
  readonly argv: readonly string[];
  /** The whole environment of the stage (REAPER_RUN / REAPER_TASK / REAPER_STAGE included). */
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** The task's output folder ({out}), created by the executor where the stage runs. */
  readonly outDir: string;
  /** Where the stage's output goes (appended: a retry adds to it). */
  readonly logs: { readonly stdout: string; readonly stderr: string };
  /** Live copies of the output besides the logs (a driver run), or null. */
  readonly passthrough: { stdout(chunk: Buffer): void; stderr(chunk: Buffer): void } | null;
  /** The stage's timeout (the launcher enforces it; Slurm's --time is set just above it). */
  readonly timeoutMs?: number | null;
  /** How the stage is submitted on Slurm (the batch's and the stage's slurm: blocks). */
  readonly slurm?: SlurmOptions;
}

/** What the task-start record says about a stage that started: a local process, or a Slurm job. */
export type StartRecord = LocalStartRecord | SlurmStartRecord;

/** A Slurm job: no pid here (it runs wherever Slurm put it); the job id is what is recorded. */
export interface SlurmStartRecord {
  readonly jobId: string;
  /** The job name reaper gave it (reaper-<run>-<task>-<stage>): how its ownership is checked. */
  readonly jobName: string;
  /** The argv as really submitted (sbatch's, then the wrapper's). */
  readonly argv: readonly string[];
}

export function isSlurmRecord(r: StartRecord): r is SlurmStartRecord {
  return 'jobId' in r;
}

/** The local fields. */
interface LocalStartRecord {
  readonly pid: number;
  readonly startTime: number | null;
  readonly pgid: number;
  readonly cgroup: string | null;
  /** The argv as really run (inside the wrappers). */
  readonly argv: readonly string[];
}

/** How a stage's leader ended; `error`: it could not be started after all. */
export interface StageExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error: Error | null;
}

/** A stage the executor started. */
export interface ExecutorStage {
  /** For the task-start record; null when it never started (then `exited` says why). */
  readonly record: StartRecord | null;
  readonly exited: Promise<StageExit>;
  /**
   * Settles when the stage really runs (a Slurm job leaving PENDING): its timeout counts from
   * then, not from the submission. Absent: it runs from the start.
   */
  readonly running?: Promise<void>;
}

export type StartResult =
  | { readonly ok: true; readonly stage: ExecutorStage }
  /** It could not start: `detail` for its task-end; `abortRun`: the run cannot go on (its state disk failed). */
  | { readonly ok: false; readonly detail: string; readonly abortRun: string | null };

/** One look at the running stages (one scan, one squeue). */
interface Observation {
  /** The stage's processes with their states, or null when they cannot be seen. */
  members(stage: ExecutorStage): Member[] | null;
  /** Sweeps what of the run is left outside any running stage (escapees of finished stages), or null. */
  leftovers(busyTasks: ReadonlySet<number>): Promise<Sweep | null>;
}

/** What run-start records about the executor. */
interface RunRecord {
  readonly layers: Array<{ id: string; active: boolean; detail: string }>;
  readonly cgroup: string | null;
  readonly guardian: { pid: number; startTime: number } | null;
}

export interface Executor {
  /** Before any stage, before run-start is written; may throw (`step` names what it was doing). */
  open(step: (what: string) => void): Promise<RunRecord>;
  start(req: StageRequest): Promise<StartResult>;
  observe(watched: readonly ExecutorStage[]): Promise<Observation>;
  /** Tears one stage down (timeout, stuck): what was found and what survived. */
  stop(stage: ExecutorStage, mode: 'term' | 'kill', why?: string): Promise<Sweep>;
  /** Tears every running stage and anything else of the run down (signal, abort). */
  stopAll(stages: readonly ExecutorStage[], mode: 'term' | 'kill', why?: string): Promise<void>;
  /** The stage's leader exited on its own: sweeps what of it is left (each sweep to journal). */
  afterExit(stage: ExecutorStage): Promise<Sweep[]>;
  /** The stage is over: lets go of what it held; its last output is copied. */
  finish(stage: ExecutorStage): Promise<void>;
  /** The final sweep: nothing of the run may survive. */
  close(mode: 'term' | 'kill'): Promise<{ sweeps: Sweep[]; survived: number }>;
  /** After the run-end record (or when the start failed): lets go of what `open` took. */
  release(): void;
}
