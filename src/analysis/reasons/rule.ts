/**
 * A leftover reason as one rule: its code, its role, and its sentence for one process given the
 * facts about that process (ProcContext), computed once per process by analysis/explain.ts.
 * Adding a reason is adding a rule file and one line in explain.ts's RULES.
 */
import type { GpuHolding, ProcInfo, ReasonCode, RunSummary, Snapshot, StopCause } from '../../model/index.js';
import { formatDuration } from '../relations.js';

/**
 * stuck: a leftover by itself (it cannot go on). evidence: of a batch whose owner is gone; an
 * orphan of the same tree or process group counts with it. context: never a leftover alone
 * (orphaned is what every daemon looks like).
 */
type ReasonRole = 'stuck' | 'evidence' | 'context';

export interface ReasonRule {
  readonly code: ReasonCode;
  readonly role: ReasonRole;
  /** Its sentence for this process, or null when it does not apply. */
  readonly explain: (c: ProcContext) => string | null;
}

/** A live run and what proves a process belongs to it. */
export interface LiveRun {
  readonly uid: number | null;
  /** Identities of its launcher, guardian and stage leaders: its processes descend from one. */
  readonly roots: ReadonlySet<string>;
}

/** Facts of the whole analysis, computed once. */
export interface AnalysisFacts {
  readonly s: Snapshot;
  readonly liveRuns: ReadonlyMap<string, LiveRun>;
  readonly runsById: ReadonlyMap<string, RunSummary>;
  readonly patterns: readonly RegExp[];
  readonly stuckAfterSec: number;
  /** pgid -> members, stopped members */
  readonly groups: ReadonlyMap<number, { readonly members: number; readonly stopped: number }>;
}

/** Seconds in the current state; exact when the change was seen, else a lower bound. */
export interface StateDuration {
  readonly sec: number;
  readonly exact: boolean;
}

/** Facts of one process, computed once and shared by every rule. */
export interface ProcContext {
  readonly p: ProcInfo;
  readonly s: Snapshot;
  readonly facts: AnalysisFacts;
  /** Its terminal's name ("pts/0", or "tty 34816" when unnamed); null without one. */
  readonly tty: string | null;
  /** How long it has been in its current state, when a live view saw it (stateSinceMs). */
  readonly inState: StateDuration | null;
  /** Seconds since it started. */
  readonly ageSec: number;
  /** Why it is stopped: set for state T only. */
  readonly stopCause: StopCause | undefined;
  /** The root of its orphaned tree (whose parent died), or null; never set for a zombie. */
  readonly root: ProcInfo | null;
  /** A live run really owns it (marker, user and descent or cgroup all agree). */
  readonly owned: boolean;
  /** Why its REAPER_RUN marker names a live run that does not own it; null otherwise. */
  readonly forged: string | null;
  /** Its marker names a run that is not live. */
  readonly endedRun: boolean;
  /** The GPUs it holds (the snapshot's one join, model/gpu.ts gpuHoldingsOf). */
  readonly gpu: readonly GpuHolding[];
}

/** " for 17 s" when the change was seen; " (seen stopped for ≥ 17 s)" otherwise. Never a duration not observed. */
export function forText(d: StateDuration | null, what: string): string {
  if (d === null) return '';
  return d.exact ? ` for ${formatDuration(d.sec)}` : ` (seen ${what} for ≥ ${formatDuration(d.sec)})`;
}
