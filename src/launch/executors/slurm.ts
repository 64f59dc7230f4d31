/**
 * The Slurm executor: each stage is one Slurm job, submitted with `sbatch --parsable` through a
 * two-line wrapper that execs the stage's argv (no shell between reaper and the argv). Slurm's
 * proctrack holds every process of a job; reaper names the job (reaper-<run>-<task>-<stage>), logs
 * it into the run folder, watches the whole run with one squeue per interval, reads a finished
 * job's exit from `scontrol show job`, or from sacct / sacct -c once the controller forgot it
 * (finished-job.ts), and tears down with scancel of its
 * own jobs only (ownership asked of squeue by name and user), then confirms: gone from the queue
 * and, on this node, from /proc. The launcher's timeouts, retries and stuck rule apply as on
 * local; the stuck watch sees a job's processes only where it runs on this node.
 *
 * The run folder (logs, {out}) must be on a filesystem the compute nodes share.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { openAuditLog, type AuditContext } from '../../actions/audit.js';
import { pingController, queryJobs, readJobEnd, runSlurmCommand, submitJob, type SlurmCallOptions, type SlurmJob } from '../../slurm/index.js';
import type { SlurmOptions } from '../config.js';
import type { Executor, ExecutorStage, StageExit, StartResult, Sweep } from '../executor.js';
import { errText } from '../fs-error.js';
import { startGuardian, type GuardianHandle } from '../guardian.js';
import type { RunPaths } from '../paths.js';
import { cancelRunJobs, jobProcesses, runComment, slurmJobName, type RunJob } from '../slurm-jobs.js';
import { sleep } from '../../model/sleep.js';

export interface SlurmExecutorOptions {
  readonly runId: string;
  readonly state: string;
  readonly paths: RunPaths;
  /** The environment of the Slurm clients (SLURM_CONF …) and the guardian. */
  readonly env: NodeJS.ProcessEnv;
  readonly graceMs: number;
  /** One squeue per this many ms (default 500). */
  readonly pollMs?: number;
  /** Start a guardian that scancels the run's jobs if the launcher dies (default true). */
  readonly guardian?: boolean;
  /** Where the Slurm clients are (default: PATH). */
  readonly binDir?: string;
}

interface SlurmStage extends ExecutorStage {
  readonly job: RunJob;
  readonly settle: (e: StageExit) => void;
  readonly began: () => void;
  /** Polls in a row that did not list the job. */
  missing: number;
}

/** sbatch's --time in whole minutes: the stage timeout plus a margin, so reaper's fires first. */
export function slurmTimeMinutes(slurm: SlurmOptions | undefined, timeoutMs: number | null | undefined, graceMs: number): number | null {
  if (slurm?.timeMs) return Math.max(1, Math.ceil(slurm.timeMs / 60_000));
  if (!timeoutMs) return null;
  return Math.ceil((timeoutMs + 60_000 + graceMs) / 60_000);
}

/** Every sbatch argument reaper sets for a stage (pure), before the wrapper and the argv. */
export function sbatchArgs(o: { runId: string; task: number; stage: string; cwd: string; logs: { stdout: string; stderr: string }; slurm?: SlurmOptions; timeMin: number | null }): string[] {
  const s = o.slurm;
  const a = [
    `--job-name=${slurmJobName(o.runId, o.task, o.stage)}`,
    `--comment=${runComment(o.runId)}`,
    `--output=${o.logs.stdout}`,
    `--error=${o.logs.stderr}`,
    // A retry adds to the logs, as on local.
    '--open-mode=append',
    '--export=ALL',
    `--chdir=${o.cwd}`,
  ];
  if (s?.gres) a.push(`--gres=${s.gres}`);
  if (o.timeMin !== null) a.push(`--time=${o.timeMin}`);
  if (s?.partition) a.push(`--partition=${s.partition}`);
  if (s?.account) a.push(`--account=${s.account}`);
  if (s?.qos) a.push(`--qos=${s.qos}`);
  if (s?.cpus) a.push(`--cpus-per-task=${s.cpus}`);
  if (s?.mem) a.push(`--mem=${s.mem}`);
  if (s) a.push(...s.extra);
  return a;
}

const SIGNAL_NAMES = new Map(Object.entries(osConstants.signals).map(([k, v]) => [v, k as NodeJS.Signals]));

/** A finished job's end, as the launcher's StageExit. Unknown stays unknown (code and signal null). */
export function jobExit(job: SlurmJob | null): StageExit {
  const e = job?.exit ?? null;
  if (e?.signal) return { code: null, signal: SIGNAL_NAMES.get(e.signal) ?? null, error: null };
  if (e && e.code !== null) return { code: e.code, signal: null, error: null };
  return { code: null, signal: null, error: null };
}


export function createSlurmExecutor(opts: SlurmExecutorOptions): Executor {
  const { runId, paths, graceMs } = opts;
  const pollMs = opts.pollMs ?? 500;
  const user = process.getuid?.() ?? 0;
  const call = (deadlineMs: number): SlurmCallOptions => ({ deadlineMs, env: opts.env, ...(opts.binDir ? { binDir: opts.binDir } : {}) });
  const wrapper = path.join(paths.dir, 'slurm-exec.sh');
  /** Every job this run submitted (what close and stopAll act on). */
  const submitted: RunJob[] = [];
  const unsettled = new Map<string, SlurmStage>();
  let guardian: GuardianHandle | null = null;
  let closed = false;
  const slurm = (s: ExecutorStage): SlurmStage => s as SlurmStage;
  // A COMPLETING job still has processes to kill; it ends only when it is done.
  const cancelWaitMs = (mode: 'term' | 'kill'): number => (mode === 'kill' ? 15_000 : graceMs + 40_000);

  /**
   * The end of a job that left the running states: scontrol while the controller remembers it
   * (MinJobAge), then sacct, then sacct -c (jobcomp) where accounting storage is off; the record
   * must carry the job's name too. Unknown only when every one of them fails (20 s in all).
   */
  const finalExit = async (job: RunJob): Promise<StageExit> => {
    const end = await readJobEnd(job, { deadlineMs: 20_000, env: opts.env, ...(opts.binDir ? { binDir: opts.binDir } : {}) });
    return jobExit(end.job);
  };

  // One squeue per interval for every job still running: it settles each stage's `exited`.
  const poll = async (): Promise<void> => {
    while (!closed) {
      await sleep(pollMs);
      if (unsettled.size === 0) continue;
      const q = await queryJobs([...unsettled.keys()], call(15_000));
      if (q.error) continue; // a controller that does not answer now may answer next time
      const seen = new Map(q.jobs.map((j) => [j.jobId, j]));
      for (const [id, s] of [...unsettled]) {
        const j = seen.get(id);
        if (j && j.stateClass !== 'pending') s.began();
        if (j && j.stateClass !== 'done') {
          s.missing = 0;
          continue;
        }
        // Gone from the queue (MinJobAge passed) only counts when it stays gone.
        if (!j && ++s.missing < 3) continue;
        unsettled.delete(id);
        s.settle(await finalExit(s.job));
      }
    }
  };
  let poller: Promise<void> | null = null;

  // Every scancel goes to the audit log of the run's user (the launcher runs as that user), one
  // entry per job, as the local executor's teardowns do per process.
  const auditLog = openAuditLog(process.env);
  const audit = (why: string, job?: RunJob): AuditContext => {
    const task = job?.name.startsWith(`reaper-${runId}-`) ? job.name.slice(`reaper-${runId}-`.length).replace('-', ' ') : null;
    return { asked: `teardown of run ${runId}${task ? ` task ${task}` : ''}: ${why}`, run: runId, ...(task ? { task } : {}), log: auditLog };
  };
  const cancel = async (jobs: readonly RunJob[], mode: 'term' | 'kill', ctx: AuditContext): Promise<Sweep> => {
    const r = await cancelRunJobs(jobs, { ...call(15_000), user, mode, waitMs: cancelWaitMs(mode), audit: ctx });
    return { found: r.found, survived: r.survived, cgroupKilled: false };
  };

  return {
    async open(step) {
      step('ask the Slurm controller');
      const ping = await pingController(call(5_000));
      if (!ping.up) throw new Error(`Slurm is not usable: ${ping.error?.message ?? 'controller down'}`);
      step('write the job wrapper');
      // sbatch copies the script at submission: the wrapper only has to exist until then.
      writeFileSync(wrapper, '#!/bin/sh\nexec "$@"\n', { mode: 0o700, flag: 'wx' });
      if (opts.guardian !== false) {
        step('start the guardian');
        guardian = startGuardian({ runId, state: opts.state, paths, env: opts.env });
      }
      poller = poll();
      return {
        layers: [{ id: 'slurm', active: true, detail: "Slurm jobs: proctrack holds each job's processes; teardown is scancel of the run's own jobs" }],
        cgroup: null,
        guardian: guardian?.key ?? null,
      };
    },

    async start(req): Promise<StartResult> {
      // sbatch reads % in -o/-e as a pattern (%j …): a path holding one would log elsewhere.
      if (/%/.test(req.logs.stdout + req.logs.stderr)) return { ok: false, detail: `cannot submit: the log path holds a %, which sbatch would expand (${req.logs.stdout})`, abortRun: null };
      try {
        mkdirSync(req.outDir, { recursive: true, mode: 0o700 });
      } catch (e) {
        const why = `cannot create ${req.outDir} (${errText(e)})`;
        return { ok: false, detail: `cannot start: ${why}`, abortRun: why };
      }
      const args = sbatchArgs({ runId, task: req.task, stage: req.stage, cwd: req.cwd, logs: req.logs, ...(req.slurm ? { slurm: req.slurm } : {}), timeMin: slurmTimeMinutes(req.slurm, req.timeoutMs, graceMs) });
      const argv = [...args, wrapper, ...req.argv];
      const job: RunJob = { id: '', name: slurmJobName(runId, req.task, req.stage) };
      const sub = await submitJob(argv, { deadlineMs: 30_000, env: req.env, cwd: req.cwd, ...(opts.binDir ? { binDir: opts.binDir } : {}) });
      if (sub.error) {
        // A submission that timed out may still have made a job: close finds it by name.
        submitted.push(job);
        return { ok: false, detail: `cannot submit: ${sub.error.message}`, abortRun: null };
      }
      const mine: RunJob = { id: sub.jobId, name: job.name };
      submitted.push(mine);
      let settle!: (e: StageExit) => void;
      const exited = new Promise<StageExit>((r) => {
        settle = r;
      });
      let began!: () => void;
      const running = new Promise<void>((r) => {
        began = r;
      });
      const stage: SlurmStage = { record: { jobId: sub.jobId, jobName: job.name, argv: ['sbatch', '--parsable', ...argv] }, exited, running, job: mine, settle, began, missing: 0 };
      unsettled.set(sub.jobId, stage);
      return { ok: true, stage };
    },

    async observe(watched) {
      const ids = new Set(watched.map((s) => slurm(s).job.id));
      const procs = jobProcesses(ids, user);
      return {
        // Only where the job runs on this node; elsewhere there is nothing to look at.
        members: (s) => procs.get(slurm(s).job.id) ?? null,
        leftovers: async () => null,
      };
    },

    stop: (s, mode, why) => cancel([slurm(s).job], mode, audit(why ?? 'stopped', slurm(s).job)),

    async stopAll(stages, mode, why) {
      const ids = new Set(stages.map((s) => slurm(s).job.id));
      await cancel(submitted.filter((j) => j.id !== '' && (ids.has(j.id) || unsettled.has(j.id))), mode, audit(why ?? 'run stopped'));
    },

    // Slurm's proctrack holds the job: when its batch step ends, Slurm ends the rest.
    afterExit: async () => [],

    finish: async () => undefined,

    async close(mode) {
      // Jobs whose submission timed out have no id here: squeue finds them by their name.
      const names = [...new Set(submitted.filter((j) => j.id === '').map((j) => j.name))];
      const jobs = submitted.filter((j) => j.id !== '');
      if (names.length > 0) {
        const out = await runSlurmCommand(opts.binDir ? `${opts.binDir}/squeue` : 'squeue', ['--noheader', '--format=%i', `--user=${user}`, `--name=${names.join(',')}`], call(15_000));
        for (const id of out.stdout.split('\n').map((l) => l.trim()).filter((l) => /^\d+$/.test(l))) for (const name of names) jobs.push({ id, name });
      }
      const r = await cancel(jobs, mode, audit('run ended'));
      closed = true;
      for (const [id, s] of [...unsettled]) {
        unsettled.delete(id);
        s.settle({ code: null, signal: null, error: null });
      }
      await poller;
      return { sweeps: r.found > 0 ? [r] : [], survived: r.survived };
    },

    release() {
      closed = true;
      guardian?.release();
    },
  };
}
