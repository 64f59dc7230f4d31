/** Verdicts of the leftover analysis. */

export type ReasonCode =
  | 'stopped'
  | 'traced'
  | 'zombie'
  | 'uninterruptible'
  | 'orphaned'
  | 'gpu-no-owner'
  | 'gpu-unlisted'
  | 'batch-pattern'
  | 'ended-run';

export interface Reason {
  readonly code: ReasonCode;
  /** One human sentence, e.g. "stopped (T) 12 s: background job on pts/3, stopped by SIGTTIN/SIGTTOU". */
  readonly text: string;
}

/**
 * Why a stopped (T) process is stopped, from evidence only (/proc/PID/syscall, wchan, what fd 0
 * is, the group's history). `unknown` when there is none: never guess.
 */
export interface StopCause {
  /** ttin: read the terminal from a background group; ttou: wrote it or changed its modes (TOSTOP); signal: SIGSTOP/SIGTSTP. */
  readonly kind: 'ttin' | 'ttou' | 'signal' | 'unknown';
  /** The process whose terminal access stopped the group, when known. */
  readonly culpritPid: number | null;
  /** The shell that owns the job (its session leader) and its terminal, for "fg in shell PID on pts/N". */
  readonly shellPid: number | null;
  readonly tty: string | null;
}

export interface Verdict {
  readonly reasons: readonly Reason[];
  /** Set for stopped processes by the analysis (see StopCause). */
  readonly stopCause?: StopCause;
}
