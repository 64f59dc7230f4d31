/**
 * `reaper` / `reaper top`: the live screen. This file is the only place where the TUI meets
 * the machine: it builds the data source (process scans off the render path, one in flight;
 * the nvidia-smi loop readers; run records; analysis; header figures) and the actions object
 * (reap through the identity-checked executor, launch and stop through the CLI), owns the
 * terminal (alternate screen, restored on every way out) and renders the Ink root.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { executeReap, openAuditLog } from '../../actions/index.js';
import { analyze, deriveStateSince, DEFAULT_BATCH_PATTERNS, patternForScript, protectionOf, type ReapPlan } from '../../analysis/index.js';
import { batchPatterns, readBatchFile, inspectRunFolder, inspectStateDir, launchDetached, parseBatchConfig, parseJournal, readRunHistory, readTrustedText, RUN_ID_RE, runPaths, runsDir, stateDir, stopRun, summarizeRun, type RunHistoryEntry } from '../../launch/index.js';
import { isReaperError, ReaperError } from '../../model/errors.js';
import { sanitizeText } from '../../model/sanitize.js';
import { NO_GPU_STATE, type GpuState } from '../../model/gpu.js';
import type { RunSummary } from '../../model/run.js';
import type { Snapshot } from '../../model/snapshot.js';
import { createGpuLoop, resolveGpuProbeConfig, type GpuLoop } from '../../probe/gpu-probe.js';
import { createProcScanner } from '../../probe/snapshot.js';
import { cpuPercentBetween, parseCpuTimes, parseMeminfo, type CpuTimes } from '../../tui/host-stats.js';
import { incrementalSafeStdout, ownTerminal } from '../../tui/terminal.js';
import { colorsFromEnv, createTheme } from '../../tui/theme.js';
import { ReadonlyRefusal, type ActionOutcome, type DataSource, type HostStats, type SignalAction, type TuiActions, type TuiData } from '../../tui/types.js';
import { parseFlags, parseGpusFlag, parseSecondsFlag, type FlagSpec, type GpuSelection } from '../flags.js';
import { readSlurmView } from '../machine-view.js';
import type { SlurmRunsStatus } from '../../model/run.js';

const HELP = `Usage
  reaper [top] [--gpus auto|none|sim:N] [--interval SECONDS] [--all] [--readonly] [--batch FILE]

The live screen: GPUs, jobs launched by reaper, and process trees with leftovers highlighted.
  --gpus SEL       auto (nvidia-smi when present), none, or sim:N (simulated GPUs)
  --interval S     refresh every S seconds (default 1; 0.2 to 60)
  --all            every user's processes (acting on them still needs the right to)
  --readonly       look only: kill, terminate, resume, launch and stop are disabled
  --batch FILE     the batch L launches (default ./reaper.yaml when present)
Keys: ? in the screen. NO_COLOR=1 turns colours off.`;

const SPEC: FlagSpec = {
  gpus: { type: 'string' },
  interval: { type: 'string' },
  all: { type: 'boolean' },
  readonly: { type: 'boolean' },
  batch: { type: 'string' },
};

export interface TopArgs {
  readonly gpus: GpuSelection;
  readonly intervalMs: number;
  readonly allUsers: boolean;
  readonly readonly: boolean;
  readonly batchFile: string | null;
  /** Why a ./reaper.yaml found in the folder is not used (shown once on the screen), else absent. */
  readonly batchNotice?: string;
}

/**
 * The text of a batch file through the launcher's one safe reader (regular file, at most
 * MAX_BATCH_BYTES, never a hang on /dev/zero or a FIFO, UTF-8); `found`: a ./reaper.yaml nobody
 * named must also be the caller's and writable by nobody else. Throws one USAGE line.
 */
export function readBatchText(file: string, shown: string = file, found = false): string {
  try {
    return readBatchFile(file, { requireOwn: found });
  } catch (e) {
    if (!isReaperError(e)) throw e;
    const why = e.message.startsWith(`${file}: `) ? e.message.slice(file.length + 2) : e.message;
    throw new ReaperError('USAGE', `batch file ${sanitizeText(shown)}: ${why}`);
  }
}

/** Normalise argv once; every problem is one USAGE error (exit 2). */
export function parseTopArgs(argv: string[], cwd: string): TopArgs | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const { input, flags } = parseFlags(argv, SPEC, HELP);
  const rest = input[0] === 'top' ? input.slice(1) : input;
  if (rest.length > 0) throw new ReaperError('USAGE', `top takes no arguments, got "${rest[0]}"`);
  const sec = parseSecondsFlag('interval', flags.interval);
  if (sec !== undefined && (sec < 0.2 || sec > 60)) throw new ReaperError('USAGE', `--interval must be between 0.2 and 60 seconds, got ${sec}`);
  let batchFile: string | null = null;
  let batchNotice: string | undefined;
  if (flags.batch !== undefined) {
    const b = String(flags.batch);
    if (b === '') throw new ReaperError('USAGE', '--batch needs a file');
    batchFile = path.resolve(cwd, b);
    if (!existsSync(batchFile)) throw new ReaperError('USAGE', `--batch: no such file: ${sanitizeText(b)}`);
    readBatchText(batchFile, b);
  } else if (existsSync(path.join(cwd, 'reaper.yaml'))) {
    // Found, not given: a ./reaper.yaml that is no batch file (a FIFO, a device, huge) is set
    // aside with a notice instead of stopping the screen.
    try {
      readBatchText(path.join(cwd, 'reaper.yaml'), './reaper.yaml', true);
      batchFile = path.join(cwd, 'reaper.yaml');
    } catch (e) {
      batchNotice = `${(e as Error).message}: not used (L needs --batch FILE)`;
    }
  }
  return {
    gpus: parseGpusFlag(flags.gpus),
    intervalMs: Math.round((sec ?? 1) * 1000),
    allUsers: flags.all === true,
    readonly: flags.readonly === true,
    batchFile,
    ...(batchNotice !== undefined ? { batchNotice } : {}),
  };
}

export function gpusFlagText(sel: GpuSelection): string {
  return sel.kind === 'sim' ? `sim:${sel.count}` : sel.kind;
}

// ---------------------------------------------------------------------------------------------
// Run records: the launch layer's journal reader and summariser, with the parsed journal kept
// per run while its size and mtime stay the same (journals are append-only), so a refresh
// re-reads only what grew. Liveness is derived against every new snapshot. A broken record
// never breaks the screen.

type RunsReader = (snapshot: Snapshot) => RunSummary[];

export function createRunsReader(state: string): RunsReader {
  const cache = new Map<string, { ino: number; size: number; mtimeMs: number; events: ReturnType<typeof parseJournal> }>();
  return (snapshot) => {
    // The same trust rules as stop and reap: a state or run folder others can write, a symlink
    // or a foreign journal is left out (its markers then prove nothing to the analysis).
    if (inspectStateDir(state) !== null) return [];
    let ids: string[];
    try {
      ids = readdirSync(runsDir(state))
        .filter((n) => RUN_ID_RE.test(n))
        .sort();
    } catch {
      return [];
    }
    const out: RunSummary[] = [];
    const seen = new Set<string>();
    for (const id of ids) {
      try {
        const t = inspectRunFolder(state, id);
        if (!t.ok) continue;
        const st = statSync(t.run.journal);
        let c = cache.get(id);
        if (!c || c.ino !== t.run.ino || c.size !== st.size || c.mtimeMs !== st.mtimeMs) {
          c = { ino: t.run.ino, size: st.size, mtimeMs: st.mtimeMs, events: parseJournal(readTrustedText(t.run)) };
          cache.set(id, c);
        }
        seen.add(id);
        const s = summarizeRun(t.run.dir, c.events, snapshot);
        if (s) out.push(s);
      } catch {
        // unreadable or torn beyond repair: skip it this time
      }
    }
    for (const id of cache.keys()) if (!seen.has(id)) cache.delete(id);
    return out;
  };
}

/** Lines of stderr the details pane shows per failed stage. */
export const PANE_TAIL_LINES = 5;

/**
 * The details pane's run history: `reaper show`'s reader (journal and stderr tails read
 * defensively), behind the same trust checks as the jobs list, so a planted or foreign run
 * folder is shown as unreadable with the reason, not as a history. The result for an ended run
 * is kept while its journal stays the same (a live run's durations move, so it is read again).
 */
export function createHistoryReader(state: string, tailLines = PANE_TAIL_LINES): (runId: string) => RunHistoryEntry {
  const cache = new Map<string, { ino: number; size: number; mtimeMs: number; entry: RunHistoryEntry }>();
  return (runId) => {
    const unreadable = (reason: string): RunHistoryEntry => ({ kind: 'unreadable', id: runId, dir: RUN_ID_RE.test(runId) ? runPaths(state, runId).dir : '-', reason });
    const sd = inspectStateDir(state);
    if (sd !== null) return unreadable(sd);
    const t = inspectRunFolder(state, runId);
    if (!t.ok) return unreadable(t.why);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(t.run.journal);
    } catch (e) {
      return unreadable(oneLine(e));
    }
    const c = cache.get(runId);
    if (c && c.ino === st.ino && c.size === st.size && c.mtimeMs === st.mtimeMs) return c.entry;
    const entry = readRunHistory(state, runId, { tailLines });
    if (entry.kind === 'run' && entry.state !== 'running') cache.set(runId, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, entry });
    else cache.delete(runId);
    return entry;
  };
}

// ---------------------------------------------------------------------------------------------
// The live data source.

export interface LiveSourceOptions {
  readonly gpus: GpuSelection;
  readonly intervalMs: number;
  readonly allUsers: boolean;
  readonly patterns?: readonly RegExp[];
}

export class LiveSource implements DataSource {
  private readonly listeners = new Set<() => void>();
  // idleSkip 1: idle sleepers are read every other refresh (README, "Figures").
  private readonly scanner = createProcScanner({ idleSkip: 1 });
  private readonly host = hostname();
  private data: TuiData;
  private gpu: GpuState = NO_GPU_STATE;
  private gpuLoop: GpuLoop | null = null;
  private timer: NodeJS.Timeout | null = null;
  private inFlight = false;
  private again = false;
  private stopped = false;
  private cpuPrev: CpuTimes | null = null;
  /** When the GPU probe last answered with data, and when this screen started asking (header). */
  private gpuOkAtMs: number | null = null;
  private gpuSinceMs: number | null = null;
  private since: Map<string, { state: string; sinceMs: number; observed: boolean }> | undefined;
  private readonly runsReader: RunsReader = createRunsReader(stateDir(process.env));
  private readonly historyReader = createHistoryReader(stateDir(process.env));
  /** The Slurm read: off the scan, at most one in flight, at most once per slurmEveryMs. */
  private slurm: SlurmRunsStatus | null = null;
  private slurmInFlight = false;
  private slurmAtMs = 0;

  constructor(private readonly opts: LiveSourceOptions) {
    if (opts.gpus.kind !== 'none') this.gpu = { ...NO_GPU_STATE, source: opts.gpus.kind === 'sim' ? 'simulated' : 'nvidia-smi' };
    this.data = {
      snapshot: null,
      gpu: this.gpu,
      verdicts: new Map(),
      runs: [],
      host: { hostname: this.host, uptimeSec: null, cpuPercent: null, cpuCount: null, memUsedKiB: null, memTotalKiB: null },
      probe: { state: 'starting', message: null, scanMs: null, intervalMs: opts.intervalMs },
      protection: () => null,
    };
  }

  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  };

  getData = (): TuiData => this.data;

  readRunHistory = (runId: string): RunHistoryEntry => this.historyReader(runId);

  private publish(next: TuiData): void {
    this.data = next;
    for (const l of this.listeners) l();
  }

  start(): void {
    if (this.opts.gpus.kind !== 'none') this.gpuSinceMs = Date.now();
    try {
      this.gpuLoop = createGpuLoop(resolveGpuProbeConfig(this.opts.gpus, process.env), this.opts.intervalMs, (s) => this.onGpu(s));
    } catch (e) {
      this.onGpu({ ...NO_GPU_STATE, source: this.opts.gpus.kind === 'sim' ? 'simulated' : 'nvidia-smi', error: { kind: 'unknown', message: oneLine(e) } });
    }
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.gpuLoop?.stop();
    this.gpuLoop = null;
    this.listeners.clear();
  }

  refresh = (): void => {
    if (this.stopped) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    void this.tick();
  };

  private onGpu(s: GpuState): void {
    const prev = this.gpu;
    this.gpu = s;
    if (s.ok) this.gpuOkAtMs = s.sampledAtMs ?? Date.now();
    // Errors and recoveries show at once; ordinary samples ride along with the next scan
    // (one render per interval, not two).
    const changed = prev.ok !== s.ok || (prev.error?.message ?? null) !== (s.error?.message ?? null) || prev.gpus.length !== s.gpus.length;
    if (changed || this.data.snapshot === null) this.publish({ ...this.data, gpu: s, probe: { ...this.data.probe, gpuOkAtMs: this.gpuOkAtMs, gpuSinceMs: this.gpuSinceMs } });
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = true;
    this.timer = null;
    const t0 = performance.now();
    try {
      const snapshot = await this.scanner.scan(this.gpu);
      let runs: RunSummary[] = [];
      try {
        runs = this.runsReader(snapshot);
      } catch {
        runs = [];
      }
      this.since = deriveStateSince(this.since, snapshot);
      // As derived: an observed change gives "stopped for N s", one only seen gives "≥ N s".
      const stateSinceMs = this.since;
      const verdicts = analyze({
        snapshot,
        runs,
        patterns: this.opts.patterns ?? DEFAULT_BATCH_PATTERNS,
        allUsers: this.opts.allUsers,
        stateSinceMs,
      });
      const host = await this.readHost(snapshot);
      const allUsers = this.opts.allUsers;
      if (this.stopped) return;
      this.pollSlurm(runs, snapshot);
      this.publish({
        snapshot,
        gpu: this.gpu,
        verdicts,
        runs,
        slurm: this.slurm,
        host,
        probe: { state: 'ok', message: null, scanMs: performance.now() - t0, intervalMs: this.opts.intervalMs, gpuOkAtMs: this.gpuOkAtMs, gpuSinceMs: this.gpuSinceMs },
        protection: (pid) => protectionOf(snapshot, pid, { allUsers }),
      });
    } catch (e) {
      if (!this.stopped) this.publish({ ...this.data, probe: { ...this.data.probe, state: 'error', message: `scan failed: ${oneLine(e)}` } });
    } finally {
      this.inFlight = false;
      if (!this.stopped) {
        const wait = this.again ? 0 : Math.max(50, this.opts.intervalMs - (performance.now() - t0));
        this.again = false;
        this.timer = setTimeout(() => void this.tick(), wait);
      }
    }
  }

  /**
   * Asks Slurm about the open jobs of Slurm runs, never on the scan's path: the answer (or its
   * classified error, within readSlurmJobStatus's deadline) is published when it comes. Runs
   * without an open Slurm job cost nothing.
   */
  private pollSlurm(runs: readonly RunSummary[], snapshot: Snapshot): void {
    const everyMs = Math.max(3000, 3 * this.opts.intervalMs);
    if (this.slurmInFlight || Date.now() - this.slurmAtMs < everyMs) return;
    this.slurmInFlight = true;
    this.slurmAtMs = Date.now();
    readSlurmView(runs, snapshot)
      .catch((e: unknown) => ({ byRun: new Map(), error: `slurm: ${oneLine(e)}`, atMs: Date.now() }) satisfies SlurmRunsStatus)
      .then((s) => {
        this.slurmInFlight = false;
        this.slurmAtMs = Date.now();
        const had = this.slurm;
        this.slurm = s;
        if (!this.stopped && (had !== null || s !== null)) this.publish({ ...this.data, slurm: s });
      });
  }

  private async readHost(snapshot: Snapshot): Promise<HostStats> {
    const [stat, mem] = await Promise.all([readFile('/proc/stat', 'utf8').catch(() => ''), readFile('/proc/meminfo', 'utf8').catch(() => '')]);
    const cpu = parseCpuTimes(stat);
    const cpuPercent = cpuPercentBetween(this.cpuPrev, cpu);
    this.cpuPrev = cpu;
    const m = parseMeminfo(mem);
    return {
      hostname: this.host,
      uptimeSec: snapshot.uptimeSec,
      cpuPercent,
      cpuCount: cpu ? cpu.count : null,
      memUsedKiB: m.usedKiB,
      memTotalKiB: m.totalKiB,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Actions: the executor for signals; launch and stop through the launch layer (a detached
// run is its own process tree and outlives this screen).

function oneLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return (m.split('\n')[0] ?? '').slice(0, 300);
}

/** The default batch patterns plus the script names of the batch file L launches (if it parses). */
function patternsOf(batchFile: string | null): readonly RegExp[] {
  if (!batchFile) return DEFAULT_BATCH_PATTERNS;
  try {
    const extra = batchPatterns(parseBatchConfig(readBatchText(batchFile), batchFile)).map(patternForScript);
    return [...DEFAULT_BATCH_PATTERNS, ...extra];
  } catch {
    return DEFAULT_BATCH_PATTERNS; // a broken batch file is reported when L launches it
  }
}

export function createLiveActions(args: TopArgs, source: LiveSource): TuiActions {
  const guard = (): void => {
    if (args.readonly) throw new ReadonlyRefusal();
  };
  return {
    readonly: args.readonly,
    batchFile: args.batchFile,
    async signal(action: SignalAction, targets): Promise<readonly ActionOutcome[]> {
      guard();
      const snap = source.getData().snapshot;
      const plan: ReapPlan = {
        action,
        graceMs: 3000,
        targets: targets.map((t) => ({ ...t, reasons: [...t.reasons] })),
        skipped: [],
        allUsers: args.allUsers,
        ...(snap ? { selfUid: snap.selfUid } : {}),
      };
      const results = await executeReap(plan, { audit: { asked: `key ${action === 'kill' ? 'K' : action === 'term' ? 'T' : 'c'} (reaper top)`, log: openAuditLog(process.env) } });
      return results.map((r) => ({ pid: r.pid, startTime: r.startTime, cmd: r.cmd, outcome: r.outcome, why: r.why }));
    },
    async launch(): Promise<{ runId: string }> {
      guard();
      if (!args.batchFile) throw new ReaperError('USAGE', 'no batch file (--batch FILE or ./reaper.yaml)');
      readBatchText(args.batchFile); // still a batch file (it may have been replaced since the start)
      const r = await launchDetached(args.batchFile, { gpus: gpusFlagText(args.gpus) });
      source.refresh();
      return r;
    },
    async stop(runId: string): Promise<string> {
      guard();
      const r = await stopRun(stateDir(process.env), runId);
      source.refresh();
      const by = r.by === 'none' ? 'it had already ended' : `torn down by the ${r.by === 'stop' ? 'stop command' : r.by}`;
      return `stop ${runId}: ${by}, ${r.survivors} survivor${r.survivors === 1 ? '' : 's'}`;
    },
  };
}

// ---------------------------------------------------------------------------------------------

export async function run(argv: string[]): Promise<number> {
  const args = parseTopArgs(argv, process.cwd());
  if (args === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new ReaperError('USAGE', 'the live screen needs a terminal; for a one-shot listing use "reaper ls"');
  }
  const source = new LiveSource({ gpus: args.gpus, intervalMs: args.intervalMs, allUsers: args.allUsers, patterns: patternsOf(args.batchFile) });
  const actions = createLiveActions(args, source);
  // React and Ink pick their development or production build when first loaded: load them only
  // now, in production mode (the development build spends most of a frame on profiling hooks).
  if (process.env.NODE_ENV === undefined) process.env.NODE_ENV = 'production';
  const [{ createElement }, { render }, { App }] = await Promise.all([import('react'), import('ink'), import('../../tui/App.js')]);
  let instance: ReturnType<typeof render> | null = null;
  const owner = ownTerminal({
    stdout: process.stdout,
    stdin: process.stdin,
    onAbort: () => {
      source.stop();
      instance?.unmount();
    },
  });
  try {
    source.start();
    instance = render(createElement(App, { source, actions, allUsers: args.allUsers, ...(args.batchNotice ? { notice: args.batchNotice } : {}), theme: createTheme(colorsFromEnv(process.env) && process.stdout.hasColors()) }), {
      stdout: incrementalSafeStdout(process.stdout),
      stdin: process.stdin,
      exitOnCtrlC: false,
      // Only changed lines go out (an SSH link carries the difference); see incrementalSafeStdout.
      incrementalRendering: true,
      patchConsole: true,
      maxFps: 30,
    });
    await instance.waitUntilExit();
  } finally {
    source.stop();
    instance?.unmount();
    owner.restore();
    owner.dispose();
  }
  return 0;
}
export { MAX_BATCH_BYTES } from '../../launch/index.js';
