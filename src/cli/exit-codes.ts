import { isReaperError } from '../model/errors.js';

/** The only place that turns error codes into exit codes. */
export function exitCodeFor(e: unknown): number {
  if (!isReaperError(e)) return 70;
  switch (e.code) {
    case 'USAGE':
    case 'CONFIG':
    case 'NOT_FOUND':
    case 'RUN_NOT_FOUND':
      return 2;
    case 'SIGNAL_EPERM':
      return 1;
    default:
      return 1;
  }
}

/** One line, prefixed with the program name. */
export function formatError(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return `reaper: ${msg.split('\n')[0]}`;
}
