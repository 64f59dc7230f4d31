/** Runs launched by `reaper run`, as read back from their journals. */

import type { ProcKey } from './proc.js';

export type TaskStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

export interface TaskSummary {
  readonly task: number;
  readonly gpu: string;
  /** Current or last stage name. */
  readonly stage: string | null;
  readonly status: TaskStatus;
  /** Why it failed: "exit 3", "signal SIGKILL", "timeout 30s", "stuck: stopped (T) 12s". */
  readonly detail: string | null;
  readonly startedAtMs: number | null;
  readonly endedAtMs: number | null;
  /** Identities of the stage leader processes the launcher spawned. */
  readonly leaders: readonly ProcKey[];
}

/** A Slurm job a run's journal recorded (`task-start` with `job`, backend slurm). */
export interface RunJobRef {
  /** As sbatch printed it ("123"). */
  readonly id: string;
  /** The name reaper gave it: reaper-<run>-<task>-<stage>. */
  readonly name: string;
  readonly task: number;
  readonly stage: string;
  readonly attempt: number;
  /** No `task-end` for this stage attempt in the journal: the job may still pend or run. */
  readonly open: boolean;
}

/**
 * A recorded job as Slurm reports it now (src/launch/slurm-status.ts reads it; ls, runs, show
 * and the live screen render it). Slurm's text fields are untrusted: sanitise before display.
 */
export interface SlurmJobStatus extends RunJobRef {
  readonly runId: string;
  /** "PENDING", "RUNNING", "COMPLETED" …; null: Slurm no longer lists it (or was not asked). */
  readonly state: string | null;
  /** Pending, running or completing: the job still holds (or waits for) resources. */
  readonly active: boolean;
  /** Why it pends ("Dependency", "Resources", "BeginTime"); null for none. */
  readonly reason: string | null;
  /** Node list while it runs or ran ("vm", "gpu[01-02]"). */
  readonly nodes: string | null;
  readonly elapsedS: number | null;
  /** How it ended: an exit code or a signal number; null: not ended, or unknown ("exit ?"). */
  readonly exit: { readonly code: number | null; readonly signal: number | null } | null;
  /** Where the state came from: squeue (the controller still holds it), sacct, or nowhere. */
  readonly source: 'squeue' | 'sacct' | null;
  /** Processes of the job on this machine (by /proc/PID/cgroup or SLURM_JOB_ID), pid order. */
  readonly pids: readonly number[];
}

/** One read of Slurm for some runs' open jobs. */
export interface SlurmRunsStatus {
  /** By run id: every open recorded job of the run, with what Slurm says of it. */
  readonly byRun: ReadonlyMap<string, readonly SlurmJobStatus[]>;
  /** One classified line ("squeue: controller unreachable"), or null. */
  readonly error: string | null;
  readonly atMs: number;
}

export interface RunSummary {
  readonly id: string;
  readonly name: string;
  readonly dir: string;
  readonly startedAtMs: number;
  readonly endedAtMs: number | null;
  /** The launcher and guardian identities from the journal. */
  readonly launcher: ProcKey | null;
  readonly guardian: ProcKey | null;
  /** Derived against a snapshot: true while the launcher (or guardian) is alive. */
  readonly live: boolean;
  /** "running" | "finished" | "failed" | "interrupted" | "crashed" (launcher gone, no end record). */
  readonly state: 'running' | 'finished' | 'failed' | 'interrupted' | 'crashed';
  readonly tasks: readonly TaskSummary[];
  /** Who wrote the run's end record ("launcher", "guardian", "stop", "reap"); null or absent without one. */
  readonly endedBy?: string | null;
  /** The end record's detail ("launcher pid 12 died; the guardian tore the run down (4 processes)"). */
  readonly endDetail?: string | null;
  /** Where the stages ran (run-start's `backend`); absent: this machine. */
  readonly backend?: 'local' | 'slurm';
  /** Slurm jobs the journal recorded, in journal order; absent or empty on local. */
  readonly jobs?: readonly RunJobRef[];
}
