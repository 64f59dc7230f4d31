/**
 * What Slurm says now of the jobs runs recorded: the live read behind `ls`, `runs`, `show` and the
 * live screen. Only open jobs are asked about (a stage attempt without a `task-end`: the journal
 * already says how the others ended). One `scontrol ping` first (it does not retry a down
 * controller: milliseconds instead of ~10 s), then ONE squeue for every run's open jobs (explicit
 * format, by id AND recorded name AND the run's user, so an id Slurm reused for another job is not
 * shown as ours), then, for jobs the controller no longer holds, one sacct (`sacct -c` where
 * accounting storage is off) for their exit; else the exit stays unknown. (`scontrol show job`
 * would not help there: it knows exactly the jobs squeue --states=all lists.) Every call shares
 * one deadline; a failure is one classified line in the result, never a throw or a hang. Nothing
 * is spawned when no job is open.
 */
import { readFileSync } from 'node:fs';
import type { RunJobRef, RunSummary, SlurmJobStatus, SlurmRunsStatus } from '../model/run.js';
import type { Snapshot } from '../model/snapshot.js';
import { parseSacctNamed, parseSqueueNamed, sacctNamedArgs, squeueNamedArgs, type NamedJob } from '../slurm/named-jobs.js';
import { classifySlurmOutcome, pingController, readSlurmTaskCgroup, runSlurmCommand, type SlurmError } from '../slurm/index.js';
import type { RunHistory } from '../analysis/run-history.js';
import { jobProcesses, slurmJobName } from './slurm-jobs.js';

const pidsOf = (m: ReadonlyMap<string, readonly { pid: number }[]>): Map<string, number[]> => new Map([...m].map(([job, ms]) => [job, ms.map((x) => x.pid)]));

export interface SlurmStatusOptions {
  /** For all calls together (default 4 s: `ls` must stay quick with a controller that is down). */
  readonly deadlineMs?: number;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where the clients are (default: PATH). */
  readonly binDir?: string;
  /** Whose jobs (default: this process's uid): the runs read are this user's own. */
  readonly user?: number;
  /** /proc's processes, to find each running job's processes on this machine. */
  readonly snapshot?: Snapshot | null;
}

/** A recorded job of a run, as asked about. */
export interface OpenJob extends RunJobRef {
  readonly runId: string;
}

/**
 * The jobs worth asking Slurm about: open jobs of Slurm runs that have no end record (live or
 * launcher gone), whose recorded name is the one reaper gives (anything else in a journal is not
 * sent to Slurm). `all`: ended runs too (`show` of one run).
 */
export function openJobsOf(runs: readonly RunSummary[], opts: { all?: boolean } = {}): OpenJob[] {
  const out: OpenJob[] = [];
  for (const r of runs) {
    if (r.backend !== 'slurm' || (!opts.all && r.endedAtMs !== null)) continue;
    for (const j of r.jobs ?? []) if (j.open && j.name === slurmJobName(r.id, j.task, j.stage)) out.push({ ...j, runId: r.id });
  }
  return out;
}

/** The same for one run's history (`runs`, `show`): its stage attempts with a job and no end record. */
export function openJobsOfHistory(h: RunHistory, opts: { all?: boolean } = {}): OpenJob[] {
  if (h.backend !== 'slurm' || (!opts.all && h.endedAtMs !== null)) return [];
  const out: OpenJob[] = [];
  for (const t of h.tasks)
    for (const s of t.stages)
      if (s.jobId !== null && s.jobName === slurmJobName(h.id, s.task, s.stage) && (s.outcome === 'running' || s.outcome === 'unknown'))
        out.push({ id: s.jobId, name: s.jobName, task: s.task, stage: s.stage, attempt: s.attempt, open: true, runId: h.id });
  return out;
}

/**
 * Pure: recorded jobs + what squeue and sacct printed → one status per job. A job squeue lists is
 * in its queue state (an ended one with sacct's exit); one only sacct knows has ended with
 * sacct's exit; one neither knows: state null, exit unknown.
 */
export function mergeJobStatus(jobs: readonly OpenJob[], queue: readonly NamedJob[], finished: readonly NamedJob[], pids: ReadonlyMap<string, readonly number[]> = new Map()): SlurmJobStatus[] {
  const key = (id: string, name: string): string => `${id}\u0000${name}`;
  const q = new Map(queue.map((n) => [key(n.job.jobId, n.name), n.job]));
  const f = new Map(finished.map((n) => [key(n.job.jobId, n.name), n.job]));
  return jobs.map((j) => {
    const fromQueue = q.get(key(j.id, j.name));
    const fromAcct = f.get(key(j.id, j.name));
    const s = fromQueue ?? fromAcct ?? null;
    const active = !!s && (s.stateClass === 'pending' || s.stateClass === 'running' || s.stateClass === 'ending');
    // squeue's text has no exit: an ended job it still lists takes sacct's.
    const exit = s && !active ? (s.exit ?? fromAcct?.exit ?? null) : null;
    return {
      ...j,
      state: s ? s.state : null,
      active,
      reason: s && s.stateClass === 'pending' ? s.reason : null,
      nodes: s ? s.nodes : null,
      elapsedS: s ? s.elapsedS : null,
      exit: exit ? { code: exit.code, signal: exit.signal } : null,
      source: fromQueue ? 'squeue' : s ? 'sacct' : null,
      pids: [...(pids.get(j.id) ?? [])].sort((a, b) => a - b),
    };
  });
}

// One argument stays far under Linux's 128 KiB limit per argv string.
const MAX_LIST_CHARS = 60_000;

function chunks(jobs: readonly OpenJob[]): OpenJob[][] {
  const out: OpenJob[][] = [];
  let cur: OpenJob[] = [];
  let len = 0;
  for (const j of jobs) {
    if (cur.length > 0 && len + j.name.length + 1 > MAX_LIST_CHARS) {
      out.push(cur);
      cur = [];
      len = 0;
    }
    cur.push(j);
    len += j.name.length + 1;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/**
 * Asks Slurm about the open jobs (see the file comment). Never throws; with no open job it
 * returns at once without spawning anything.
 */
export async function readSlurmJobStatus(jobs: readonly OpenJob[], o: SlurmStatusOptions = {}): Promise<SlurmRunsStatus> {
  const byRun = new Map<string, SlurmJobStatus[]>();
  const done = (list: SlurmJobStatus[], error: SlurmError | null): SlurmRunsStatus => {
    for (const s of list) byRun.set(s.runId, [...(byRun.get(s.runId) ?? []), s]);
    return { byRun, error: error ? error.message : null, atMs: Date.now() };
  };
  if (jobs.length === 0) return done([], null);
  const until = Date.now() + (o.deadlineMs ?? 4000);
  const left = (): number => Math.max(1, until - Date.now());
  const bin = (name: string): string => (o.binDir ? `${o.binDir.replace(/\/$/, '')}/${name}` : name);
  const call = { ...(o.env ? { env: o.env } : {}), ...(o.binDir ? { binDir: o.binDir } : {}) };
  const user = String(o.user ?? (process.getuid ? process.getuid() : 0));
  const ping = await pingController({ ...call, deadlineMs: left() });
  if (!ping.up) return done(mergeJobStatus(jobs, [], []), ping.error);
  const queue: NamedJob[] = [];
  for (const part of chunks(jobs)) {
    const names = [...new Set(part.map((j) => j.name))];
    const out = await runSlurmCommand(bin('squeue'), squeueNamedArgs([...new Set(part.map((j) => j.id))], names, user), { ...call, deadlineMs: left() });
    const err = classifySlurmOutcome(out);
    // squeue -j with one id the controller forgot says "Invalid job id": nothing listed, no error.
    if (err && err.kind !== 'invalid-job') return done(mergeJobStatus(jobs, [], []), err);
    if (!err) queue.push(...parseSqueueNamed(out.stdout, new Set(names)).jobs);
  }
  const listed = new Set(queue.map((n) => `${n.job.jobId}\u0000${n.name}`));
  const ended = new Set(queue.filter((n) => n.job.stateClass === 'done').map((n) => `${n.job.jobId}\u0000${n.name}`));
  // Jobs the controller forgot, and ended ones it still lists (squeue gives no exit): ask sacct.
  const gone = jobs.filter((j) => !listed.has(`${j.id}\u0000${j.name}`) || ended.has(`${j.id}\u0000${j.name}`));
  const finished: NamedJob[] = [];
  let error: SlurmError | null = null;
  if (gone.length > 0) {
    const r = await sacctFor(gone, user, bin, { ...call, deadlineMs: 0 }, left);
    finished.push(...r.jobs);
    error = r.error;
  }
  const running = queue.filter((n) => n.job.stateClass === 'running' || n.job.stateClass === 'ending').map((n) => n.job.jobId);
  const pids = running.length === 0 ? new Map<string, number[]>() : o.snapshot ? jobPidsOnThisMachine(new Set(running), o.snapshot, new Set(jobs.map((j) => j.runId))) : pidsOf(jobProcesses(new Set(running), Number(user)));
  return done(mergeJobStatus(jobs, queue, finished, pids), error);
}

/** sacct for jobs squeue no longer lists; without accounting storage, the jobcomp file (-c). */
async function sacctFor(
  jobs: readonly OpenJob[],
  user: string,
  bin: (n: string) => string,
  call: { env?: Readonly<Record<string, string | undefined>>; deadlineMs: number },
  left: () => number,
): Promise<{ jobs: NamedJob[]; error: SlurmError | null }> {
  const found: NamedJob[] = [];
  for (const part of chunks(jobs)) {
    const ids = [...new Set(part.map((j) => j.id))];
    const names = new Set(part.map((j) => j.name));
    let out = await runSlurmCommand(bin('sacct'), sacctNamedArgs(ids, user, false), { ...call, deadlineMs: left() });
    let err = classifySlurmOutcome(out);
    if (err?.kind === 'accounting-disabled') {
      out = await runSlurmCommand(bin('sacct'), sacctNamedArgs(ids, user, true), { ...call, deadlineMs: left() });
      err = classifySlurmOutcome(out);
    }
    // No accounting at all: the exit of a job that left the queue is unknown, which is no error.
    if (err && err.kind !== 'accounting-disabled' && err.kind !== 'invalid-job') return { jobs: found, error: err };
    if (!err) found.push(...parseSacctNamed(out.stdout, names).jobs);
  }
  return { jobs: found, error: null };
}

const SLURM_JOB_ID = /(?:^|\0)SLURM_JOB_ID=(\d+)(?:\0|$)/;

/**
 * The processes of these jobs on this machine: by /proc/PID/cgroup (Slurm's proctrack/cgroup
 * puts every process of a job there, any step but extern), else, for a process carrying one of
 * the runs' REAPER_RUN markers, by SLURM_JOB_ID in its environment (a job without cgroup
 * tracking). Zombies are left out.
 */
function jobPidsOnThisMachine(jobIds: ReadonlySet<string>, snapshot: Snapshot, runIds: ReadonlySet<string> = new Set()): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const add = (job: string, pid: number): void => {
    const l = out.get(job) ?? [];
    l.push(pid);
    out.set(job, l);
  };
  for (const p of snapshot.processes) {
    if (p.isKernelThread || p.state === 'Z') continue;
    // The job's tasks by the cgroup proctrack tracks them with, never its slurmstepd.
    const place = readSlurmTaskCgroup(p.pid);
    if (place) {
      if (place.step !== 'extern' && jobIds.has(place.jobId)) add(place.jobId, p.pid);
      continue;
    }
    if (p.runId === null || !runIds.has(p.runId)) continue;
    const job = environJobId(p.pid);
    if (job !== null && jobIds.has(job)) add(job, p.pid);
  }
  return out;
}

function environJobId(pid: number): string | null {
  try {
    const text = readFileSync(`/proc/${pid}/environ`, 'latin1');
    return SLURM_JOB_ID.exec(text.slice(0, 1 << 20))?.[1] ?? null;
  } catch {
    return null;
  }
}
