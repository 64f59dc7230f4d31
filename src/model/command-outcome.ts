/** What a finished (or failed, or killed) outside command left behind: ssh, the Slurm clients. */
export interface CommandOutcome {
  readonly argv: readonly string[];
  /** null when a signal ended it or it never started. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  /** errno code of a failed spawn ("ENOENT": the program is not installed; "EACCES"). */
  readonly spawnError: string | null;
  /** Killed by reaper because its deadline passed (or, for an ssh stream, idleMs without a line). */
  readonly timedOut: boolean;
  /** Killed by reaper because its output passed the size cap. */
  readonly truncated: boolean;
}
