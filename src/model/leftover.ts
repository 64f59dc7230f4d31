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

export interface Verdict {
  readonly reasons: readonly Reason[];
}
