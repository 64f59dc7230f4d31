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
}
