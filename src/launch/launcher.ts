/**
 * The launcher runs a batch: it writes the run's journal, asks the scheduler (scheduler.ts) what
 * starts next, hands each stage to the executor (executor.ts; executors/local.ts runs it in its
 * own process group inside the containment layers, watched by a guardian), and applies what is
 * the same on every executor: timeouts, the stuck rule, retries, the run's verdict. A failed,
 * timed-out or stuck task is torn down alone and the batch goes on. SIGINT/SIGTERM/SIGHUP (or
 * a journal that cannot be written) tear everything down; a second signal kills at once.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os, { constants as osConstants } from 'node:os';
import path from 'node:path';
import { readProcIdentity } from '../probe/proc-stat.js';
import { expandTemplate, formatDuration, type BatchConfig, type StageConfig } from './config.js';
import type { Containment, LayerInfo } from './containment.js';
import { isSlurmRecord, type Executor, type ExecutorStage, type StageRequest } from './executor.js';
import { createLocalExecutor } from './executors/local.js';
import { createSlurmExecutor } from './executors/slurm.js';
import { errText } from './fs-error.js';
import { JournalWriter, type JournalEvent } from './journal.js';
import { checkStateFolder } from './preflight.js';
import { Scheduler, type StageStart, type TaskResult } from './scheduler.js';
import { StuckWatch, stuckState } from './stuck.js';
import { runVerdict } from './verdict.js';
import { newRunId, runPaths, taskLogPaths, taskOutDir, type RunPaths } from './paths.js';
import { createRunDir } from './run-dir.js';
import { isReaperError, ReaperError } from '../model/errors.js';
import { sleep } from '../model/sleep.js';

export interface LaunchOptions {
  readonly state: string;
  /** GPU indices the batch runs on (already resolved against the machine). */
  readonly gpus: readonly number[];
  readonly containment: Containment;
  readonly runId?: string;
  /** Base environment of every task (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  readonly detached?: boolean;
  /** Install SIGINT/SIGTERM/SIGHUP handlers (the CLI does; tests driving launchRun in-process may not). */
  readonly handleSignals?: boolean;
  /** Called for every journal event, after it is written. */
  readonly onEvent?: (e: JournalEvent, view: RunView) => void;
  /** Aborting tears the run down like SIGTERM (programmatic stop). */
  readonly signal?: AbortSignal;
  /** The batch is one existing driver command run as it is (`reaper run -- CMD`): see DriverOptions. */
  readonly driver?: DriverOptions;
  /** Slurm executor knobs (tests): squeue interval, no guardian. */
  readonly slurm?: { readonly pollMs?: number; readonly guardian?: boolean };
}

/**
 * A driver keeps the GPUs it was given by the caller's environment (CUDA_VISIBLE_DEVICES is not
 * set: it places its own workers) and its output can also go live to the caller (the log files
 * still get every byte). Its exit status becomes the run's exit code.
 */
export interface DriverOptions {
  /** How the run's one queue is shown ("0,1", or "-" without GPUs). */
  readonly gpuLabel: string;
  /** Live copies of the driver's stdout and stderr; null: the log files only. */
  readonly passthrough: { stdout(chunk: Buffer): void; stderr(chunk: Buffer): void } | null;
}

interface GpuView {
  readonly gpu: string;
  done: number;
  running: number;
  failed: number;
}

export interface RunView {
  readonly runId: string;
  readonly startedAtMs: number;
  readonly total: number;
  readonly gpus: GpuView[];
  succeeded: number;
  failed: number;
  running: number;
  interrupted: string | null;
}

;
export { checkPrograms, checkStateFolder,  } from './preflight.js';

export interface RunOutcome {
  readonly runId: string;
  readonly dir: string;
  readonly state: 'finished' | 'failed' | 'interrupted';
  readonly exitCode: number;
  readonly signal: string | null;
  readonly tasks: readonly TaskResult[];
  /** Processes of the run still alive after the final sweep (should be 0). */
  readonly survivors: number;
  readonly layers: readonly LayerInfo[];
  readonly durationMs: number;
  /** Why the run was aborted by reaper itself (its journal could not be written), or null. */
  readonly error: string | null;
}

interface StageRun {
  readonly start: StageStart;
  readonly task: number;
  readonly stage: StageConfig;
  readonly gpu: number;
  readonly attempt: number;
  /** The stage as its executor runs it; null until it started. */
  handle: ExecutorStage | null;
  reason: 'timeout' | 'stuck' | 'interrupted' | null;
  reasonDetail: string | null;
  teardownP: Promise<unknown> | null;
  startedAtMs: number;
  timer: LongTimer | null;
  stuck: StuckWatch;
  /** Its leader exited (no timer may be armed after that). */
  ended: boolean;
}


/** Node's timers fire at once above 2^31-1 ms (24.8 days): longer delays are chained. */
const MAX_TIMER_MS = 2_147_483_647;
export interface LongTimer {
  clear(): void;
}
export function setLongTimeout(fn: () => void, ms: number): LongTimer {
  let t: NodeJS.Timeout;
  const due = Date.now() + ms;
  const arm = (): void => {
    const left = due - Date.now();
    if (left <= MAX_TIMER_MS) t = setTimeout(fn, Math.max(0, left));
    else t = setTimeout(arm, MAX_TIMER_MS);
  };
  arm();
  return { clear: () => clearTimeout(t) };
}

function readWchan(pid: number): string | null {
  try {
    const w = readFileSync(`/proc/${pid}/wchan`, 'utf8').trim();
    return w && w !== '0' ? w : null;
  } catch {
    return null;
  }
}

/**
 * Everything before the first task: the state folder has room, the run id is free, the run
 * folder (exclusive, 0700), the journal, what the executor holds for the run, the run-start
 * record. Any of it can fail (a full or read-only state disk): then nothing of the run is left
 * behind, neither a guardian nor a cgroup nor a torn journal, and the error says which step.
 */
async function openRunRecord(config: BatchConfig, opts: LaunchOptions, run: { runId: string; paths: RunPaths; ex: Executor; gpuLabels: string[] }, onStart: (e: JournalEvent) => void): Promise<JournalWriter> {
  const { runId, paths, ex } = run;
  checkStateFolder(opts.state);
  const createdDir = !existsSync(paths.dir);
  const self = readProcIdentity(process.pid);
  let journal: JournalWriter | null = null;
  let step = 'create the run folder';
  try {
    // Exclusive and 0700: a run id names one run (sharing one would make `stop` of one kill the other).
    createRunDir(opts.state, runId, { adopt: opts.detached === true });
    step = 'open the journal';
    journal = new JournalWriter(paths.journal);
    const rec = await ex.open((what) => {
      step = what;
    });
    step = 'write the journal';
    const start: JournalEvent = {
      ev: 'run-start',
      t: Date.now(),
      run: runId,
      name: config.name,
      file: config.file,
      launcher: { pid: process.pid, startTime: self?.startTime ?? 0 },
      guardian: rec.guardian,
      layers: rec.layers,
      gpus: run.gpuLabels,
      tasks: config.tasks.map((t) => ({ task: t.index, vars: { ...t.vars } })),
      stages: config.stages.map((s) => s.name),
      graceMs: config.graceMs,
      cgroup: rec.cgroup,
      detached: opts.detached ?? false,
      host: os.hostname(),
      ...(config.backend === 'slurm' ? { backend: 'slurm' as const } : {}),
    };
    journal.append(start);
    onStart(start);
    return journal;
  } catch (e) {
    // The guardian finds no start record when its lifeline closes and does nothing.
    ex.release();
    journal?.close();
    if (createdDir && !opts.detached) {
      try {
        rmSync(paths.dir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
    if (isReaperError(e)) throw e; // already one clear line (a run id in use, an unsafe state folder)
    throw new ReaperError('INTERNAL', `cannot ${step} of run ${runId} under ${paths.dir}: ${errText(e)}; nothing was started`);
  }
}

/**
 * What one stage runs, expanded: placeholders in its argv, environment and folder; the run
 * marker and (unless it is a driver, which places its own workers) its GPU in its environment.
 * Throws on an unknown placeholder.
 */
function stageRequest(config: BatchConfig, start: StageStart, run: { runId: string; paths: RunPaths; baseEnv: NodeJS.ProcessEnv; gpuLabel: string; driver: DriverOptions | null }): StageRequest {
  const onSlurm = config.backend === 'slurm';
  const { task, stage: s, slot, attempt } = start;
  const outDir = taskOutDir(run.paths, task);
  const vars: Record<string, string> = { ...start.vars, gpu: run.gpuLabel, task: String(task), run: run.runId, out: outDir };
  const argv = s.cmd.map((a) => expandTemplate(a, vars));
  const env: NodeJS.ProcessEnv = { ...run.baseEnv };
  for (const [k, v] of Object.entries(config.env)) env[k] = expandTemplate(v, vars);
  for (const [k, v] of Object.entries(s.env)) env[k] = expandTemplate(v, vars);
  // On Slurm the job's GPU is Slurm's to pick (it sets CUDA_VISIBLE_DEVICES inside the job).
  if (!run.driver && !onSlurm) env.CUDA_VISIBLE_DEVICES = String(slot);
  env.REAPER_RUN = run.runId;
  env.REAPER_TASK = String(task);
  env.REAPER_STAGE = s.name;
  const cwd = s.cwd !== null ? path.resolve(config.baseDir, expandTemplate(s.cwd, vars)) : config.baseDir;
  return { task, stage: s.name, attempt, argv, env, cwd, outDir, logs: taskLogPaths(run.paths, task, s.name), passthrough: run.driver?.passthrough ?? null, timeoutMs: s.timeoutMs, slurm: s.slurm };
}

export async function launchRun(config: BatchConfig, opts: LaunchOptions): Promise<RunOutcome> {
  const t0 = Date.now();
  const runId = opts.runId ?? newRunId();
  const paths = runPaths(opts.state, runId);
  const c = opts.containment;
  const baseEnv = { ...(opts.env ?? process.env) };
  for (const k of ['REAPER_RUN', 'REAPER_TASK', 'REAPER_STAGE']) delete baseEnv[k];
  const gpuLabels = opts.driver ? [opts.driver.gpuLabel] : opts.gpus.map(String);
  const labelOf = (gpu: number): string => gpuLabels[opts.gpus.indexOf(gpu)] ?? String(gpu);
  const ex: Executor =
    config.backend === 'slurm'
      ? createSlurmExecutor({ runId, state: opts.state, paths, env: baseEnv, graceMs: config.graceMs, ...(opts.slurm?.pollMs ? { pollMs: opts.slurm.pollMs } : {}), ...(opts.slurm?.guardian === false ? { guardian: false } : {}) })
      : createLocalExecutor({ containment: c, runId, state: opts.state, paths, env: baseEnv, graceMs: config.graceMs });
  const view: RunView = {
    runId,
    startedAtMs: t0,
    total: config.tasks.length,
    gpus: gpuLabels.map((g) => ({ gpu: g, done: 0, running: 0, failed: 0 })),
    succeeded: 0,
    failed: 0,
    running: 0,
    interrupted: null,
  };
  const jw = await openRunRecord(config, opts, { runId, paths, ex, gpuLabels }, (start) => opts.onEvent?.(start, view));
  const sched = new Scheduler(config, opts.gpus);
  const gv = (gpu: number): GpuView => view.gpus[opts.gpus.indexOf(gpu)]!;
  /** First journal write failure: the run is torn down (containment never depends on the journal). */
  let failure: string | null = null;
  /** The driver's own exit status (128+N for a signal), when the run is a driver. */
  let driverExit: number | null = null;
  let onFailure: () => void = () => undefined;
  const abortRun = (why: string): void => {
    if (failure !== null) return;
    failure = why;
    sched.stop();
    onFailure();
  };
  const emit = (e: JournalEvent): void => {
    try {
      jw.append(e);
    } catch (err) {
      abortRun(`cannot write the journal ${paths.journal} (${errText(err)})`);
    }
    opts.onEvent?.(e, view);
  };

  const active = new Set<StageRun>();
  let interrupted: NodeJS.Signals | null = null;
  let killNowRequested = false;
  let teardownAllP: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  const poke = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };

  // ---- stuck watcher ----
  const stuckPoll = Math.max(200, Math.min(1000, Math.floor(config.stuck.afterMs / 4)));
  let watching = true;
  const watch = async (): Promise<void> => {
    while (watching) {
      await sleep(stuckPoll);
      if (!watching) continue;
      const runs = [...active].filter((r) => !r.reason);
      const seen = await ex.observe(runs.map((r) => r.handle!));
      const now = Date.now();
      for (const r of runs) {
        const members = seen.members(r.handle!);
        if (!members) continue;
        for (const { member: p, forMs } of r.stuck.look(members, now)) {
          const what = stuckState(p.state, p.state === 'D' ? (p.wchan ?? readWchan(p.pid)) : null);
          emit({ ev: 'task-stuck', t: now, task: r.task, stage: r.stage.name, pid: p.pid, state: p.state, forMs, cmd: p.cmd.slice(0, 200), action: config.stuck.action });
          if (config.stuck.action === 'fail') stopStage(r, 'stuck', `stuck: pid ${p.pid} ${what} ${formatDuration(forMs)}`);
        }
      }
      const left = await seen.leftovers(new Set([...active].map((r) => r.task)));
      if (left) emit({ ev: 'sweep', t: Date.now(), scope: 'escapees of finished stages', ...left });
    }
  };

  // ---- teardown ----
  const teardownStage = async (r: StageRun, mode: 'term' | 'kill'): Promise<void> => {
    const k = await ex.stop(r.handle!, mode, r.reasonDetail ?? r.reason ?? undefined);
    emit({ ev: 'sweep', t: Date.now(), scope: `task ${r.task} ${r.stage.name}`, ...k });
  };
  const stopStage = (r: StageRun, reason: 'timeout' | 'stuck' | 'interrupted', detail: string): void => {
    if (r.reason) return;
    r.reason = reason;
    r.reasonDetail = detail;
    r.timer?.clear();
    if (reason !== 'interrupted') r.teardownP = teardownStage(r, 'term');
  };
  /** After a stage's leader exited: whatever of it is left is a leftover. */
  const sweepAfterExit = async (r: StageRun): Promise<void> => {
    for (const k of await ex.afterExit(r.handle!)) if (k.found > 0) emit({ ev: 'sweep', t: Date.now(), scope: `task ${r.task} ${r.stage.name}`, ...k });
  };
  const teardownAll = (mode: 'term' | 'kill'): Promise<void> => {
    const runs = [...active];
    for (const r of runs) stopStage(r, 'interrupted', stopWhy());
    const p = ex.stopAll(runs.map((r) => r.handle!), mode, `${stopWhy()}${mode === 'kill' ? ' (kill now)' : ''}`);
    for (const r of runs) r.teardownP = p;
    return p;
  };
  /** Why stages are stopped and pending tasks never start. */
  const stopWhy = (): string => (interrupted ? `interrupted by ${interrupted}` : failure ? `run aborted: ${failure}` : 'interrupted');
  onFailure = (): void => {
    if (interrupted || teardownAllP) return;
    teardownAllP = teardownAll('term');
    poke();
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) {
      // A hung-up terminal delivers SIGHUP more than once (the kernel to the session leader, the
      // shell to its jobs): only a person asking again (Ctrl+C twice, a second stop) means "kill now".
      if (killNowRequested || sig === 'SIGHUP') return;
      killNowRequested = true;
      emit({ ev: 'signal', t: Date.now(), signal: sig, action: 'kill now' });
      void teardownAll('kill');
      return;
    }
    interrupted = sig;
    sched.stop();
    view.interrupted = sig;
    emit({ ev: 'signal', t: Date.now(), signal: sig, action: `tear down (grace ${formatDuration(config.graceMs)})` });
    teardownAllP = teardownAll('term');
    poke();
  };
  const sigHandlers: Array<[NodeJS.Signals, () => void]> = [];
  if (opts.handleSignals) {
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      const h = (): void => onSignal(s);
      process.on(s, h);
      sigHandlers.push([s, h]);
    }
  }
  const onAbort = (): void => onSignal('SIGTERM');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onSignal('SIGTERM');

  // ---- one stage ----
  const runStage = async (start: StageStart): Promise<void> => {
    const { task, stage: s, slot: gpu, attempt } = start;
    const r: StageRun = {
      start,
      task,
      stage: s,
      gpu,
      attempt,
      handle: null,
      reason: null,
      reasonDetail: null,
      teardownP: null,
      startedAtMs: Date.now(),
      timer: null,
      stuck: new StuckWatch(config.stuck.afterMs),
      ended: false,
    };
    let req: StageRequest;
    try {
      req = stageRequest(config, start, { runId, paths, baseEnv, gpuLabel: labelOf(gpu), driver: opts.driver ?? null });
    } catch (e) {
      endStage(r, 'failed', 'spawn', `cannot start: ${(e as Error).message}`, null, null);
      return;
    }
    const started = await ex.start(req);
    if (!started.ok) {
      endStage(r, 'failed', 'spawn', started.detail, null, null);
      if (started.abortRun !== null) abortRun(started.abortRun);
      return;
    }
    const h = started.stage;
    r.handle = h;
    if (h.record) {
      active.add(r);
      view.running++;
      gv(gpu).running++;
      const rec = h.record;
      const argv = rec.argv.map((a) => a.slice(0, 500));
      const logs = { stdout: req.logs.stdout, stderr: req.logs.stderr };
      // A Slurm job has no pid here: the job id is what stop, the guardian and show act on.
      if (isSlurmRecord(rec)) emit({ ev: 'task-start', t: r.startedAtMs, task, stage: s.name, attempt, gpu: labelOf(gpu), pid: 0, startTime: null, pgid: 0, cgroup: null, argv, ...logs, job: { id: rec.jobId, name: rec.jobName } });
      else emit({ ev: 'task-start', t: r.startedAtMs, task, stage: s.name, attempt, gpu: labelOf(gpu), pid: rec.pid, startTime: rec.startTime, pgid: rec.pgid, cgroup: rec.cgroup, argv, ...logs });
      if (s.timeoutMs !== null) {
        const arm = (): void => {
          if (r.reason || r.ended) return;
          r.timer = setLongTimeout(() => stopStage(r, 'timeout', `timeout ${formatDuration(s.timeoutMs!)}`), s.timeoutMs!);
        };
        // A queued Slurm job's time in the queue is not its run time.
        if (h.running) void h.running.then(arm);
        else arm();
      }
      if (interrupted || failure) {
        stopStage(r, 'interrupted', stopWhy());
        // Started after the run-wide teardown was launched (several stages start in one tick):
        // that teardown did not see it, so it is torn down on its own.
        if (teardownAllP && !r.teardownP) r.teardownP = ex.stopAll([h], killNowRequested ? 'kill' : 'term', stopWhy());
      }
    }
    const res = await h.exited;
    r.ended = true;
    r.timer?.clear();
    if (r.teardownP) await r.teardownP;
    else if (!res.error) await sweepAfterExit(r);
    if (h.record) {
      active.delete(r);
      view.running--;
      gv(gpu).running--;
    }
    await ex.finish(h);
    if (opts.driver) driverExit = res.error ? 127 : r.reason === 'timeout' ? 124 : res.code ?? 128 + (res.signal ? (osConstants.signals[res.signal] ?? 0) : 0);
    if (res.error) endStage(r, 'failed', 'spawn', `cannot start: ${res.error.message}`, null, null);
    else if (r.reason === 'interrupted') endStage(r, 'cancelled', 'interrupted', r.reasonDetail, res.code, res.signal);
    else if (r.reason) endStage(r, 'failed', r.reason, r.reasonDetail, res.code, res.signal);
    else if (res.code === 0) endStage(r, 'succeeded', 'exit', null, 0, null);
    else if (res.signal) endStage(r, 'failed', 'signal', `signal ${res.signal}`, null, res.signal);
    else endStage(r, 'failed', 'exit', `exit ${res.code ?? '?'}`, res.code, null);
  };

  const endStage = (r: StageRun, status: 'succeeded' | 'failed' | 'cancelled', reason: string, detail: string | null, code: number | null, signal: string | null): void => {
    const next = sched.ended(r.start, { status, reason, detail });
    emit({
      ev: 'task-end',
      t: Date.now(),
      task: r.task,
      stage: r.stage.name,
      attempt: r.attempt,
      gpu: labelOf(r.gpu),
      status,
      reason,
      detail,
      code,
      signal,
      durationMs: Date.now() - r.startedAtMs,
      willRetry: next.willRetry,
    });
    // The task is failed; stages that do not depend on the failed one still run.
    for (const k of next.skipped) emit({ ev: 'task-skip', t: Date.now(), task: r.task, stage: k.stage, detail: k.detail });
    if (next.finished === 'failed') {
      gv(r.gpu).failed++;
      view.failed++;
    } else if (next.finished === 'succeeded') {
      gv(r.gpu).done++;
      view.succeeded++;
    }
  };

  // ---- main loop ----
  const watcher = watch();
  const running = new Set<Promise<void>>();
  for (;;) {
    for (const start of sched.next()) {
      const p: Promise<void> = runStage(start).finally(() => {
        running.delete(p);
        poke();
      });
      running.add(p);
    }
    if (running.size === 0) break;
    await new Promise<void>((r) => {
      wake = r;
    });
  }
  watching = false;
  if (teardownAllP) await teardownAllP;

  // ---- final sweep: nothing of the run may survive ----
  const end = await ex.close(interrupted && killNowRequested ? 'kill' : 'term');
  for (const k of end.sweeps) emit({ ev: 'sweep', t: Date.now(), scope: 'run', ...k });
  const survivors = end.survived;
  await watcher;

  const tasks = sched.results(interrupted || failure ? stopWhy() : null);
  const { state, exitCode, error, detail } = runVerdict({ interrupted, failure, driverExit, tasks, survivors });
  emit({
    ev: 'run-end',
    t: Date.now(),
    state,
    by: 'launcher',
    detail,
    exitCode,
    survivors,
  });
  jw.close();
  ex.release();
  for (const [s, h] of sigHandlers) process.off(s, h);
  opts.signal?.removeEventListener('abort', onAbort);

  return {
    runId,
    dir: paths.dir,
    state,
    exitCode,
    signal: interrupted,
    error,
    tasks,
    survivors,
    layers: c.layers,
    durationMs: Date.now() - t0,
  };
}
