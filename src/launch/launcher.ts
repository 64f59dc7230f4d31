/**
 * The launcher: one queue per GPU, each task stage in its own session/process group with the
 * run marker in its environment, inside the active containment layers, watched by a guardian.
 * A failed, timed-out or stuck task is torn down alone (whole tree, cgroup too) and the batch
 * goes on. SIGINT/SIGTERM/SIGHUP tear everything down; a second signal kills at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, rmSync, statfsSync, statSync, unlinkSync, writeSync } from 'node:fs';
import os, { constants as osConstants } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { teardown } from '../actions/index.js';
import type { ProcKey } from '../model/proc.js';
import { createProcScanner, type ProcScanner } from '../probe/snapshot.js';
import { readProcIdentity } from '../probe/proc-stat.js';
import type { Snapshot } from '../model/snapshot.js';
import { expandTemplate, formatDuration, placeholdersIn, type BatchConfig, type StageConfig } from './config.js';
import * as contain from './containment.js';
import type { Containment, LayerInfo, Member, RunScope, StageScope } from './containment.js';
import { JournalWriter, type JournalEvent } from './journal.js';
import { Scheduler, type StageStart, type TaskResult } from './scheduler.js';
import { survivedOf } from './layers/layer.js';
import { createRunDir, newRunId, runPaths, runsDir, taskLogPaths, taskOutDir, type RunPaths } from './paths.js';
import { isReaperError, ReaperError } from '../model/errors.js';

export interface LaunchOptions {
  readonly state: string;
  /** GPU indices the batch runs on (already resolved against the machine). */
  readonly gpus: readonly number[];
  readonly containment: Containment;
  readonly runId?: string;
  /** Base environment of every task (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  readonly simulated?: boolean;
  readonly detached?: boolean;
  /** Install SIGINT/SIGTERM/SIGHUP handlers (the CLI does; tests driving launchRun in-process may not). */
  readonly handleSignals?: boolean;
  /** Called for every journal event, after it is written. */
  readonly onEvent?: (e: JournalEvent, view: RunView) => void;
  /** Called once, right after the run record exists (before any task starts). */
  readonly onStarted?: (runId: string, paths: RunPaths) => void;
  /** How often task members are checked for T/D (default: min(1 s, stuck.after / 4)). */
  readonly stuckPollMs?: number;
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
  /** What the containment layers know of the stage (its process group, its cgroup). */
  readonly scope: StageScope;
  child: ChildProcess | null;
  leader: ProcKey | null;
  reason: 'timeout' | 'stuck' | 'interrupted' | null;
  reasonDetail: string | null;
  teardownP: Promise<unknown> | null;
  startedAtMs: number;
  timer: LongTimer | null;
  stuckSeen: Map<string, number>;
  stuckWarned: Set<string>;
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

/** "ENOSPC: no space left on device" from a Node fs error (without the syscall and path). */
function errText(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/, \w+ '.*'$/, '').replace(/, \w+$/, '');
}

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

/**
 * Copies a driver's output to its log files and, live, to the caller. A log that cannot be
 * written any more (state disk full) is given up with one line; the live copy goes on.
 */
function teeOutput(out: Readable, err: Readable, outFd: number, errFd: number, live: NonNullable<DriverOptions['passthrough']>, logs: string): Promise<void> {
  let logOk = true;
  const pump = (src: Readable, fd: number, show: (b: Buffer) => void): Promise<void> =>
    new Promise((resolve) => {
      src.on('data', (chunk: Buffer) => {
        show(chunk);
        if (!logOk) return;
        try {
          writeSync(fd, chunk);
        } catch (e) {
          logOk = false;
          live.stderr(Buffer.from(`reaper: cannot write the driver's log under ${logs} (${errText(e)}); output goes to the terminal only\n`));
        }
      });
      src.on('error', () => resolve());
      src.on('close', () => resolve());
    });
  return Promise.all([pump(out, outFd, (b) => live.stdout(b)), pump(err, errFd, (b) => live.stderr(b))]).then(() => {
    closeSync(outFd);
    closeSync(errFd);
  });
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
  const run: RunScope = { runId, state: opts.state, paths, env: baseEnv, graceMs: config.graceMs, cgroup: null, guardian: null };
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
  const layers = c.layers.map((l) => ({ id: l.id, active: l.active, detail: l.detail }));
  let step = 'create the run folder';
  try {
    createRunDir(opts.state, runId, { adopt: opts.detached === true }); // exclusive, 0700: a run id in use is refused
    step = 'open the journal';
    journal = new JournalWriter(paths.journal);
    contain.openRun(c, run, (what) => {
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
      guardian: run.guardian?.key ?? null,
      layers,
      gpus: gpuLabels,
      tasks: config.tasks.map((t) => ({ task: t.index, vars: { ...t.vars } })),
      stages: config.stages.map((s) => s.name),
      graceMs: config.graceMs,
      cgroup: run.cgroup,
      detached: opts.detached ?? false,
      host: os.hostname(),
    };
    journal.append(start);
    opts.onEvent?.(start, view);
  } catch (e) {
    // The guardian finds no start record when its lifeline closes and does nothing.
    contain.closeRun(run);
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
  opts.onStarted?.(runId, paths);

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
  const scanner: ProcScanner = createProcScanner({ readFds: false });
  const stuckPoll = opts.stuckPollMs ?? Math.max(200, Math.min(1000, Math.floor(config.stuck.afterMs / 4)));
  let watching = true;
  const watch = async (): Promise<void> => {
    while (watching) {
      await sleep(stuckPoll);
      if (!watching) continue;
      const runs = [...active].filter((r) => !r.reason);
      // The layers hold some stages' members (a cgroup); the others, and escapees when no layer
      // holds every process, need a /proc scan.
      const held = new Map(runs.map((r) => [r, contain.stageMembers(r.scope)]));
      const sweepEscapees = !contain.holdsEveryProcess(c);
      let snap: Snapshot | null = null;
      if (sweepEscapees || [...held.values()].some((m) => m === null)) {
        try {
          snap = await scanner.scan();
        } catch {
          snap = null;
        }
      }
      const now = Date.now();
      for (const r of runs) {
        let members: Member[];
        const h = held.get(r);
        if (h) members = h;
        else if (snap) members = snap.processes.filter((p) => (p.runId === runId && p.taskId === String(r.task)) || (p.pgid === r.scope.pgid && r.scope.pgid > 1));
        else continue;
        const present = new Set<string>();
        for (const p of members) {
          if (p.state !== 'T' && p.state !== 't' && p.state !== 'D') continue;
          const key = `${p.pid}:${p.startTime}:${p.state}`;
          present.add(key);
          const since = r.stuckSeen.get(key) ?? now;
          r.stuckSeen.set(key, since);
          const forMs = now - since;
          if (forMs >= config.stuck.afterMs && !r.stuckWarned.has(key)) {
            r.stuckWarned.add(key);
            const wchan = p.state === 'D' ? (p.wchan ?? readWchan(p.pid)) : null;
            const what = p.state === 'D' ? `in D (${wchan ?? 'uninterruptible'})` : p.state === 't' ? 'traced (t)' : 'stopped (T)';
            emit({ ev: 'task-stuck', t: now, task: r.task, stage: r.stage.name, pid: p.pid, state: p.state, forMs, cmd: p.cmd.slice(0, 200), action: config.stuck.action });
            if (config.stuck.action === 'fail') stopStage(r, 'stuck', `stuck: pid ${p.pid} ${what} ${formatDuration(forMs)}`);
          }
        }
        for (const k of [...r.stuckSeen.keys()]) if (!present.has(k)) r.stuckSeen.delete(k);
      }
      // Without a kernel layer, escapees of a finished stage (left the group, kept the marker) are
      // found here: marked processes of tasks that have no stage running are leftovers.
      if (snap && sweepEscapees) {
        const activeTasks = new Set([...active].map((r) => String(r.task)));
        const orphans = snap.processes.filter((p) => p.runId === runId && p.state !== 'Z' && (p.taskId === null || !activeTasks.has(p.taskId)));
        if (orphans.length > 0) {
          const res = await teardown({ roots: orphans.map((p) => ({ pid: p.pid, startTime: p.startTime })), mode: 'term', graceMs: config.graceMs });
          emit({ ev: 'sweep', t: Date.now(), scope: 'escapees of finished stages', found: res.length, survived: res.filter((x) => x.outcome === 'survived').length, cgroupKilled: false });
        }
      }
    }
  };

  // ---- teardown ----
  const rootsOf = (runs: Iterable<StageRun>): ProcKey[] => [...runs].flatMap((r) => (r.leader ? [r.leader] : []));
  const taskMembers = async (taskIndex: number): Promise<ProcKey[]> => {
    try {
      const snap = await scanner.scan();
      return snap.processes.filter((p) => p.runId === runId && p.taskId === String(taskIndex)).map((p) => ({ pid: p.pid, startTime: p.startTime }));
    } catch {
      return [];
    }
  };
  const teardownStage = async (r: StageRun, mode: 'term' | 'kill'): Promise<void> => {
    const roots = [...rootsOf([r]), ...(await taskMembers(r.task))];
    const res = await teardown({ roots, pgids: r.scope.pgid > 1 ? [r.scope.pgid] : [], mode, graceMs: config.graceMs });
    let found = res.length;
    let survived = survivedOf(res);
    let cgroupKilled = false;
    for (const k of await contain.stopStage(r.scope)) {
      found += k.found;
      survived += k.survived;
      cgroupKilled ||= k.cgroupKilled;
    }
    emit({ ev: 'sweep', t: Date.now(), scope: `task ${r.task} ${r.stage.name}`, found, survived, cgroupKilled });
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
    for (const k of await contain.afterStage(c, run, r.scope)) if (k.found > 0) emit({ ev: 'sweep', t: Date.now(), scope: `task ${r.task} ${r.stage.name}`, ...k });
  };
  const teardownAll = (mode: 'term' | 'kill'): Promise<void> => {
    const runs = [...active];
    for (const r of runs) stopStage(r, 'interrupted', stopWhy());
    const p = contain.stopRun(run, mode, () => teardown({ runId, roots: rootsOf(runs), pgids: runs.map((r) => r.scope.pgid).filter((g) => g > 1), mode, graceMs: mode === 'kill' ? 0 : config.graceMs }));
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
      scope: { task, stage: s.name, attempt, pgid: 0, cgroup: null },
      child: null,
      leader: null,
      reason: null,
      reasonDetail: null,
      teardownP: null,
      startedAtMs: Date.now(),
      timer: null,
      stuckSeen: new Map(),
      stuckWarned: new Set(),
    };
    let argv: string[];
    let env: NodeJS.ProcessEnv;
    let cwd: string;
    let outFd: number;
    let errFd: number;
    try {
      mkdirSync(outDir, { recursive: true, mode: 0o700 });
      outFd = openSync(logs.stdout, 'a', 0o600);
      try {
        errFd = openSync(logs.stderr, 'a', 0o600);
      } catch (e) {
        closeSync(outFd);
        throw e;
      }
    } catch (e) {
      // The state disk failed under the run (full, read-only): this stage cannot start, and a run
      // that cannot record itself is torn down.
      const why = `cannot write task logs under ${paths.logs} (${errText(e)})`;
      endStage(r, 'failed', 'spawn', `cannot start: ${why}`, null, null);
      abortRun(why);
      return;
    }
    try {
      const cmd = s.cmd.map((a) => expandTemplate(a, vars));
      env = { ...baseEnv };
      for (const [k, v] of Object.entries(config.env)) env[k] = expandTemplate(v, vars);
      for (const [k, v] of Object.entries(s.env)) env[k] = expandTemplate(v, vars);
      if (!opts.driver) env.CUDA_VISIBLE_DEVICES = String(gpu);
      env.REAPER_RUN = runId;
      env.REAPER_TASK = String(task);
      env.REAPER_STAGE = s.name;
      cwd = s.cwd !== null ? path.resolve(config.baseDir, expandTemplate(s.cwd, vars)) : config.baseDir;
      contain.openStage(c, run, r.scope);
      argv = contain.wrapArgv(c, cmd, r.scope.cgroup);
    } catch (e) {
      closeSync(outFd);
      closeSync(errFd);
      endStage(r, 'failed', 'spawn', `cannot start: ${(e as Error).message}`, null, null);
      return;
    }
    let child: ChildProcess;
    // stdin is /dev/null and the task has its own session (no controlling terminal): nothing it
    // starts can read or write a terminal, so nothing of it is ever stopped by SIGTTIN/SIGTTOU.
    const tee = opts.driver?.passthrough ?? null;
    try {
      child = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: tee ? ['ignore', 'pipe', 'pipe'] : ['ignore', outFd, errFd] });
    } catch (e) {
      closeSync(outFd);
      closeSync(errFd);
      endStage(r, 'failed', 'spawn', `cannot start: ${(e as Error).message}`, null, null);
      return;
    }
    let piped: Promise<void> = Promise.resolve();
    if (tee && child.stdout && child.stderr) piped = teeOutput(child.stdout, child.stderr, outFd, errFd, tee, paths.logs);
    else {
      closeSync(outFd);
      closeSync(errFd);
    }
    r.child = child;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error: Error | null }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('exit', (code, signal) => resolve({ code, signal, error: null }));
    });
    if (child.pid !== undefined) {
      const id = readProcIdentity(child.pid);
      r.leader = { pid: child.pid, startTime: id?.startTime ?? 0 };
      r.scope.pgid = child.pid;
      active.add(r);
      view.running++;
      gv(gpu).running++;
      emit({
        ev: 'task-start',
        t: r.startedAtMs,
        task,
        stage: s.name,
        attempt,
        gpu: labelOf(gpu),
        pid: child.pid,
        startTime: id?.startTime ?? null,
        pgid: child.pid,
        cgroup: r.scope.cgroup,
        argv: argv.map((a) => a.slice(0, 500)),
        stdout: logs.stdout,
        stderr: logs.stderr,
      });
      if (s.timeoutMs !== null) r.timer = setLongTimeout(() => stopStage(r, 'timeout', `timeout ${formatDuration(s.timeoutMs!)}`), s.timeoutMs);
      if (interrupted || failure) stopStage(r, 'interrupted', stopWhy());
    }
    const res = await exited;
    r.timer?.clear();
    if (r.teardownP) await r.teardownP;
    else if (!res.error) await sweepAfterExit(r);
    if (child.pid !== undefined) {
      active.delete(r);
      view.running--;
      gv(gpu).running--;
    }
    contain.closeStage(r.scope);
    // Everything of the stage is gone, so its pipes have closed: the last output is copied.
    await Promise.race([piped, sleep(2000)]);
    child.stdout?.destroy();
    child.stderr?.destroy();
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
  const end = await contain.atRunEnd(run, interrupted && killNowRequested ? 'kill' : 'term');
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
  contain.closeRun(run);
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
