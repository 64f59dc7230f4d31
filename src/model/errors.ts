/**
 * The one error type of reaper. `code` is stable; only src/cli maps codes to exit codes.
 * Expected outcomes (a process already gone) are result fields, never throws.
 */

const BRAND = Symbol.for('gpu-reaper.error');

export type ReaperErrorCode =
  | 'USAGE'
  | 'CONFIG'
  | 'NOT_FOUND'
  | 'PROBE_FAILED'
  | 'SIGNAL_EPERM'
  | 'RUN_JOURNAL_CORRUPT'
  | 'RUN_NOT_FOUND'
  | 'UNSUPPORTED'
  | 'INTERNAL';

export class ReaperError extends Error {
  readonly code: ReaperErrorCode;
  constructor(code: ReaperErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, 'name', { value: 'ReaperError', enumerable: false });
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
  }
}

export function isReaperError(e: unknown): e is ReaperError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

/** The first line of an error's message (or of any thrown value), cut at `max` characters. */
export function errorLine(e: unknown, max = 300): string {
  const m = e instanceof Error ? e.message : String(e);
  return (m.split('\n')[0] ?? '').slice(0, max);
}
