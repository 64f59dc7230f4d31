/**
 * squeue and sacct asked about jobs by id AND exact name, with the name printed back last
 * (pure argv builders and parsers). A name is free text, so it is never split on: the fields
 * before it are the ones Slurm writes itself (no "|" in them), and the rest of the line must be
 * exactly one of the names asked for. squeue filters by --name itself, so every line it prints
 * is of a job with one of those names; a reused job id with another name is simply not listed.
 * sacct -c (jobcomp/filetxt) ignores --name and may hold lines forged through a job name with a
 * newline (see sacct-text.ts): a line whose name is not asked for is dropped, and an id printed
 * twice is reported ambiguous, never guessed at.
 */
import { parseSacctText, SACCT_FIELDS } from './sacct-text.js';
import { parseSqueueText, SQUEUE_FORMAT } from './squeue-text.js';
import type { SlurmJob } from './types.js';

export interface NamedJob {
  readonly job: SlurmJob;
  readonly name: string;
}

export interface ParsedNamedJobs {
  readonly jobs: readonly NamedJob[];
  /** Lines of the wrong shape or with a name not asked for. */
  readonly bad: readonly string[];
  /** Job ids printed more than once (a forged or repeated record): their state is not believed. */
  readonly ambiguous: readonly string[];
}

/** squeue for these ids and names of one user, every state, name last. */
export function squeueNamedArgs(ids: readonly string[], names: readonly string[], user: string): string[] {
  return ['--noheader', `--format=${SQUEUE_FORMAT}|%j`, '--states=all', `--jobs=${ids.join(',')}`, `--name=${names.join(',')}`, `--user=${user}`];
}

/** sacct (-c: the jobcomp file, where accounting storage is off) for these ids of one user, name last. */
export function sacctNamedArgs(ids: readonly string[], user: string, jobcomp: boolean): string[] {
  return [...(jobcomp ? ['-c'] : []), '-X', '-P', '-n', `--format=${[...SACCT_FIELDS, 'JobName'].join(',')}`, `--jobs=${ids.join(',')}`, `--user=${user}`];
}

/** Splits a line after its `fields`-th "|": the Slurm-written part and the name. */
function splitName(line: string, fields: number): [string, string] | null {
  let at = -1;
  for (let i = 0; i < fields; i++) {
    at = line.indexOf('|', at + 1);
    if (at < 0) return null;
  }
  return [line.slice(0, at), line.slice(at + 1)];
}

function parseNamed(text: string, fields: number, names: ReadonlySet<string>, parse: (head: string) => readonly SlurmJob[]): ParsedNamedJobs {
  const jobs: NamedJob[] = [];
  const bad: string[] = [];
  const count = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const parts = splitName(line, fields);
    const parsed = parts && names.has(parts[1]) ? parse(parts[0]) : [];
    if (!parts || parsed.length !== 1) {
      bad.push(line);
      continue;
    }
    const job = parsed[0]!;
    count.set(job.jobId, (count.get(job.jobId) ?? 0) + 1);
    jobs.push({ job: { ...job, name: parts[1] }, name: parts[1] });
  }
  const ambiguous = [...count].filter(([, n]) => n > 1).map(([id]) => id);
  return { jobs: jobs.filter((j) => !ambiguous.includes(j.job.jobId)), bad, ambiguous };
}

/** squeueNamedArgs' output; `names`: the names asked for. */
export function parseSqueueNamed(text: string, names: ReadonlySet<string>): ParsedNamedJobs {
  return parseNamed(text, SQUEUE_FORMAT.split('|').length, names, (head) => parseSqueueText(head).jobs);
}

/** sacctNamedArgs' output; `names`: the names asked for. */
export function parseSacctNamed(text: string, names: ReadonlySet<string>): ParsedNamedJobs {
  return parseNamed(text, SACCT_FIELDS.length, names, (head) => parseSacctText(head).jobs);
}
