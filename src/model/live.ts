/**
 * What a live screen receives from one host, local or remote, once per refresh: plain values,
 * so the screen (src/tui) and the view layer (src/view) share them without importing each other.
 */
import type { GpuState } from './gpu.js';
import type { Verdict } from './leftover.js';
import type { RunSummary, SlurmRunsStatus } from './run.js';
import type { Snapshot } from './snapshot.js';

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

/**
 * The connection to a host: always ok for this machine; for a remote host the agent's state.
 * A host in error has no processes to show, only this line.
 */
export interface HostLink {
  readonly state: 'connecting' | 'ok' | 'error';
  /** One sanitised line, with a stable kind (the transport's or the agent client's). */
  readonly error: { readonly kind: string; readonly message: string } | null;
  /** The last connection's hello round trip (remote), null when unknown or local. */
  readonly latencyMs: number | null;
  readonly reaperVersion: string | null;
}

/** One immutable value per refresh. */
export interface LiveData {
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
  /** The connection (remote hosts); absent for this machine's own source. */
  readonly link?: HostLink;
}

export type SignalAction = 'kill' | 'term' | 'cont';

export interface ActionOutcome {
  readonly pid: number;
  readonly startTime: number;
  readonly cmd: string;
  readonly outcome: 'gone' | 'resumed' | 'survived' | 'skipped' | 'kill-pending' | 'not-stopped';
  readonly why: string | null;
  /** The host that acted (several-host screen); absent for this machine alone. */
  readonly host?: string;
}

/** One host of a several-host screen: its name as the user gave it, and its latest data. */
export interface HostPane {
  readonly name: string;
  readonly local: boolean;
  readonly data: LiveData;
}

/** Which audit entries the screen's log overlay asks for: those of its last action. */
export interface AuditQuery {
  /** Entries that ended (or began) at or after this time (ms since the epoch). */
  readonly sinceMs: number;
  /** The processes the action reported on (K, T, c). */
  readonly pids?: readonly number[];
  /** The run it stopped (S). */
  readonly run?: string;
}

/** One audit entry as the screen shows it, every text already checked and sanitised by the reader. */
interface AuditLine {
  readonly atMs: number;
  /** Who asked ("alice", "root via sudo alice"). */
  readonly who: string;
  /** What asked ("key K (reaper top)"). */
  readonly asked: string;
  /** "pid 4711(alice)" or "job 123(alice)". */
  readonly target: string;
  readonly cmd: string;
  readonly signal: string;
  /** "gone", "survived: …", "not permitted: …". */
  readonly outcome: string;
  /** The outcome is not what was asked for (survived, kill pending, not permitted, none recorded). */
  readonly bad: boolean;
  readonly reasons: readonly string[];
}

export interface AuditRead {
  readonly entries: readonly AuditLine[];
  /** The files read; empty when there is no log yet. */
  readonly sources: readonly string[];
  /** Lines not of reaper's own shape (skipped, trusted for nothing). */
  readonly skipped: number;
  /** Files that could not be read (a link, another owner), one line each. */
  readonly problems: readonly string[];
}
