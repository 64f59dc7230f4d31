/**
 * The Slurm jobs of one run, as the launcher, the guardian and `reaper stop` act on them: which of
 * the recorded ids are really this run's (the job name reaper gave them, the run's user, asked of
 * squeue, which filters itself: no free text is parsed), scancel of those, and the confirmation
 * that they left the queue and, on this node, /proc. Every call has a deadline; never throws.
 * Each scancel is audited (src/actions/audit.ts) as one entry per job: no pid, the job's id and
 * name, SIGTERM or SIGKILL via scancel, and what became of it (gone from the queue and /proc, or not).
 */
import { readdirSync } from 'node:fs';
import { AuditTrail, type AuditContext, type AuditEntry } from '../actions/audit.js';
import { readStatSync } from '../probe/proc-stat.js';
import {
  cancelJobs,
  classifySlurmOutcome,
  parseSqueueText,
  readSlurmTaskCgroup,
  runSlurmCommand,
  squeueArgs,
  type SlurmCallOptions,
  type SlurmError,
  type SlurmJob,
} from '../slurm/index.js';
import type { Member } from './executor.js';
import type { JournalEvent } from './journal.js';
import { sleep } from '../model/sleep.js';

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
 * The jobs a run's journal records (task-start `job`): a numeric id and the name reaper gives
 * this run's jobs (reaper-<run>-…). A hint only: ownedJobs asks squeue before anything acts.
 */
export function journalJobs(events: readonly JournalEvent[], runId: string): RunJob[] {
  const out: RunJob[] = [];
  const seen = new Set<string>();
  for (const e of events) {
    if (e.ev !== 'task-start' || !e.job || typeof e.job.id !== 'string' || !/^\d+$/.test(e.job.id)) continue;
    if (typeof e.job.name !== 'string' || !e.job.name.startsWith(`reaper-${runId}-`) || /[\s,|]/.test(e.job.name)) continue;
    if (seen.has(e.job.id)) continue;
    seen.add(e.job.id);
    out.push({ id: e.job.id, name: e.job.name });
  }
  return out;
}

/**
 * The recorded jobs that squeue lists under their recorded name for this user: a job id Slurm
 * reused for someone else's job (after a controller reset) has another name or user and is left
 * out. `error`: squeue did not answer (then nothing is known to be ours).
 */
async function ownedJobs(jobs: readonly RunJob[], user: number, o: SlurmCallOptions): Promise<{ jobs: SlurmJob[]; error: SlurmError | null }> {
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
    // The job's tasks, never its slurmstepd (in the job's cgroups too, on most controllers).
    const place = readSlurmTaskCgroup(pid);
    if (!place || !jobIds.has(place.jobId) || place.step === 'extern') continue;
    if (uid !== null && place.uid !== null && place.uid !== uid) continue;
    const st = readStatSync(pid);
    if (!st || st.state === 'Z' || st.comm === 'slurmstepd') continue;
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


export interface CancelOptions extends SlurmCallOptions {
  readonly user: number;
  readonly mode: 'term' | 'kill';
  readonly waitMs: number;
  /** Who asked (teardown, guardian, stop, reap --run): each job scancelled gets an entry in that log. */
  readonly audit?: AuditContext;
}

/** The audit entries of one scancel: opened before it, closed once the wait says what became of each job. */
class JobAudit {
  private readonly trail: AuditTrail | null;
  private readonly open = new Map<string, AuditEntry>();

  constructor(
    private readonly ctx: AuditContext | undefined,
    private readonly opts: CancelOptions,
  ) {
    this.trail = ctx ? new AuditTrail({ ...ctx, reasons: ctx.reasons ?? ["Slurm job of the run (its name and user, as squeue lists them)"] }) : null;
  }

  private target(j: RunJob): { pid: null; startTime: null; job: string; uid: number; cmd: string } {
    return { pid: null, startTime: null, job: j.id, uid: this.opts.user, cmd: j.name };
  }

  private signal(): string {
    return this.opts.mode === 'kill' ? 'SIGKILL' : 'SIGTERM';
  }

  intents(jobs: readonly RunJob[], live: readonly string[]): void {
    if (!this.trail) return;
    const via = this.opts.mode === 'kill' ? 'scancel --full --signal=KILL, then scancel' : 'scancel';
    for (const j of jobs) if (live.includes(j.id) && !this.open.has(j.id)) this.open.set(j.id, this.trail.intent(this.target(j), this.signal(), via));
  }

  sent(): void {
    for (const e of this.open.values()) e.sent.push(this.opts.mode === 'kill' ? 'SIGKILL (scancel --full)' : 'SIGTERM (scancel)');
    if (this.opts.mode === 'kill') for (const e of this.open.values()) e.sent.push('scancel');
  }

  outcomes(r: Confirmed): void {
    if (!this.trail) return;
    for (const [id, e] of this.open) {
      const procs = r.procs.get(id)?.length ?? 0;
      const queued = r.left.has(id);
      if (!queued && procs === 0) this.trail.outcome(e, 'gone', 'left the queue and, on this node, /proc');
      else this.trail.outcome(e, 'survived', `${[queued ? 'still in squeue' : '', procs > 0 ? `${procs} of its processes still in /proc` : ''].filter(Boolean).join(', ')} after ${Math.round(this.opts.waitMs / 1000)} s${r.error ? ` (${r.error})` : ''}`);
    }
    this.open.clear();
    this.ctx?.log.flushSyslog();
  }

  /** A planned job that was not scancelled (already finished, or squeue did not answer). */
  unsignalled(j: RunJob, why: string): void {
    this.trail?.unsignalled(this.target(j), this.signal(), 'skipped', why);
  }
}

interface Confirmed {
  /** Job ids still queued or running (not finished) when the wait ended. */
  readonly left: ReadonlySet<string>;
  /** Their processes on this node still in /proc when the wait ended, by job id. */
  readonly procs: ReadonlyMap<string, Member[]>;
  readonly error: string | null;
}

/**
 * scancel of `live` (ids squeue just listed as the run's own and not finished), then waits
 * (until `waitMs`) for them to leave the queue and for the processes of `tracked` (ids squeue
 * listed under the run's names, finished ones too) to leave /proc on this node.
 */
async function cancelAndConfirm(live: readonly string[], tracked: ReadonlySet<string>, jobs: readonly RunJob[], opts: CancelOptions, audit: JobAudit): Promise<Confirmed> {
  let error: string | null = null;
  if (live.length > 0) {
    audit.intents(jobs, live);
    // --full: the batch step too (a plain --signal reaches only the job's srun steps).
    if (opts.mode === 'kill') await runSlurmCommand(opts.binDir ? `${opts.binDir}/scancel` : 'scancel', ['--full', '--signal=KILL', ...live], opts);
    const e = await cancelJobs(live, opts);
    // What went out: scancel's own answer says whether it did (its error is the outcome's detail).
    if (!e) audit.sent();
    if (e) error = e.message;
  }
  const deadline = Date.now() + opts.waitMs;
  const recheck = jobs.filter((j) => live.includes(j.id));
  for (;;) {
    const q = live.length > 0 ? await ownedJobs(recheck, opts.user, opts) : { jobs: [], error: null };
    const left = new Set(q.error ? live : q.jobs.filter(activeJob).map((j) => j.jobId));
    const procs = jobProcesses(tracked, opts.user);
    if ((left.size === 0 && procs.size === 0) || Date.now() >= deadline) {
      const r = { left, procs, error: error ?? (q.error ? q.error.message : null) };
      audit.outcomes(r);
      return r;
    }
    await sleep(200);
  }
}

const count = (m: ReadonlyMap<string, Member[]>): number => [...m.values()].reduce((n, l) => n + l.length, 0);

/**
 * scancel of the run's jobs that are really its own, then waits (until `waitMs`) for them to
 * leave the queue and for their processes on this node to leave /proc. `kill`: SIGKILL to every
 * step first (Slurm's own scancel waits KillWait between TERM and KILL). Only jobs squeue lists
 * under their recorded name and the run's user count: a recorded id of someone else's job is
 * neither cancelled nor waited for.
 */
export async function cancelRunJobs(jobs: readonly RunJob[], opts: CancelOptions): Promise<CancelResult> {
  if (jobs.length === 0) return { found: 0, survived: 0, error: null };
  const owned = await ownedJobs(jobs, opts.user, opts);
  if (owned.error) return { found: 0, survived: 0, error: owned.error.message };
  const live = owned.jobs.filter(activeJob).map((j) => j.jobId);
  // Processes of a job that already finished are still the job's (its cgroup names it).
  const tracked = new Set(owned.jobs.map((j) => j.jobId));
  const before = jobProcesses(tracked, opts.user);
  if (live.length === 0 && before.size === 0) return { found: 0, survived: 0, error: null };
  const r = await cancelAndConfirm(live, tracked, jobs, opts, new JobAudit(opts.audit, opts));
  return { found: live.length + (live.length === 0 ? count(before) : 0), survived: r.left.size + count(r.procs), error: r.error };
}

/** What `reaper reap --run` plans for a run's jobs (see RunJobsPlan). */
export interface PlannedJob extends RunJob {
  readonly job: SlurmJob;
}

export interface RunJobsPlan {
  /** Jobs squeue lists under their recorded name and the run's user, not finished: to scancel. */
  readonly active: readonly PlannedJob[];
  /** Processes on this node inside the cgroups of any job squeue listed as the run's (finished ones too). */
  readonly members: ReadonlyArray<{ pid: number; startTime: number; jobId: string }>;
  /** squeue did not answer: nothing is known to be the run's, nothing is planned. */
  readonly error: SlurmError | null;
}

/** The run's jobs as a reap plans them: asked of squeue (name + user), never taken from the journal alone. */
export async function planRunJobs(recorded: readonly RunJob[], user: number, o: SlurmCallOptions): Promise<RunJobsPlan> {
  const owned = await ownedJobs(recorded, user, o);
  if (owned.error) return { active: [], members: [], error: owned.error };
  const names = new Map(recorded.map((j) => [j.id, j.name]));
  const active = owned.jobs.filter(activeJob).map((job) => ({ id: job.jobId, name: names.get(job.jobId)!, job }));
  const procs = jobProcesses(new Set(owned.jobs.map((j) => j.jobId)), user);
  const members = [...procs].flatMap(([jobId, list]) => list.map((m) => ({ pid: m.pid, startTime: m.startTime, jobId })));
  return { active, members, error: null };
}

export interface JobCancelResult {
  readonly id: string;
  readonly name: string;
  /** cancelled: left the queue after scancel; gone: already finished or no longer the run's when re-checked; survived: still queued or running, or processes of it still in /proc. */
  readonly outcome: 'cancelled' | 'gone' | 'survived';
  readonly why: string | null;
}

/**
 * Acts on the jobs of a confirmed plan and on nothing else: re-asks squeue (name + user) right
 * before, scancels those still active, confirms queue and /proc. A squeue that does not answer
 * cancels nothing: every planned job is reported as survived, with the reason.
 */
export async function cancelPlannedJobs(planned: readonly RunJob[], opts: CancelOptions): Promise<JobCancelResult[]> {
  if (planned.length === 0) return [];
  const audit = new JobAudit(opts.audit, opts);
  const owned = await ownedJobs(planned, opts.user, opts);
  if (owned.error) {
    for (const j of planned) audit.unsignalled(j, `not cancelled: ${owned.error.message}`);
    opts.audit?.log.flushSyslog();
    return planned.map((j) => ({ id: j.id, name: j.name, outcome: 'survived' as const, why: `not cancelled: ${owned.error!.message}` }));
  }
  const live = owned.jobs.filter(activeJob).map((j) => j.jobId);
  const finished = "already finished, or no longer listed under its name and the run's user";
  for (const j of planned) if (!live.includes(j.id)) audit.unsignalled(j, finished);
  const r = await cancelAndConfirm(live, new Set(live), planned, opts, audit);
  return planned.map((j) => {
    if (!live.includes(j.id)) return { id: j.id, name: j.name, outcome: 'gone' as const, why: finished };
    const procs = r.procs.get(j.id)?.length ?? 0;
    if (r.left.has(j.id) || procs > 0) {
      const what = [r.left.has(j.id) ? 'still in squeue' : '', procs > 0 ? `${procs} of its processes still in /proc` : ''].filter(Boolean).join(', ');
      return { id: j.id, name: j.name, outcome: 'survived' as const, why: `${what} after ${Math.round(opts.waitMs / 1000)} s${r.error ? ` (${r.error})` : ''}` };
    }
    return { id: j.id, name: j.name, outcome: 'cancelled' as const, why: null };
  });
}
