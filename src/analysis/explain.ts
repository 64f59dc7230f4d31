/**
 * Leftover analysis: snapshot (+ run summaries, patterns) in, verdicts out. Pure: "now" is
 * snapshot.takenAtMs, "who is looking" is snapshot.selfPid/selfUid/selfAncestors.
 *
 * A process is a leftover when it is stuck (stopped, traced, zombie, D) or when there is
 * evidence that it belonged to a batch whose owner is gone: a marker of an ended run, a batch
 * pattern, a GPU held with no live owner, or a place in the tree or process group of such a
 * process while its own parent died. "Orphaned" alone is what every daemon looks like: it
 * never makes a leftover. Daemons (daemonOf) never are leftovers.
 *
 * Each reason is one rule (reasons/<code>.ts): RULES below is their order, which is the order
 * of a verdict's reasons. This file builds the facts the rules share (once per analysis, once
 * per process) and combines what they say.
 */
import { gpuHoldingsOf, gpuIndicesIn, NO_GPU_HOLDINGS, procKeyString, type ProcInfo, type Reason, type RunSummary, type Snapshot, type Verdict } from '../model/index.js';
import { protectionOfProc } from './protect.js';
import { daemonOf, orphanRootOf } from './relations.js';
import { deriveStopCause } from './stop-cause.js';
import { batchPattern } from './reasons/batch-pattern.js';
import { endedRun } from './reasons/ended-run.js';
import { gpuNoOwner } from './reasons/gpu-no-owner.js';
import { gpuUnlisted } from './reasons/gpu-unlisted.js';
import { brokenBatchText, orphaned } from './reasons/orphaned.js';
import type { AnalysisFacts, LiveRun, ProcContext, ReasonRule, StateDuration } from './reasons/rule.js';
import { stopped } from './reasons/stopped.js';
import { traced } from './reasons/traced.js';
import { uninterruptible } from './reasons/uninterruptible.js';
import { zombie } from './reasons/zombie.js';

/** Every reason, in the order a verdict lists them. */
export const RULES: readonly ReasonRule[] = [stopped, traced, zombie, uninterruptible, orphaned, endedRun, gpuNoOwner, gpuUnlisted, batchPattern];

const ROLE = new Map(RULES.map((r) => [r.code, r.role] as const));

/** When an identity was first seen in its current state; `observed`: the change itself was seen. */
interface StateSince {
  readonly sinceMs: number;
  readonly observed: boolean;
}

export interface AnalysisInput {
  readonly snapshot: Snapshot;
  readonly runs: readonly RunSummary[];
  readonly patterns: readonly RegExp[];
  readonly allUsers: boolean;
  /** D counts as stuck after this many seconds (default 5). */
  readonly stuckAfterSec?: number;
  /**
   * Optional: when each identity ("pid:startTime") was first seen in its current state, kept
   * across snapshots by a live view (see deriveStateSince). /proc does not say how long a process
   * has been stopped: a plain number (or observed: false) is when this view first saw it so, a
   * lower bound ("seen stopped for ≥ 17 s"); only an observed change gives "stopped for 17 s".
   */
  readonly stateSinceMs?: ReadonlyMap<string, number | StateSince>;
}

const DEFAULT_STUCK_AFTER_SEC = 5;

interface Pending {
  readonly p: ProcInfo;
  readonly reasons: Reason[];
  readonly root: ProcInfo | null;
  readonly stopCause?: Verdict['stopCause'];
}

/** Every leftover of the snapshot, with its reasons. Processes that are not leftovers get no entry. */
export function analyze(input: AnalysisInput): Map<number, Verdict> {
  const s = input.snapshot;
  const facts = analysisFacts(input);
  const holdings = gpuHoldingsOf(s);

  // Pass 1: each process on its own. Pass 2: an orphan with no evidence of its own counts when
  // its orphan tree or its process group holds a process with evidence (a pool worker whose
  // samples match, the resource tracker of a killed driver).
  const pending: Pending[] = [];
  const evidenceByRoot = new Map<number, ProcInfo>();
  const evidenceByGroup = new Map<number, ProcInfo>();
  for (const p of s.processes) {
    if (protectionOfProc(s, p, { allUsers: input.allUsers }) !== null) continue;
    if (daemonOf(p) !== null) continue;
    const c = procContext(facts, p, input.stateSinceMs, holdings.get(p.pid) ?? NO_GPU_HOLDINGS);
    const reasons: Reason[] = [];
    for (const rule of RULES) {
      const text = rule.explain(c);
      if (text !== null) reasons.push({ code: rule.code, text });
    }
    const item: Pending = { p, reasons, root: c.root, stopCause: c.stopCause };
    if (reasons.some((r) => ROLE.get(r.code) === 'evidence')) {
      if (c.root && !evidenceByRoot.has(c.root.pid)) evidenceByRoot.set(c.root.pid, p);
      if (c.root && !evidenceByGroup.has(p.pgid)) evidenceByGroup.set(p.pgid, p);
    }
    pending.push(item);
  }
  const out = new Map<number, Verdict>();
  for (const { p, reasons, root, stopCause } of pending) {
    const own = reasons.some((r) => ROLE.get(r.code) === 'evidence');
    const stuck = reasons.some((r) => ROLE.get(r.code) === 'stuck');
    let kept = reasons;
    if (!own) {
      const via = root ? (evidenceByRoot.get(root.pid) ?? evidenceByGroup.get(p.pgid)) : undefined;
      const i = kept.findIndex((r) => r.code === 'orphaned');
      if (i >= 0 && via !== undefined) {
        const where = evidenceByRoot.get(root!.pid) === via ? `its orphaned tree (root ${root!.pid})` : `its process group ${p.pgid}`;
        kept = [...kept];
        kept[i] = { code: 'orphaned', text: brokenBatchText(kept[i]!.text, via, where) };
      } else if (!stuck) continue; // context reasons alone (orphaned, gpu-unlisted): what a daemon looks like, not a leftover
    }
    const v: Verdict = stopCause ? { reasons: Object.freeze(kept), stopCause } : { reasons: Object.freeze(kept) };
    out.set(p.pid, Object.freeze(v));
  }
  return out;
}

/** What every rule may ask about the whole analysis, computed once. */
function analysisFacts(input: AnalysisInput): AnalysisFacts {
  const s = input.snapshot;
  const groups = new Map<number, { members: number; stopped: number }>();
  for (const p of s.processes) {
    const g = groups.get(p.pgid) ?? { members: 0, stopped: 0 };
    g.members++;
    if (p.state === 'T' || p.state === 't') g.stopped++;
    groups.set(p.pgid, g);
  }
  return {
    s,
    liveRuns: liveRunsOf(s, input.runs),
    runsById: new Map(input.runs.map((r) => [r.id, r])),
    patterns: input.patterns,
    stuckAfterSec: input.stuckAfterSec ?? DEFAULT_STUCK_AFTER_SEC,
    groups,
  };
}

/** What every rule may ask about one process, computed once. */
function procContext(facts: AnalysisFacts, p: ProcInfo, since: AnalysisInput['stateSinceMs'], gpu: ProcContext['gpu']): ProcContext {
  const s = facts.s;
  const { owned, forged } = runOwner(facts, p);
  return {
    p,
    s,
    facts,
    tty: p.tty ?? (p.ttyNr !== 0 ? `tty ${p.ttyNr}` : null),
    inState: stateSeconds(s, since, p),
    ageSec: s.uptimeSec - p.startTime / s.clockTicks,
    stopCause: p.state === 'T' ? deriveStopCause(s, p) : undefined,
    root: p.state === 'Z' ? null : orphanRootOf(s, p),
    owned,
    forged,
    endedRun: p.runId !== null && !facts.liveRuns.has(p.runId),
    gpu,
  };
}

/** Live runs with what proves membership: the uid of its live launcher/guardian and its root identities. */
function liveRunsOf(s: Snapshot, runs: readonly RunSummary[]): Map<string, LiveRun> {
  const out = new Map<string, LiveRun>();
  for (const r of runs) {
    if (!r.live) continue;
    // pid 1 is everyone's ancestor: a journal naming it proves nothing.
    const keys = [r.launcher, r.guardian, ...r.tasks.flatMap((t) => t.leaders)].filter((k): k is NonNullable<typeof k> => k !== null && k.pid > 1);
    let uid: number | null = null;
    for (const k of [r.launcher, r.guardian]) {
      const q = k ? s.byPid.get(k.pid) : undefined;
      if (q && q.startTime === k!.startTime && q.uid !== null) {
        uid = q.uid;
        break;
      }
    }
    out.set(r.id, { uid, roots: new Set(keys.map((k) => procKeyString(k))) });
  }
  return out;
}

/**
 * The live run that really owns `p`, or why its marker does not count. A REAPER_RUN marker is
 * an environment variable anyone can set: it counts only for a process of the run's user that
 * descends from the run's launcher, guardian or a recorded stage leader, or sits in the run's
 * own cgroup (…/reaper/<run>/…).
 */
function runOwner(facts: AnalysisFacts, p: ProcInfo): { owned: boolean; forged: string | null } {
  if (p.runId === null) return { owned: false, forged: null };
  const run = facts.liveRuns.get(p.runId);
  if (!run) return { owned: false, forged: null };
  if (run.uid !== null && p.uid !== run.uid) return { owned: false, forged: `its REAPER_RUN marker names live run ${p.runId} of uid ${run.uid}, but it belongs to uid ${p.uid}` };
  if (p.cgroup && p.cgroup.includes(`/reaper/${p.runId}/`)) return { owned: true, forged: null };
  const seen = new Set<number>();
  for (let cur: ProcInfo | undefined = p; cur && cur.pid > 1 && !seen.has(cur.pid); cur = facts.s.byPid.get(cur.ppid)) {
    seen.add(cur.pid);
    if (run.roots.has(procKeyString(cur))) return { owned: true, forged: null };
  }
  return { owned: false, forged: `its REAPER_RUN marker names live run ${p.runId}, but it does not descend from that run's launcher or tasks` };
}

/** What deriveStateSince carries per identity: its state, and since when. */
export interface StateEntry extends StateSince {
  readonly state: string;
}

/**
 * Carry "in this state since" across snapshots (pure): identities whose state is unchanged keep
 * their time, others start at snapshot.takenAtMs. `observed` is true only when the change was
 * seen (the identity was known before in another state): a first sighting is a lower bound.
 * Feed the result back as stateSinceMs.
 */
export function deriveStateSince(
  prev: ReadonlyMap<string, StateEntry> | undefined,
  snapshot: Snapshot,
): Map<string, StateEntry> {
  const next = new Map<string, StateEntry>();
  for (const p of snapshot.processes) {
    const k = procKeyString(p);
    const old = prev?.get(k);
    // Unchanged: the same entry (no new object per process per refresh).
    if (old && old.state === p.state) next.set(k, old);
    else next.set(k, { state: p.state, sinceMs: snapshot.takenAtMs, observed: old !== undefined });
  }
  return next;
}

/** Seconds in the current state and whether that is exact (the change was seen) or a lower bound. */
function stateSeconds(s: Snapshot, sinceMs: AnalysisInput['stateSinceMs'], p: ProcInfo): StateDuration | null {
  const since = sinceMs?.get(procKeyString(p));
  if (since === undefined) return null;
  const ms = typeof since === 'number' ? since : since.sinceMs;
  const exact = typeof since === 'number' ? false : since.observed;
  return { sec: Math.max(0, (s.takenAtMs - ms) / 1000), exact };
}

/** GPU indices a process holds (nvidia-smi apps or /dev/nvidiaN), from the snapshot's one join. */
export function gpuIndicesOf(snapshot: Snapshot, p: ProcInfo): number[] {
  return gpuIndicesIn(gpuHoldingsOf(snapshot).get(p.pid) ?? NO_GPU_HOLDINGS);
}
