/**
 * squeue's text output with reaper's own format (pure). Job names and comments are free text that
 * may hold "|" and newlines (captured: test/fixtures/slurm/squeue-o-name-newline-22.05.txt), so
 * the format has none: a name could forge a line for another job. Names come from --json.
 */
import { classifyState, parseSlurmDuration } from './state.js';
import type { SlurmJob } from './types.js';

/** Job id, state, reason, user, partition, nodes, elapsed: only fields Slurm itself writes. */
export const SQUEUE_FORMAT = '%i|%T|%r|%u|%P|%N|%M';

/** The argv for one look at the whole queue (finished jobs too, until MinJobAge). */
export function squeueArgs(opts: { jobs?: readonly string[]; user?: string; allStates?: boolean } = {}): string[] {
  const a = ['--noheader', `--format=${SQUEUE_FORMAT}`];
  if (opts.allStates !== false) a.push('--states=all');
  if (opts.jobs && opts.jobs.length > 0) a.push(`--jobs=${opts.jobs.join(',')}`);
  if (opts.user) a.push(`--user=${opts.user}`);
  return a;
}

const JOB_ID = String.raw`\d+(?:_(?:\d+|\[[0-9,\-%]+\]))?(?:\+\d+)?`;
const LINE = new RegExp(String.raw`^(${JOB_ID})\|([A-Z_]+)\|([^|]*)\|([^|]*)\|([^|]*)\|([^|]*)\|([^|]*)$`);

export interface ParsedJobs {
  readonly jobs: readonly SlurmJob[];
  /** Lines that did not have the expected shape (shown in diagnostics, never guessed at). */
  readonly bad: readonly string[];
}

const orNull = (s: string | undefined): string | null => (s === undefined || s === '' || s === '(null)' ? null : s);

export function parseSqueueText(text: string): ParsedJobs {
  const jobs: SlurmJob[] = [];
  const bad: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = LINE.exec(line);
    if (!m) {
      bad.push(line);
      continue;
    }
    const [, jobId, state, reason, user, partition, nodes, elapsed] = m;
    jobs.push({
      jobId: jobId!,
      state: state!,
      stateFlags: [],
      stateClass: classifyState(state!),
      reason: reason === 'None' ? null : orNull(reason),
      user: orNull(user),
      partition: orNull(partition),
      nodes: orNull(nodes),
      elapsedS: parseSlurmDuration(elapsed!),
      name: null,
      exit: null,
    });
  }
  return { jobs, bad };
}
