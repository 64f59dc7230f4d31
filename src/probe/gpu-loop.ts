/**
 * nvidia-smi loop mode for the TUI. A one-shot call costs 1-3 s per GPU when persistence
 * mode is off; a running loop keeps the driver initialised. Two long-lived readers:
 *   nvidia-smi --query-gpu=... --format=csv,noheader,nounits -lms N
 *   nvidia-smi --query-compute-apps=... --format=csv,noheader,nounits -l S   (S >= 1 s)
 * Rows stream; GPU rows are grouped into one frame per tick (a frame is complete after
 * `count` rows, when the index column starts over, or when the stream goes quiet); lines
 * that are not CSV rows (driver event lines) are ignored. A watchdog restarts a GPU reader
 * that sent nothing for three intervals, with exponential backoff. Each reader is its own
 * process group; stop() kills both groups.
 *
 * The compute-apps reader is silent by design when no process uses a GPU (noheader prints
 * nothing for an empty tick), so silence there means "no apps" after 1.5 ticks, not a hang;
 * it is restarted when it exits and whenever the GPU reader is found hung (same driver).
 *
 * reaper's simulator (`appsAlongside`) is one reader: its GPU loop also writes the
 * compute-apps rows of the same sample on fd 3, so `--gpus sim:N` costs one process and one
 * /proc scan per tick, and both streams restart together.
 */
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import type { GpuApp, GpuInfo, GpuProbeError, GpuState } from '../model/gpu.js';
import { defaultKillGroup, type KillGroupFn, type SpawnFn } from './nvidia-runner.js';
import { APP_FIELDS, CSV_FORMAT, GPU_BASE_FIELDS, GPU_OPTIONAL_FIELDS, parseComputeApps, parseQueryGpu } from './nvidia-parse.js';
import { classifyErrorText, classifyOutcome } from './nvidia-classify.js';
import { attachMinors, readGpuInformation, type GpuInformation } from './nvidia-info.js';
import { binaryName, errorState, okState, stalledError, type GpuProbeConfig } from './gpu-state.js';
import { NO_GPU_STATE } from '../model/gpu.js';

export interface GpuLoop {
  stop(): void;
}

export interface GpuLoopDeps {
  readonly spawnImpl?: SpawnFn;
  readonly killGroup?: KillGroupFn;
  readonly now?: () => number;
  readonly readInfo?: () => Promise<GpuInformation[]>;
  /** First restart delay (default 500 ms), doubled per failure up to maxBackoffMs (30 s). */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
}

interface Reader {
  readonly child: ChildProcess;
  readonly pid: number | null;
  readonly startedAt: number;
  lastOutputAt: number | null;
  exited: boolean;
  killedAt: number | null;
  /** Non-row text seen (error messages), for classification on exit. */
  noise: string[];
  /** The spawn itself failed (already reported). */
  spawnFailed: boolean;
}

/** Whole, non-blank lines of a text stream (\r\n too); a line over 1 MiB is dropped. */
function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; end(): void } {
  let buf = '';
  return {
    push(chunk) {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        if (line.trim() !== '') onLine(line);
      }
      if (buf.length > 1 << 20) buf = '';
    },
    end() {
      if (buf.trim() !== '') onLine(buf);
      buf = '';
    },
  };
}

export function createGpuLoop(cfg: GpuProbeConfig, intervalMs: number, onUpdate: (s: GpuState) => void, deps: GpuLoopDeps = {}): GpuLoop {
  if (cfg.disabled) {
    queueMicrotask(() => onUpdate({ ...NO_GPU_STATE }));
    return { stop: () => undefined };
  }
  const spawnFn: SpawnFn = deps.spawnImpl ?? ((c, a, o) => nodeSpawn(c, a as string[], o!));
  const killGroup = deps.killGroup ?? defaultKillGroup;
  const now = deps.now ?? Date.now;
  const readInfo = deps.readInfo ?? (() => readGpuInformation());
  const baseBackoff = deps.backoffMs ?? 500;
  const maxBackoff = deps.maxBackoffMs ?? 30_000;
  const bin = binaryName(cfg);
  const tickMs = Math.max(50, Math.round(intervalMs));
  const appsSec = Math.max(1, Math.round(tickMs / 1000));
  // Three intervals, but never under 2 s: a loaded machine delays ticks of short intervals.
  const silenceMs = Math.max(3 * tickMs, 2000);
  const quietFlushMs = Math.min(250, Math.max(20, Math.round(tickMs / 4)));

  let stopped = false;
  let withOptional = true;
  let gpuReader: Reader | null = null;
  let appsReader: Reader | null = null;
  let gpuBackoff = baseBackoff;
  let appsBackoff = baseBackoff;
  let gpuRestart: NodeJS.Timeout | null = null;
  let appsRestart: NodeJS.Timeout | null = null;
  let frame: GpuInfo[] = [];
  let expectedCount: number | null = null;
  let flushTimer: NodeJS.Timeout | null = null;
  let appsBurst: GpuApp[] = [];
  let appsTimer: NodeJS.Timeout | null = null;
  let apps: readonly GpuApp[] = [];
  let lastAppsAt: number | null = null;
  let partial: GpuProbeError | null = null;
  let info: GpuInformation[] = [];
  let infoLoaded = false;

  const emit = (s: GpuState): void => {
    if (stopped) return;
    try {
      onUpdate(s);
    } catch {
      /* a consumer's bug must not kill the readers */
    }
  };

  const loadInfo = (): void => {
    readInfo()
      .then((i) => {
        info = i;
        infoLoaded = true;
      })
      .catch(() => undefined);
  };

  const gpuFields = (): string[] => (withOptional ? [...GPU_BASE_FIELDS, ...GPU_OPTIONAL_FIELDS] : [...GPU_BASE_FIELDS]);

  const startReader = (
    args: string[],
    onLine: (r: Reader, line: string) => void,
    onExit: (r: Reader, code: number | null, signal: string | null) => void,
    reportSpawnError: boolean,
    onFd3Line?: (r: Reader, line: string) => void,
  ): Reader | null => {
    const [cmd, ...pre] = cfg.command;
    if (!cmd) return null;
    let child: ChildProcess;
    try {
      child = spawnFn(cmd, [...pre, ...args], {
        stdio: onFd3Line ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
        detached: true,
        env: cfg.env ? { ...process.env, ...cfg.env } : process.env,
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      if (reportSpawnError) emit(errorState(cfg, classifyOutcome({ exitCode: null, stdout: '', stderr: '', spawnError: code, binary: bin })!, now()));
      return null;
    }
    const r: Reader = { child, pid: child.pid ?? null, startedAt: now(), lastOutputAt: null, exited: false, killedAt: null, noise: [], spawnFailed: false };
    const rows = lineSplitter((line) => onLine(r, line));
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      r.lastOutputAt = now();
      rows.push(d);
    });
    child.stderr?.on('data', (d: string) => {
      r.lastOutputAt = now();
      for (const l of d.split(/\r?\n/)) if (l.trim() !== '' && r.noise.length < 50) r.noise.push(l);
    });
    const fd3 = onFd3Line ? (child.stdio?.[3] as NodeJS.ReadableStream | null | undefined) : null;
    if (fd3 && onFd3Line) {
      const apps = lineSplitter((line) => onFd3Line(r, line));
      fd3.setEncoding('utf8');
      fd3.on('data', (d: string) => apps.push(d));
      fd3.on('error', () => undefined);
    }
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (r.pid === null && !r.exited) {
        r.exited = true;
        r.spawnFailed = true;
        if (reportSpawnError) emit(errorState(cfg, classifyOutcome({ exitCode: null, stdout: '', stderr: '', spawnError: e.code ?? 'EUNKNOWN', binary: bin })!, now()));
        onExit(r, null, null);
      }
    });
    child.once('exit', (code, signal) => {
      r.exited = true;
      rows.end();
      child.stdout?.destroy();
      child.stderr?.destroy();
      (fd3 as { destroy?: () => void } | null)?.destroy?.();
      onExit(r, code, signal);
    });
    return r;
  };

  const killReader = (r: Reader | null): void => {
    if (!r || r.exited || r.pid === null) return;
    if (r.killedAt === null) r.killedAt = now();
    killGroup(r.pid, 'SIGKILL');
  };

  // ---- GPU frames -------------------------------------------------------------------
  const flush = (): void => {
    if (flushTimer) {
      clearTimeout(flushTimer);
      flushTimer = null;
    }
    if (frame.length === 0) return;
    const gpus = frame;
    frame = [];
    expectedCount = gpus.length;
    gpuBackoff = baseBackoff;
    if (!infoLoaded) loadInfo();
    if (lastAppsAt === null || now() - lastAppsAt > appsSec * 1500 + 250) {
      // No compute-apps rows for 1.5 ticks: nothing holds a GPU now.
      if (appsBurst.length === 0) apps = [];
    }
    emit(okState(cfg, attachMinors(gpus, info), apps, now(), partial));
    partial = null;
  };

  const onGpuLine = (r: Reader, line: string): void => {
    if (r !== gpuReader) return;
    const parsed = parseQueryGpu(line, gpuFields());
    const g = parsed.gpus[0];
    if (!g || g.index < 0 || g.uuid === '') {
      // Not a row: a driver event line, or an error message (classified on exit).
      const e = classifyErrorText(line);
      if (e?.kind === 'gpu-lost') partial = e;
      if (r.noise.length < 50) r.noise.push(line);
      return;
    }
    const last = frame[frame.length - 1];
    if (last && g.index <= last.index) flush();
    frame.push(g);
    if (expectedCount !== null && frame.length >= expectedCount) {
      flush();
      return;
    }
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = setTimeout(flush, quietFlushMs);
  };

  const startGpu = (): void => {
    gpuRestart = null;
    if (stopped) return;
    if (gpuReader && !gpuReader.exited) return; // one reader alive, even a stuck one
    frame = [];
    const args = [`--query-gpu=${gpuFields().join(',')}`, CSV_FORMAT, '-lms', String(tickMs)];
    if (cfg.appsAlongside) args.push(`--reaper-apps=${APP_FIELDS.join(',')}`);
    gpuReader = startReader(args, onGpuLine, onGpuExit, true, cfg.appsAlongside ? onAppsAlongside : undefined);
    if (!gpuReader) scheduleGpu();
  };

  const scheduleGpu = (delay?: number): void => {
    if (stopped || gpuRestart) return;
    const d = delay ?? gpuBackoff;
    gpuBackoff = Math.min(maxBackoff, gpuBackoff * 2);
    gpuRestart = setTimeout(startGpu, d);
  };

  const onGpuExit = (r: Reader, code: number | null, signal: string | null): void => {
    if (r !== gpuReader || stopped) return;
    flush();
    if (r.killedAt === null && !r.spawnFailed) {
      const text = r.noise.join('\n');
      const e = classifyOutcome({ exitCode: code ?? (signal ? null : 1), signal, stdout: text, stderr: '', binary: bin }) ?? {
        kind: 'unknown' as const,
        message: `nvidia-smi: loop reader exited (${code ?? signal})`,
      };
      if (e.kind === 'invalid-field' && withOptional) {
        withOptional = false;
        scheduleGpu(0);
        return;
      }
      emit(errorState(cfg, e, now()));
    }
    scheduleGpu();
  };

  // ---- compute apps -----------------------------------------------------------------
  const flushApps = (): void => {
    appsTimer = null;
    apps = appsBurst;
    appsBurst = [];
  };

  const onAppsLine = (r: Reader, line: string): void => {
    if (r === appsReader) onAppsRow(line);
  };

  const onAppsAlongside = (r: Reader, line: string): void => {
    if (r === gpuReader) onAppsRow(line);
  };

  const onAppsRow = (line: string): void => {
    const a = parseComputeApps(line, APP_FIELDS).apps[0];
    if (!a) return;
    lastAppsAt = now();
    appsBackoff = baseBackoff;
    appsBurst.push(a);
    if (appsTimer) clearTimeout(appsTimer);
    appsTimer = setTimeout(flushApps, quietFlushMs);
  };

  const startApps = (): void => {
    appsRestart = null;
    if (stopped) return;
    if (appsReader && !appsReader.exited) return;
    const args = [`--query-compute-apps=${APP_FIELDS.join(',')}`, CSV_FORMAT, '-l', String(appsSec)];
    appsReader = startReader(args, onAppsLine, onAppsExit, false);
    if (!appsReader) scheduleApps();
  };

  const scheduleApps = (delay?: number): void => {
    if (stopped || appsRestart) return;
    const d = delay ?? appsBackoff;
    appsBackoff = Math.min(maxBackoff, appsBackoff * 2);
    appsRestart = setTimeout(startApps, d);
  };

  const onAppsExit = (r: Reader): void => {
    if (r !== appsReader || stopped) return;
    scheduleApps();
  };

  // ---- watchdog ---------------------------------------------------------------------
  const watchdog = setInterval(() => {
    if (stopped) return;
    const r = gpuReader;
    if (!r || r.exited) return;
    const t = now();
    if (r.killedAt !== null) {
      // Killed and still not gone: report the stall, spawn nothing until it exits.
      if (t - r.killedAt > 1000) emit(errorState(cfg, stalledError(t - r.startedAt), t));
      return;
    }
    const quietFor = t - (r.lastOutputAt ?? r.startedAt);
    // Before the first row the driver may take a while to initialise (1-3 s per GPU).
    const limit = r.lastOutputAt === null ? Math.max(silenceMs, cfg.timeoutMs) : silenceMs;
    if (quietFor > limit) {
      emit(errorState(cfg, { kind: 'timeout', message: `nvidia-smi: no output for ${Math.round(quietFor / 1000)} s, restarting` }, t));
      killReader(r);
      // The apps reader talks to the same driver; restart it too.
      killReader(appsReader);
    }
  }, Math.max(100, Math.min(tickMs, 1000)));

  const onProcessExit = (): void => {
    // Synchronous last resort (process.exit, crash): readers are their own groups and
    // would otherwise outlive us.
    for (const r of [gpuReader, appsReader]) if (r && !r.exited && r.pid !== null) killGroup(r.pid, 'SIGKILL');
  };
  process.once('exit', onProcessExit);

  loadInfo();
  startGpu();
  if (!cfg.appsAlongside) startApps();

  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(watchdog);
      for (const t of [gpuRestart, appsRestart, flushTimer, appsTimer]) if (t) clearTimeout(t);
      killReader(gpuReader);
      killReader(appsReader);
      process.removeListener('exit', onProcessExit);
    },
  };
}
