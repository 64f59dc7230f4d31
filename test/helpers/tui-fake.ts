/**
 * Hand-built snapshots, a fake data source and a recording actions object for the TUI
 * component tests (htop's unsupported/ backend idea): no /proc, no probe, no signals.
 */
import type { GpuState, ProcInfo, Reason, RunSummary, Snapshot, Verdict } from '../../src/model/index.js';
import { NO_GPU_STATE } from '../../src/model/index.js';
import { fakeProc } from './proc-fake.js';
import { waitFor } from './wait-for.js';
import type { RunHistoryEntry } from '../../src/analysis/run-history.js';
import type { ActionOutcome, ActionTarget, DataSource, SignalAction, TuiActions, TuiData } from '../../src/tui/types.js';

const CLK = 100;
const UPTIME = 10_000;

export function proc(pid: number, ppid: number, over: Partial<ProcInfo> = {}): ProcInfo {
  const state = (over.state ?? (over.stat ? over.stat.charAt(0) : 'S')) as ProcInfo['state'];
  const cmd = over.cmd ?? `cmd-${pid}`;
  return fakeProc({
    pid,
    ppid,
    state,
    stat: over.stat ?? state,
    comm: cmd.split(' ')[0]!.slice(0, 15),
    argv: cmd.split(' '),
    cmd,
    rssKiB: 10_240,
    cpuPercent: 0,
    nvidiaMinors: null,
    startTime: (UPTIME - 600) * CLK + pid,
    ...over,
  });
}

export function snapshot(processes: ProcInfo[], gpu: GpuState = NO_GPU_STATE, takenAtMs = 1_700_000_000_000): Snapshot {
  const sorted = [...processes].sort((a, b) => a.pid - b.pid);
  return {
    takenAtMs,
    bootTimeMs: takenAtMs - UPTIME * 1000,
    clockTicks: CLK,
    uptimeSec: UPTIME,
    selfPid: 99_999,
    selfUid: 1000,
    selfAncestors: [],
    processes: sorted,
    byPid: new Map(sorted.map((p) => [p.pid, p])),
    gpu,
  };
}

export function simGpu(over: Partial<GpuState> = {}): GpuState {
  const gpu = (i: number) => ({
    index: i,
    uuid: `GPU-sim-${i}`,
    name: 'Simulated A100',
    busId: `0000:0${i}:00.0`,
    utilizationGpu: 40 + i * 10,
    memoryUsedMiB: 1024 * (i + 1),
    memoryTotalMiB: 40_960,
    temperatureC: 50 + i,
    powerDrawW: 120,
    powerLimitW: 300,
    pstate: 'P0',
    persistenceMode: true,
    migMode: null,
    minor: i,
    missing: {},
  });
  return { source: 'simulated', ok: true, error: null, gpus: [gpu(0), gpu(1)], apps: [], sampledAtMs: 1_700_000_000_000, ...over };
}

export function reasons(...codes: Array<[Reason['code'], string]>): Verdict {
  return { reasons: codes.map(([code, text]) => ({ code, text })) };
}

export function data(over: Partial<TuiData> & { snapshot: Snapshot | null }): TuiData {
  return {
    gpu: over.snapshot?.gpu ?? NO_GPU_STATE,
    verdicts: new Map(),
    runs: [],
    host: { hostname: 'gpu-box', uptimeSec: UPTIME, cpuPercent: 12.5, cpuCount: 8, memUsedKiB: 4 * 1024 * 1024, memTotalKiB: 16 * 1024 * 1024 },
    probe: { state: 'ok', message: null, scanMs: 12, intervalMs: 1000 },
    protection: (pid) => (pid === 1 ? 'pid 1' : null),
    ...over,
  };
}

export class FakeSource implements DataSource {
  private listeners = new Set<() => void>();
  refreshes = 0;
  constructor(private current: TuiData) {}
  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
  getData = (): TuiData => this.current;
  refresh = (): void => {
    this.refreshes++;
  };
  publish(next: TuiData): void {
    this.current = next;
    for (const l of this.listeners) l();
  }
}

/** A fake source that also answers the details pane's run-history reads, counting them. */
export class FakeHistorySource extends FakeSource {
  reads: string[] = [];
  constructor(
    current: TuiData,
    private readonly read: (runId: string) => RunHistoryEntry,
  ) {
    super(current);
  }
  readRunHistory = (runId: string): RunHistoryEntry => {
    this.reads.push(runId);
    return this.read(runId);
  };
}

export interface RecordedCall {
  readonly kind: 'signal' | 'launch' | 'stop';
  readonly action?: SignalAction;
  readonly targets?: readonly ActionTarget[];
  readonly runId?: string;
}

export class FakeActions implements TuiActions {
  calls: RecordedCall[] = [];
  outcome: ActionOutcome['outcome'] = 'gone';
  constructor(
    readonly readonly = false,
    readonly batchFile: string | null = 'batch.yaml',
  ) {}
  async signal(action: SignalAction, targets: readonly ActionTarget[]): Promise<readonly ActionOutcome[]> {
    if (this.readonly) throw new Error('read-only');
    this.calls.push({ kind: 'signal', action, targets });
    return targets.map((t) => ({ pid: t.pid, startTime: t.startTime, cmd: t.cmd, outcome: this.outcome, why: this.outcome === 'survived' ? 'in D state' : '' }));
  }
  async launch(): Promise<{ runId: string }> {
    if (this.readonly) throw new Error('read-only');
    this.calls.push({ kind: 'launch' });
    return { runId: 'r-new' };
  }
  async stop(runId: string): Promise<string> {
    if (this.readonly) throw new Error('read-only');
    this.calls.push({ kind: 'stop', runId });
    return `stopped run ${runId}`;
  }
}

export function run(id: string, over: Partial<RunSummary> = {}): RunSummary {
  return {
    id,
    name: 'demo',
    dir: `/state/reaper/runs/${id}`,
    startedAtMs: 1_700_000_000_000 - 60_000,
    endedAtMs: null,
    launcher: { pid: 500, startTime: 1 },
    guardian: { pid: 501, startTime: 2 },
    live: true,
    state: 'running',
    tasks: [],
    ...over,
  };
}

/** Strip ANSI escapes from a frame. */
export function plain(frame: string | undefined): string {
   
  return (frame ?? '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}

/** What the component tests need of an ink-testing-library instance. */
export interface InkInstance {
  lastFrame(): string | undefined;
  readonly stdin: { write(data: string): unknown };
}

/** The first frame (as drawn) whose plain text satisfies `pred`, within 5 s. */
export async function frameMatching(inst: InkInstance, pred: (plainFrame: string) => boolean, what: string): Promise<string> {
  return waitFor(
    () => {
      const f = inst.lastFrame() ?? '';
      return pred(plain(f)) ? f : null;
    },
    { timeoutMs: 5000, what },
  );
}

/** Write keys one at a time and let Ink deliver each. */
export async function press(inst: InkInstance, ...keys: string[]): Promise<void> {
  for (const k of keys) {
    inst.stdin.write(k);
    await new Promise((r) => setTimeout(r, 15));
  }
}
