/**
 * `scontrol show job -o` (pure): one record per job, "Key=Value" pairs split at spaces. Not really
 * one line: a job name with a newline spans two (captured), and JobName, Comment, Command and
 * WorkDir are free text that may hold " Key=" themselves. So a record whose keys repeat, or an
 * id seen twice, is flagged ambiguous: a caller that acts on it (a stop, a verdict) asks
 * squeue --json instead, where Slurm escapes every string.
 */
import { parseExitCodeText } from './exit-status.js';
import { classifyState, parseSlurmDuration } from './state.js';
import type { SlurmJob } from './types.js';

interface ScontrolRecord {
  readonly fields: ReadonlyMap<string, string>;
  /** A key appeared twice: some free-text value imitated a field. */
  readonly ambiguous: boolean;
}

export interface ParsedScontrol {
  readonly jobs: readonly SlurmJob[];
  readonly records: readonly ScontrolRecord[];
  /** Some record (or two records of one id) cannot be trusted field by field. */
  readonly ambiguous: boolean;
  readonly bad: readonly string[];
}

const BOUNDARY = /[ \n](?=[A-Za-z][A-Za-z0-9_:/.]*=)/;

function parseScontrolRecord(text: string): ScontrolRecord {
  const fields = new Map<string, string>();
  let ambiguous = false;
  for (const tok of text.split(BOUNDARY)) {
    const eq = tok.indexOf('=');
    if (eq <= 0) continue;
    const key = tok.slice(0, eq);
    if (fields.has(key)) ambiguous = true;
    else fields.set(key, tok.slice(eq + 1).replace(/\s+$/, ''));
  }
  return { fields, ambiguous };
}

const nullish = (v: string | undefined): string | null =>
  v === undefined || v === '' || v === '(null)' || v === 'N/A' || v === 'None' ? null : v;

export function parseScontrolJobs(text: string): ParsedScontrol {
  const records: ScontrolRecord[] = [];
  const jobs: SlurmJob[] = [];
  const bad: string[] = [];
  const seen = new Set<string>();
  let ambiguous = false;
  for (const chunk of text.split(/\n(?=JobId=\d)/)) {
    if (chunk.trim() === '') continue;
    const rec = parseScontrolRecord(chunk);
    const f = rec.fields;
    const id = f.get('JobId');
    const stateText = f.get('JobState');
    if (!id || !/^\d+$/.test(id) || !stateText || !/^[A-Z_]+$/.test(stateText)) {
      bad.push(chunk.slice(0, 200));
      continue;
    }
    // Array tasks print JobId=<own id> ArrayJobId=<parent> ArrayTaskId=<n>: name them as squeue does.
    const arr = f.get('ArrayJobId');
    const task = f.get('ArrayTaskId');
    const jobId = arr && task && /^\d+$/.test(task) ? `${arr}_${task}` : id;
    if (seen.has(jobId)) ambiguous = true;
    seen.add(jobId);
    if (rec.ambiguous) ambiguous = true;
    records.push(rec);
    const user = nullish(f.get('UserId'));
    const exitText = f.get('ExitCode');
    const run = f.get('RunTime');
    jobs.push({
      jobId,
      state: stateText,
      stateFlags: [],
      stateClass: classifyState(stateText),
      reason: nullish(f.get('Reason')),
      user: user ? user.replace(/\(\d+\)$/, '') : null,
      partition: nullish(f.get('Partition')),
      nodes: nullish(f.get('NodeList')),
      elapsedS: run ? parseSlurmDuration(run) : null,
      name: f.get('JobName') ?? null,
      exit: exitText ? parseExitCodeText(exitText) : null,
    });
  }
  return { jobs, records, ambiguous, bad };
}
