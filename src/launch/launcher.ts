/**
 * The launcher: one queue per GPU, each task stage in its own session/process group with the
 * run marker in its environment, inside the active containment layers, watched by a guardian.
 * A failed, timed-out or stuck task is torn down alone (whole tree, cgroup too) and the batch
 * goes on. SIGINT/SIGTERM/SIGHUP tear everything down; a second signal kills at once.
 */
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, rmSync, statfsSync, statSync, unlinkSync, writeSync } from 'node:fs';
import os, { constants as osConstants } from 'node:os';
import path from 'node:path';
import { readProcIdentity } from '../probe/proc-stat.js';
import { expandTemplate, formatDuration, placeholdersIn, type BatchConfig, type StageConfig } from './config.js';
import type { Containment, LayerInfo } from './containment.js';
import type { Executor, ExecutorStage, StageRequest } from './executor.js';
import { createLocalExecutor } from './executors/local.js';
import { errText } from './fs-error.js';
import { JournalWriter, type JournalEvent } from './journal.js';
import { Scheduler, type StageStart, type TaskResult } from './scheduler.js';
import { StuckWatch, stuckState } from './stuck.js';
import { createRunDir, newRunId, runPaths, runsDir, taskLogPaths, taskOutDir } from './paths.js';
import { isReaperError, ReaperError } from '../model/errors.js';

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

export interface GpuView {
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

export type { TaskResult } from './scheduler.js';

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

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

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
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
 * What a task needs from the file system, checked before anything starts: its working folder
 * exists and is a folder, its program resolves like execvp would to an executable regular file
 * (a folder is "executable" for access(2), but exec fails). Templates are expanded with each
 * task's own values; one that uses {gpu}, {run} or {out} is only known at launch and is skipped.
 */
export function checkPrograms(config: BatchConfig, env: NodeJS.ProcessEnv): void {
  const PATH = (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').filter(Boolean);
  const late = (tpl: string): boolean => placeholdersIn(tpl).some((p) => p === 'gpu' || p === 'run' || p === 'out');
  const isExecFile = (c: string): 'ok' | 'folder' | null => {
    try {
      const st = statSync(c);
      if (st.isDirectory()) return 'folder';
      if (!st.isFile()) return null;
      accessSync(c, constants.X_OK);
      return 'ok';
    } catch {
      return null;
    }
  };
  const seen = new Set<string>();
  for (const s of config.stages) {
    for (const t of config.tasks) {
      const vars = { ...t.vars, task: String(t.index) };
      const where = (key: string): string => `${config.file}:${s.line}: stages.${s.name}.${key}`;
      const forTask = (tpl: string): string => (placeholdersIn(tpl).length > 0 ? ` (task ${t.index})` : '');
      let cwd = config.baseDir;
      if (s.cwd !== null && !late(s.cwd)) {
        cwd = path.resolve(config.baseDir, expandTemplate(s.cwd, vars));
        if (!seen.has(`cwd\0${cwd}`)) {
          seen.add(`cwd\0${cwd}`);
          let st;
          try {
            st = statSync(cwd);
          } catch (e) {
            throw new ReaperError('CONFIG', `${where('cwd')}: no such folder${forTask(s.cwd)}: ${cwd} (${(e as NodeJS.ErrnoException).code ?? 'cannot stat'})`);
          }
          if (!st.isDirectory()) throw new ReaperError('CONFIG', `${where('cwd')}: not a folder${forTask(s.cwd)}: ${cwd}`);
          try {
            accessSync(cwd, constants.X_OK);
          } catch {
            throw new ReaperError('CONFIG', `${where('cwd')}: folder not accessible${forTask(s.cwd)}: ${cwd}`);
          }
        }
      }
      const tpl = s.cmd[0]!;
      if (late(tpl)) continue;
      const prog = expandTemplate(tpl, vars);
      // A relative path under a folder known only at launch cannot be checked now.
      if (s.cwd !== null && late(s.cwd) && prog.includes('/') && !path.isAbsolute(prog)) continue;
      const key = `prog\0${cwd}\0${prog}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (prog === '') throw new ReaperError('CONFIG', `${where('cmd')}: the program is empty${forTask(tpl)}`);
      const candidates = prog.includes('/') ? [path.resolve(cwd, prog)] : PATH.map((d) => path.resolve(cwd, d, prog));
      const found = candidates.map(isExecFile);
      if (found.includes('ok')) continue;
      if (found.includes('folder') && prog.includes('/')) throw new ReaperError('CONFIG', `${where('cmd')}: the program is a folder${forTask(tpl)}: ${prog}`);
      throw new ReaperError('CONFIG', `${where('cmd')}: program not found or not executable${forTask(tpl)}: ${prog}`);
    }
  }
}

/** Free space the state folder needs before a run starts (journal, logs, the guardian's log). */
export const MIN_STATE_FREE_BYTES = 4 * 1024 * 1024;

/**
 * Before anything starts: the state folder exists (0700), is writable and has room. A run that
 * cannot record itself must not start (its journal is what `stop`, `ls` and the guardian read).
 */
export function checkStateFolder(state: string): void {
  const dir = runsDir(state);
  const fail = (what: string): never => {
    throw new ReaperError('INTERNAL', `state folder ${dir}: ${what}; nothing was started (free space there, or point XDG_STATE_HOME elsewhere)`);
  };
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    fail(`cannot create it (${errText(e)})`);
  }
  try {
    const st = statfsSync(dir);
    const free = st.bavail * st.bsize;
    if (free < MIN_STATE_FREE_BYTES) fail(`full (${Math.floor(free / 1024)} KiB free; a run needs ${MIN_STATE_FREE_BYTES / 1024 / 1024} MiB for its journal and logs)`);
    if (st.files > 0 && st.ffree < 64) fail(`no free inodes (${st.ffree} left)`);
  } catch (e) {
    if (e instanceof ReaperError) throw e;
    /* statfs unsupported: the probe below still tells */
  }
  // statfs sees neither quotas nor a read-only bind mount: write a probe and remove it.
  const probe = path.join(dir, `.probe-${process.pid}`);
  try {
    const fd = openSync(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, Buffer.alloc(64 * 1024));
    } finally {
      closeSync(fd);
      unlinkSync(probe);
    }
  } catch (e) {
    try {
      unlinkSync(probe);
    } catch {
      /* not created */
    }
    fail(`not writable (${errText(e)})`);
  }
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
  checkStateFolder(opts.state);
  // A run id names one run: appending to another run's journal would make `stop` of one kill the other.
  if (existsSync(paths.journal)) throw new ReaperError('USAGE', `run id ${runId} is already taken (${paths.journal} exists); nothing was started`);

  // Everything before the first task can fail (a full or read-only state disk): then nothing of
  // the run is left behind, neither a guardian nor a cgroup nor a torn journal, and the error says so.
  const createdDir = !existsSync(paths.dir);
  const ex: Executor = createLocalExecutor({ containment: c, runId, state: opts.state, paths, env: baseEnv, graceMs: config.graceMs });
  let journal: JournalWriter | null = null;
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
  const self = readProcIdentity(process.pid);
  let step = 'create the run folder';
  try {
    createRunDir(opts.state, runId, { adopt: opts.detached === true }); // exclusive, 0700: a run id in use is refused
    step = 'open the journal';
    journal = new JournalWriter(paths.journal);
    const rec = ex.open((what) => {
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
      gpus: gpuLabels,
      tasks: config.tasks.map((t) => ({ task: t.index, vars: { ...t.vars } })),
      stages: config.stages.map((s) => s.name),
      graceMs: config.graceMs,
      cgroup: rec.cgroup,
      detached: opts.detached ?? false,
      host: os.hostname(),
    };
    journal.append(start);
    opts.onEvent?.(start, view);
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
  const jw = journal;
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
    const k = await ex.stop(r.handle!, mode);
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
    const p = ex.stopAll(runs.map((r) => r.handle!), mode);
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
    const outDir = taskOutDir(paths, task);
    const vars: Record<string, string> = { ...start.vars, gpu: labelOf(gpu), task: String(task), run: runId, out: outDir };
    const logs = taskLogPaths(paths, task, s.name);
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
    };
    let req: StageRequest;
    try {
      const env: NodeJS.ProcessEnv = { ...baseEnv };
      for (const [k, v] of Object.entries(config.env)) env[k] = expandTemplate(v, vars);
      for (const [k, v] of Object.entries(s.env)) env[k] = expandTemplate(v, vars);
      if (!opts.driver) env.CUDA_VISIBLE_DEVICES = String(gpu);
      env.REAPER_RUN = runId;
      env.REAPER_TASK = String(task);
      env.REAPER_STAGE = s.name;
      const cwd = s.cwd !== null ? path.resolve(config.baseDir, expandTemplate(s.cwd, vars)) : config.baseDir;
      req = { task, stage: s.name, attempt, argv: s.cmd.map((a) => expandTemplate(a, vars)), env, cwd, outDir, logs, passthrough: opts.driver?.passthrough ?? null };
    } catch (e) {
      endStage(r, 'failed', 'spawn', `cannot start: ${(e as Error).message}`, null, null);
      return;
    }
    const started = ex.start(req);
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
      const { pid, startTime, pgid, cgroup, argv } = h.record;
      emit({ ev: 'task-start', t: r.startedAtMs, task, stage: s.name, attempt, gpu: labelOf(gpu), pid, startTime, pgid, cgroup, argv: argv.map((a) => a.slice(0, 500)), stdout: logs.stdout, stderr: logs.stderr });
      if (s.timeoutMs !== null) r.timer = setLongTimeout(() => stopStage(r, 'timeout', `timeout ${formatDuration(s.timeoutMs!)}`), s.timeoutMs);
      if (interrupted || failure) stopStage(r, 'interrupted', stopWhy());
    }
    const res = await h.exited;
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
  const anyFailed = tasks.some((t) => t.status === 'failed');
  const state: RunOutcome['state'] = interrupted ? 'interrupted' : anyFailed || failure ? 'failed' : 'finished';
  const exitCode = interrupted
    ? (SIGNAL_EXIT[interrupted] ?? 1)
    : failure
      ? 1
      : driverExit !== null
        ? driverExit === 0 && survivors > 0
          ? 1
          : driverExit
        : anyFailed || survivors > 0
          ? 1
          : 0;
  const error = failure === null ? null : `${failure}: the run was torn down, ${survivors === 0 ? 'nothing of it is left' : `${survivors} process(es) SURVIVED`}`;
  emit({
    ev: 'run-end',
    t: Date.now(),
    state,
    by: 'launcher',
    detail: interrupted ? `interrupted by ${interrupted}` : error ? error : anyFailed ? `${tasks.filter((t) => t.status === 'failed').length} of ${tasks.length} tasks failed` : null,
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
