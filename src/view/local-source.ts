/**
 * This machine as a HostSource: process scans off the render path (one in flight), the
 * nvidia-smi loop readers, run records through the journals' trust checks, analysis, the
 * header's figures, a Slurm read for open Slurm jobs; signals through the identity-checked
 * executor. Moved here from src/cli/commands/top.tsx, which only wires it to the screen.
 */
import { hostname } from 'node:os';
import { executeReap, filterLogEntries, openAuditLog, outcomeText, readAuditLogs, targetText, whoText } from '../actions/index.js';
import { analyze, deriveStateSince, DEFAULT_BATCH_PATTERNS, protectionOf, type ReapPlan, type ReapTarget, type StateEntry } from '../analysis/index.js';
import type { RunHistoryEntry } from '../analysis/run-history.js';
import { stateDir } from '../launch/paths.js';
import { createHistoryReader, createRunsReader, type RunsReader } from '../launch/run-readers.js';
import { NO_GPU_STATE, type GpuState } from '../model/gpu.js';
import type { ActionOutcome, AuditQuery, AuditRead, HostStats, LiveData, SignalAction } from '../model/live.js';
import { sanitizeText } from '../model/sanitize.js';
import type { RunSummary, SlurmRunsStatus } from '../model/run.js';
import type { Snapshot } from '../model/snapshot.js';
import { createGpuLoop, resolveGpuProbeConfig, type GpuLoop, type GpuSelection } from '../probe/gpu-probe.js';
import { readHostFigures, type CpuTimes } from '../probe/host-stats.js';
import { createProcScanner } from '../probe/snapshot.js';
import type { HostSource } from './host-source.js';
import { readSlurmView } from './machine-view.js';
import { errorLine } from '../model/errors.js';

const oneLine = (e: unknown): string => errorLine(e);

export interface LiveSourceOptions {
  readonly gpus: GpuSelection;
  readonly intervalMs: number;
  readonly allUsers: boolean;
  readonly patterns?: readonly RegExp[];
  /** The name the screen shows for this host (default `local`). */
  readonly name?: string;
}

export class LocalSource implements HostSource {
  readonly name: string;
  readonly local = true;
  private readonly listeners = new Set<() => void>();
  // idleSkip 1: idle sleepers are read every other refresh (README, "Figures").
  private readonly scanner = createProcScanner({ idleSkip: 1 });
  private readonly host = hostname();
  private data: LiveData;
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
  private since: Map<string, StateEntry> | undefined;
  private readonly runsReader: RunsReader = createRunsReader(stateDir(process.env));
  private readonly historyReader = createHistoryReader(stateDir(process.env));
  /** The Slurm read: off the scan, at most one in flight, at most once per slurmEveryMs. */
  private slurm: SlurmRunsStatus | null = null;
  private slurmInFlight = false;
  private slurmAtMs = 0;

  constructor(private readonly opts: LiveSourceOptions) {
    this.name = opts.name ?? 'local';
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

  getData = (): LiveData => this.data;

  readRunHistory = (runId: string): RunHistoryEntry => this.historyReader(runId);

  readAuditEntries = (q: AuditQuery): AuditRead => readOwnAuditEntries(q, process.env);

  private publish(next: LiveData): void {
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
      const host = this.readHost(snapshot);
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

  private readHost(snapshot: Snapshot): HostStats {
    const f = readHostFigures(this.cpuPrev);
    this.cpuPrev = f.cpu;
    return {
      hostname: this.host,
      uptimeSec: snapshot.uptimeSec,
      cpuPercent: f.cpuPercent,
      cpuCount: f.cpu ? f.cpu.count : null,
      memUsedKiB: f.mem.usedKiB,
      memTotalKiB: f.mem.totalKiB,
    };
  }

  /** Through the identity- and owner-checked executor, as `reaper reap` acts. */
  async signal(action: SignalAction, targets: readonly ReapTarget[], opts: { readonly allUsers: boolean; readonly graceMs?: number }): Promise<ActionOutcome[]> {
    const snap = this.data.snapshot;
    const plan: ReapPlan = {
      action,
      graceMs: opts.graceMs ?? 3000,
      targets: targets.map((t) => ({ ...t, reasons: [...t.reasons] })),
      skipped: [],
      allUsers: opts.allUsers,
      ...(snap ? { selfUid: snap.selfUid } : {}),
    };
    const key = action === 'kill' ? 'K' : action === 'term' ? 'T' : 'c';
    const results = await executeReap(plan, { audit: { asked: `key ${key} (reaper top)`, log: openAuditLog(process.env) } });
    return results;
  }
}


/**
 * The audit entries of the screen's last action, from the logs `reaper log` reads (the user's
 * own; as root also the system one), with its checks: no link followed, only a plain file of the
 * expected owner, every line of reaper's own shape. Problems are counted, never printed (the
 * screen owns the terminal).
 */
export function readOwnAuditEntries(q: AuditQuery, env: NodeJS.ProcessEnv): AuditRead {
  const problems: string[] = [];
  const read = readAuditLogs(env, process.geteuid?.() ?? -1, (line) => {
    if (!/: skipped: /.test(line)) problems.push(sanitizeText(line.replace(/^reaper: /, '')));
  });
  const entries = filterLogEntries(read.entries, { sinceMs: q.sinceMs, ...(q.pids ? { pids: q.pids } : {}), ...(q.run !== undefined ? { run: q.run } : {}) });
  return {
    sources: read.sources,
    skipped: read.skipped,
    problems,
    entries: entries.map((e) => ({
      atMs: e.atMs,
      who: sanitizeText(whoText(e)),
      asked: sanitizeText(e.asked),
      target: sanitizeText(targetText(e)),
      cmd: sanitizeText(e.cmd),
      signal: sanitizeText(e.via ? `${e.signal} (${e.via})` : e.signal),
      outcome: sanitizeText(outcomeText(e)),
      bad: e.outcome === null || e.outcome === 'survived' || e.outcome === 'kill-pending' || e.outcome === 'not-permitted',
      reasons: e.reasons.map((r) => sanitizeText(r)),
    })),
  };
}
