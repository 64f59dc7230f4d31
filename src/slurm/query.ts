/**
 * The three calls a Slurm executor makes all the time, each one client run with a deadline,
 * classified and parsed: submit, look at the queue, cancel. Results, never throws.
 */
import { classifySlurmOutcome } from './classify.js';
import { runSlurmCommand } from './run.js';
import { parseSqueueText, squeueArgs } from './squeue-text.js';
import type { SlurmError, SlurmJob } from './types.js';

export interface SlurmCallOptions {
  readonly deadlineMs: number;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Where the clients are (default: found in PATH). */
  readonly binDir?: string;
}

const bin = (name: string, o: SlurmCallOptions): string => (o.binDir ? `${o.binDir.replace(/\/$/, '')}/${name}` : name);

/** `sbatch --parsable` prints "JOBID" or "JOBID;CLUSTER"; anything else is null. */
export function parseSbatchParsable(stdout: string): { jobId: string; cluster: string | null } | null {
  const m = /^(\d+)(?:;(\S+))?$/.exec(stdout.trim());
  return m ? { jobId: m[1]!, cluster: m[2] ?? null } : null;
}

export async function submitJob(
  args: readonly string[],
  o: SlurmCallOptions,
): Promise<{ jobId: string; error: null } | { jobId: null; error: SlurmError }> {
  const out = await runSlurmCommand(bin('sbatch', o), ['--parsable', ...args], o);
  const error = classifySlurmOutcome(out);
  if (error) return { jobId: null, error };
  const parsed = parseSbatchParsable(out.stdout);
  if (!parsed) return { jobId: null, error: { kind: 'unknown', message: 'sbatch: no job id in its answer' } };
  return { jobId: parsed.jobId, error: null };
}

/** One squeue call for the given jobs (all states, so finished ones show until MinJobAge). */
export async function queryJobs(
  jobIds: readonly string[],
  o: SlurmCallOptions,
): Promise<{ jobs: readonly SlurmJob[]; bad: readonly string[]; error: SlurmError | null }> {
  if (jobIds.length === 0) return { jobs: [], bad: [], error: null };
  const out = await runSlurmCommand(bin('squeue', o), squeueArgs({ jobs: jobIds }), o);
  const error = classifySlurmOutcome(out);
  // squeue -j with one id Slurm already forgot fails "Invalid job id"; with several it lists the rest.
  if (error && error.kind !== 'invalid-job') return { jobs: [], bad: [], error };
  const { jobs, bad } = parseSqueueText(out.stdout);
  return { jobs, bad, error: null };
}

/**
 * scancel. Success only means Slurm took the request: 22.05 says nothing, exit 0, for an id it
 * does not know. Confirm with queryJobs (and /proc for jobs on this node).
 */
export async function cancelJobs(jobIds: readonly string[], o: SlurmCallOptions & { signal?: string }): Promise<SlurmError | null> {
  if (jobIds.length === 0) return null;
  const args = o.signal ? [`--signal=${o.signal}`, ...jobIds] : [...jobIds];
  return classifySlurmOutcome(await runSlurmCommand(bin('scancel', o), args, o));
}

/**
 * `scontrol ping`: the one client that does not retry a down controller (8 ms to say DOWN, where
 * squeue, sinfo, sbatch and scancel each retry for 9 s on 22.05). Ask it first when a screen or
 * `reaper doctor` must stay quick.
 */
export async function pingController(o: SlurmCallOptions): Promise<{ up: boolean; error: SlurmError | null }> {
  const out = await runSlurmCommand(bin('scontrol', o), ['ping'], o);
  if (out.exitCode === 0 && /\bis UP\b/.test(out.stdout)) return { up: true, error: null };
  return { up: false, error: classifySlurmOutcome(out) ?? { kind: 'unknown', message: 'scontrol: ping gave no UP line' } };
}
