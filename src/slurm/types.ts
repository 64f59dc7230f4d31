/**
 * What reaper knows about Slurm jobs and Slurm client failures. Plain data: the parsers in this
 * folder produce it from squeue / sacct / scontrol text and squeue --json, whatever the version.
 */
import type { CommandOutcome } from '../model/command-outcome.js';

/** One finished process as Slurm reports it. Unknown stays null, never 0. */
export interface SlurmExit {
  /** exit(2) status when the process exited; null when a signal ended it or Slurm did not say. */
  readonly code: number | null;
  /** Signal number that ended it; null when it exited. */
  readonly signal: number | null;
  readonly coreDumped?: boolean;
}

/** Where a job stands, reduced to what a launcher acts on. */
export type SlurmStateClass = 'pending' | 'running' | 'ending' | 'done' | 'unknown';

export interface SlurmJob {
  /** "123", "123_4" (array task), "123+1" (het job): a string, as Slurm prints it. */
  readonly jobId: string;
  /** Base state, upper case: "PENDING", "RUNNING", "COMPLETED", "CANCELLED" … */
  readonly state: string;
  /** Further state flags some versions give as extra list entries (23.11+: ["PENDING","REQUEUED"]). */
  readonly stateFlags: readonly string[];
  readonly stateClass: SlurmStateClass;
  /** Pending or end reason ("Dependency", "JobHeldUser", "NonZeroExitCode"); null for "None". */
  readonly reason: string | null;
  readonly user: string | null;
  readonly partition: string | null;
  /** Node list ("vm", "gpu[01-02]"); null while pending. */
  readonly nodes: string | null;
  /** Seconds it has run (or ran); null when not known. */
  readonly elapsedS: number | null;
  /** Job name: free text the submitter chose (may hold "|" or newlines). Only from JSON/scontrol. */
  readonly name: string | null;
  readonly exit: SlurmExit | null;
}

export type SlurmErrorKind =
  | 'not-installed'
  | 'controller-unreachable'
  | 'auth'
  | 'permission'
  | 'invalid-partition'
  | 'invalid-account'
  | 'invalid-qos'
  | 'invalid-job'
  | 'invalid-request'
  | 'accounting-disabled'
  | 'usage'
  | 'timeout'
  | 'output-too-large'
  | 'unknown';

export interface SlurmError {
  readonly kind: SlurmErrorKind;
  /** One sanitised line, starting with the command name ("squeue: controller unreachable …"). */
  readonly message: string;
}

/** Everything a finished (or failed, or killed) client call left behind; truncated: stdout + stderr passed the size cap. */
export interface SlurmOutcome extends CommandOutcome {
  readonly ms: number;
}
