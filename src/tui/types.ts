/**
 * What the TUI needs from the outside world, as two small interfaces. src/cli/commands/top.tsx
 * builds the live ones (src/view's host sources, actions); tests pass fakes. No component
 * imports probe, actions or launch.
 */
import type { ReapTarget } from '../analysis/index.js';
import type { RunHistoryEntry } from '../analysis/run-history.js';
import type { LiveData, ActionOutcome, AuditQuery, AuditRead, HostPane, SignalAction } from '../model/live.js';

export type { HostStats, ProbeStatus,  SignalAction, ActionOutcome, HostPane, AuditQuery, AuditRead,  } from '../model/live.js';

/**
 * One immutable value per refresh (model/live.ts's LiveData). With `hosts` (reaper --hosts) the
 * screen shows those hosts, grouped by host; the top-level fields are then this machine's, or
 * empty when it is not one of them.
 */
export interface TuiData extends LiveData {
  readonly hosts?: readonly HostPane[];
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
  /**
   * This machine's audit entries of the screen's last action (the user's own log, read with the
   * same checks as `reaper log`), for the log overlay. Called when it opens and at most once per
   * refresh while it stays open. Optional: without it the overlay points to `reaper log`.
   */
  readAuditEntries?(q: AuditQuery): AuditRead;
}

/**
 * A process captured when an action was chosen: its identity plus what the dialog showed
 * (the reap planner's target: zombies are replaced by their parent, `tree: false`).
 */
export type ActionTarget = ReapTarget & {
  /** The host that acts on it (several-host screen); absent: this machine. */
  readonly host?: string;
};

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
