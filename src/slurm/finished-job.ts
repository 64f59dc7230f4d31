/**
 * How a finished job ended, wherever Slurm still remembers it. `scontrol show job` knows a job
 * only until MinJobAge (600 s in the lab, 300 s by default) after it ends; then `sacct` (slurmdbd)
 * or, where accounting storage is off, `sacct -c` (the jobcomp/filetxt file) still do. Each call
 * has its share of one deadline; the exit stays unknown only when every one of them fails.
 *
 * A job id alone is not enough for a record read back later: ids restart after a controller's
 * state is reset, and sacct and the jobcomp file keep the earlier jobs of the same id. So the
 * record must also carry the name reaper gave the job (JobName is free text, but a name with "|"
 * or a newline breaks only its own line, which then does not parse: never taken).
 */
import { classifySlurmOutcome } from './classify.js';
import { parseExitCodeText } from './exit-status.js';
import { runSlurmCommand, type RunSlurmOptions } from './run.js';
import { parseScontrolJobs } from './scontrol-text.js';
import { classifyState } from './state.js';
import type { SlurmJob, SlurmOutcome } from './types.js';

type JobEndSource = 'scontrol' | 'sacct' | 'jobcomp';

export interface JobEnd {
  /** The job as the first source that knew it reported it; null when none did. */
  readonly job: SlurmJob | null;
  readonly source: JobEndSource | null;
  /** One line per source that did not know it, in the order asked ("sacct: accounting storage is disabled"). */
  readonly tried: readonly string[];
}

const JOB_END_FIELDS = ['JobID', 'JobName', 'State', 'ExitCode'] as const;

/** `sacct -X -P -n` for one job; `jobcomp`: `-c`, the jobcomp file (accounting storage off). */
export function jobEndSacctArgs(jobId: string, jobcomp: boolean): string[] {
  return [...(jobcomp ? ['-c'] : []), '-X', '-P', '-n', `--format=${JOB_END_FIELDS.join(',')}`, `--jobs=${jobId}`];
}

/**
 * The record of `jobId` named `name` in `sacct -P -n --format=JobID,JobName,State,ExitCode`
 * text (pure). Several records that disagree (state or exit) are null: unknown, not a guess.
 */
export function pickSacctJobEnd(text: string, jobId: string, name: string): SlurmJob | null {
  const found: SlurmJob[] = [];
  for (const line of text.split('\n')) {
    const f = line.replace(/\r$/, '').split('|');
    if (f.length !== JOB_END_FIELDS.length) continue;
    const [id, jobName, stateText, exitText] = f as [string, string, string, string];
    if (id !== jobId || jobName !== name) continue;
    const m = /^([A-Z_]+)(?: by \d+)?$/.exec(stateText);
    if (!m) continue;
    found.push({
      jobId: id,
      state: m[1]!,
      stateFlags: [],
      stateClass: classifyState(m[1]!),
      reason: null,
      user: null,
      partition: null,
      nodes: null,
      elapsedS: null,
      name: jobName,
      exit: parseExitCodeText(exitText),
    });
  }
  if (found.length === 0) return null;
  const key = (j: SlurmJob): string => `${j.state}|${j.exit?.code ?? ''}|${j.exit?.signal ?? ''}`;
  return found.every((j) => key(j) === key(found[0]!)) ? found[0]! : null;
}

/** `scontrol show job -o` text → the job, if it is this id under this name and unambiguous (pure). */
export function pickScontrolJobEnd(text: string, jobId: string, name: string): SlurmJob | null {
  const parsed = parseScontrolJobs(text);
  if (parsed.ambiguous) return null;
  const j = parsed.jobs.find((x) => x.jobId === jobId) ?? null;
  return j && j.name === name ? j : null;
}

export interface JobEndOptions {
  /** For every call together. */
  readonly deadlineMs: number;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly binDir?: string;
}

type Runner = (bin: string, args: readonly string[], o: RunSlurmOptions) => Promise<SlurmOutcome>;

/** One call's deadline: at most 10 s, never past the whole budget. */
const PER_CALL_MS = 10_000;

/**
 * Asks scontrol, then sacct, then sacct -c, until one knows the job under its name. `run`:
 * the client runner (tests give recorded outcomes; everything else the real one).
 */
export async function readJobEnd(job: { id: string; name: string }, o: JobEndOptions, run: Runner = runSlurmCommand): Promise<JobEnd> {
  const end = Date.now() + o.deadlineMs;
  const bin = (n: string): string => (o.binDir ? `${o.binDir.replace(/\/$/, '')}/${n}` : n);
  const tried: string[] = [];
  const call = async (name: string, args: string[]): Promise<{ out: SlurmOutcome; why: string | null } | null> => {
    const left = end - Date.now();
    if (left < 100) {
      tried.push(`${name}: not asked (deadline)`);
      return null;
    }
    const out = await run(bin(name), args, { deadlineMs: Math.min(PER_CALL_MS, left), ...(o.env ? { env: o.env } : {}), maxBytes: 4 * 1024 * 1024 });
    const err = classifySlurmOutcome(out);
    return { out, why: err ? err.message : null };
  };

  const sc = await call('scontrol', ['show', 'job', '-o', job.id]);
  if (sc) {
    const j = sc.why ? null : pickScontrolJobEnd(sc.out.stdout, job.id, job.name);
    if (j) return { job: j, source: 'scontrol', tried };
    tried.push(sc.why ?? `scontrol: no record of job ${job.id} named ${job.name}`);
  }
  for (const jobcomp of [false, true]) {
    const label = jobcomp ? 'sacct -c' : 'sacct';
    const sa = await call('sacct', jobEndSacctArgs(job.id, jobcomp));
    if (!sa) continue;
    // sacct -c warns on stderr about every array record in the file ("Unknown type ArrayJobId"), exit 0.
    const j = sa.out.exitCode === 0 ? pickSacctJobEnd(sa.out.stdout, job.id, job.name) : null;
    if (j) return { job: j, source: jobcomp ? 'jobcomp' : 'sacct', tried };
    tried.push(sa.out.exitCode !== 0 || sa.out.timedOut || sa.out.spawnError ? (sa.why ?? `${label}: failed`).replace(/^sacct:/, `${label}:`) : `${label}: no record of job ${job.id} named ${job.name}`);
  }
  return { job: null, source: null, tried };
}
