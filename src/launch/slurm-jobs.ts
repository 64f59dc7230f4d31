/**
 * The Slurm jobs of one run, as the launcher, the guardian and `reaper stop` act on them: which of
 * the recorded ids are really this run's (the job name reaper gave them, the run's user, asked of
 * squeue, which filters itself: no free text is parsed), scancel of those, and the confirmation
 * that they left the queue and, on this node, /proc. Every call has a deadline; never throws.
 */
import { readdirSync } from 'node:fs';
import { readStatSync } from '../probe/proc-stat.js';
import {
  cancelJobs,
  classifySlurmOutcome,
  parseSqueueText,
  readSlurmCgroup,
  runSlurmCommand,
  squeueArgs,
  type SlurmCallOptions,
  type SlurmError,
  type SlurmJob,
} from '../slurm/index.js';
import type { Member } from './executor.js';

/** reaper-<run>-<task>-<stage>: run ids and stage names hold no comma, "|" or space. */
export function slurmJobName(runId: string, task: number, stage: string): string {
  return `reaper-${runId}-${task}-${stage}`;
}

export const runComment = (runId: string): string => `reaper-run=${runId}`;

export interface RunJob {
  readonly id: string;
  readonly name: string;
}

/**
 * The recorded jobs that squeue lists under their recorded name for this user: a job id Slurm
 * reused for someone else's job (after a controller reset) has another name or user and is left
 * out. `error`: squeue did not answer (then nothing is known to be ours).
 */
export async function ownedJobs(jobs: readonly RunJob[], user: number, o: SlurmCallOptions): Promise<{ jobs: SlurmJob[]; error: SlurmError | null }> {
  if (jobs.length === 0) return { jobs: [], error: null };
  const names = [...new Set(jobs.map((j) => j.name))];
  const ids = [...new Set(jobs.map((j) => j.id))];
  const out = await runSlurmCommand(o.binDir ? `${o.binDir}/squeue` : 'squeue', [...squeueArgs({ jobs: ids, user: String(user) }), `--name=${names.join(',')}`], o);
  const error = classifySlurmOutcome(out);
  if (error && error.kind !== 'invalid-job') return { jobs: [], error };
  const byId = new Map(jobs.map((j) => [j.id, j]));
  return { jobs: parseSqueueText(out.stdout).jobs.filter((j) => byId.has(j.jobId)), error: null };
}

const activeJob = (j: SlurmJob): boolean => j.stateClass !== 'done';

/** The processes on this node inside the given jobs' cgroups (any step but extern), by job id. */
export function jobProcesses(jobIds: ReadonlySet<string>, uid: number | null = null): Map<string, Member[]> {
  const out = new Map<string, Member[]>();
  if (jobIds.size === 0) return out;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return out;
  }
  for (const p of pids) {
    const pid = Number(p);
    const place = readSlurmCgroup(pid);
    if (!place || !jobIds.has(place.jobId) || place.step === 'extern') continue;
    if (uid !== null && place.uid !== null && place.uid !== uid) continue;
    const st = readStatSync(pid);
    if (!st || st.state === 'Z') continue;
    const list = out.get(place.jobId) ?? [];
    list.push({ pid, startTime: st.startTime, state: st.state, cmd: st.comm, wchan: null });
    out.set(place.jobId, list);
  }
  return out;
}

export interface CancelResult {
  /** Jobs of the run that were still queued or running. */
  readonly found: number;
  /** Jobs still in the queue (not finished) or processes still in /proc when the wait ended. */
  readonly survived: number;
  readonly error: string | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * scancel of the run's jobs that are really its own, then waits (until `waitMs`) for them to
 * leave the queue and for their processes on this node to leave /proc. `kill`: SIGKILL to every
 * step first (Slurm's own scancel waits KillWait between TERM and KILL).
 */
export async function cancelRunJobs(jobs: readonly RunJob[], opts: SlurmCallOptions & { user: number; mode: 'term' | 'kill'; waitMs: number }): Promise<CancelResult> {
  if (jobs.length === 0) return { found: 0, survived: 0, error: null };
  const owned = await ownedJobs(jobs, opts.user, opts);
  if (owned.error) return { found: 0, survived: 0, error: owned.error.message };
  const live = owned.jobs.filter(activeJob).map((j) => j.jobId);
  const ids = new Set(jobs.map((j) => j.id));
  // Processes of a job that already left the queue are still the job's (its cgroup names it).
  const before = jobProcesses(ids, opts.user);
  if (live.length === 0 && before.size === 0) return { found: 0, survived: 0, error: null };
  let error: string | null = null;
  if (live.length > 0) {
    // --full: the batch step too (a plain --signal reaches only the job's srun steps).
    if (opts.mode === 'kill') await runSlurmCommand(opts.binDir ? `${opts.binDir}/scancel` : 'scancel', ['--full', '--signal=KILL', ...live], opts);
    const e = await cancelJobs(live, opts);
    if (e) error = e.message;
  }
  const deadline = Date.now() + opts.waitMs;
  let left = live.length;
  let procs = [...before.values()].reduce((n, l) => n + l.length, 0);
  for (;;) {
    const q = live.length > 0 ? await ownedJobs(jobs.filter((j) => live.includes(j.id)), opts.user, opts) : { jobs: [], error: null };
    left = q.error ? live.length : q.jobs.filter(activeJob).length;
    procs = [...jobProcesses(ids, opts.user).values()].reduce((n, l) => n + l.length, 0);
    if ((left === 0 && procs === 0) || Date.now() >= deadline) break;
    await sleep(200);
  }
  return { found: live.length + (live.length === 0 ? procs : 0), survived: left + procs, error };
}
