/**
 * How a run ended, pure: its state, the launcher's exit code and the run-end record's words,
 * from what happened (a signal, reaper's own abort, the driver's status, the tasks, survivors).
 */
import type { TaskResult } from './scheduler.js';

/** 128 + the signal's number, like a shell. */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

export interface RunFacts {
  /** The signal that interrupted the run, or null. */
  readonly interrupted: string | null;
  /** Why reaper aborted the run itself (its journal could not be written), or null. */
  readonly failure: string | null;
  /** A driver run: the driver's own exit status (128+N for a signal); else null. */
  readonly driverExit: number | null;
  readonly tasks: readonly TaskResult[];
  /** Processes of the run still alive after the final sweep. */
  readonly survivors: number;
}

export interface RunVerdict {
  readonly state: 'finished' | 'failed' | 'interrupted';
  readonly exitCode: number;
  /** For RunOutcome.error: the abort and what it left, or null. */
  readonly error: string | null;
  /** For the run-end record. */
  readonly detail: string | null;
}

export function runVerdict(f: RunFacts): RunVerdict {
  const failed = f.tasks.filter((t) => t.status === 'failed').length;
  const state = f.interrupted ? 'interrupted' : failed > 0 || f.failure ? 'failed' : 'finished';
  let exitCode: number;
  if (f.interrupted) exitCode = SIGNAL_EXIT[f.interrupted] ?? 1;
  else if (f.failure) exitCode = 1;
  // A driver's status is the run's, unless something of it survived a clean exit.
  else if (f.driverExit !== null) exitCode = f.driverExit === 0 && f.survivors > 0 ? 1 : f.driverExit;
  else exitCode = failed > 0 || f.survivors > 0 ? 1 : 0;
  const error = f.failure === null ? null : `${f.failure}: the run was torn down, ${f.survivors === 0 ? 'nothing of it is left' : `${f.survivors} process(es) SURVIVED`}`;
  const detail = f.interrupted ? `interrupted by ${f.interrupted}` : error ? error : failed > 0 ? `${failed} of ${f.tasks.length} tasks failed` : null;
  return { state, exitCode, error, detail };
}
