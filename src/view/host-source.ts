/**
 * One host's live data and actions, whether the host is this machine (local-source.ts: /proc,
 * nvidia-smi, the journals) or another one (remote-source.ts: `reaper agent` over SSH). The
 * screen, and later ls and reap, talk to this interface only and never learn which it is.
 */
import type { ReapTarget } from '../analysis/index.js';
import type { RunHistoryEntry } from '../analysis/run-history.js';
import type { ActionOutcome, LiveData, SignalAction } from '../model/live.js';

export interface HostSource {
  /** As the user named it (`local`, `host2`, `alice@gpu3`). */
  readonly name: string;
  readonly local: boolean;
  subscribe(listener: () => void): () => void;
  /** The latest immutable value; a remote host in error carries only `link`. */
  getData(): LiveData;
  start(): void;
  stop(): void;
  /** Ask for fresh data now (after an action), without waiting for the interval. */
  refresh(): void;
  /** One run's history (details pane); only where the journals are readable (this machine). */
  readRunHistory?(runId: string): RunHistoryEntry;
  /**
   * Signal identities captured when the key was pressed, on this host only, after the host
   * re-checks each (pid, start time) and its reap rules. Every outcome names the target.
   */
  signal(action: SignalAction, targets: readonly ReapTarget[], opts: { readonly allUsers: boolean; readonly graceMs?: number }): Promise<ActionOutcome[]>;
}
