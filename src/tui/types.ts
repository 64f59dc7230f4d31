/**
 * What the TUI needs from the outside world, as two small interfaces. src/cli/commands/top.tsx
 * builds the live ones (probe loop, analysis, actions); tests pass fakes. No component
 * imports probe, actions or launch.
 */
import type { ReapTarget } from '../analysis/index.js';
import type { RunHistoryEntry } from '../analysis/run-history.js';
import type { Snapshot, RunSummary, SlurmRunsStatus, Verdict, GpuState } from '../model/index.js';

export interface HostStats {
  readonly hostname: string;
  readonly uptimeSec: number | null;
  /** Whole-machine CPU busy % over the last interval (from /proc/stat deltas); null on the first. */
  readonly cpuPercent: number | null;
  readonly cpuCount: number | null;
  readonly memUsedKiB: number | null;
  readonly memTotalKiB: number | null;
}

export interface ProbeStatus {
  /** State of the /proc scan only: 'starting' until the first snapshot; 'error' when the last scan failed. */
  readonly state: 'starting' | 'ok' | 'error';
  readonly message: string | null;
  /** Duration of the last process scan. */
  readonly scanMs: number | null;
  readonly intervalMs: number;
  /** When the GPU probe last answered with data (ms since epoch); null: not since this screen started. */
  readonly gpuOkAtMs?: number | null;
  /** When this screen started asking the GPU probe; null or absent when there is no GPU probe. */
  readonly gpuSinceMs?: number | null;
}

/** One immutable value per refresh. */
export interface TuiData {
  readonly snapshot: Snapshot | null;
  /** GPU state, refreshed by the GPU loop independently of the process scan. */
  readonly gpu: GpuState;
  readonly verdicts: ReadonlyMap<number, Verdict>;
  readonly runs: readonly RunSummary[];
  /**
   * The last read of Slurm for the open jobs of Slurm runs (refreshed off the render path, more
   * slowly than /proc); absent or null: none made (no Slurm run has an open job).
   */
  readonly slurm?: SlurmRunsStatus | null;
  readonly host: HostStats;
  readonly probe: ProbeStatus;
  /** Why a pid may not be acted on (pid 1, reaper itself, its ancestors, kernel thread, other user), or null. */
  readonly protection: (pid: number) => string | null;
}

export interface DataSource {
  subscribe(listener: () => void): () => void;
  getData(): TuiData;
  /** Ask for a scan now (after an action), without waiting for the interval. Optional. */
  refresh?(): void;
  /**
   * One run's history from its journal (stderr tails of failed stages included), for the details
   * pane on a run's row. Called when the pane opens on such a row and at most once per refresh
   * while it stays open. Optional: without it the pane shows the run record's summary only.
   */
  readRunHistory?(runId: string): RunHistoryEntry;
}

export type SignalAction = 'kill' | 'term' | 'cont';

/**
 * A process captured when an action was chosen: its identity plus what the dialog showed
 * (the reap planner's target: zombies are replaced by their parent, `tree: false`).
 */
export type ActionTarget = ReapTarget;

export interface ActionOutcome {
  readonly pid: number;
  readonly startTime: number;
  readonly cmd: string;
  readonly outcome: 'gone' | 'resumed' | 'survived' | 'skipped' | 'kill-pending' | 'not-stopped';
  readonly why: string | null;
}

export interface TuiActions {
  /** Second defence: when true every method refuses (the UI also blocks the keys). */
  readonly readonly: boolean;
  /** Batch file `L` launches, or null when there is none (no --batch, no ./reaper.yaml). */
  readonly batchFile: string | null;
  signal(action: SignalAction, targets: readonly ActionTarget[]): Promise<readonly ActionOutcome[]>;
  /** Launch the batch detached; resolves with the run id. */
  launch(): Promise<{ runId: string }>;
  /** Stop (tear down) a run; resolves with a one-line summary. */
  stop(runId: string): Promise<string>;
}

export class ReadonlyRefusal extends Error {
  constructor() {
    super('read-only mode: actions are disabled');
    Object.defineProperty(this, 'name', { value: 'ReadonlyRefusal', enumerable: false });
  }
}
