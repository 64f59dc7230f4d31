/**
 * Pure: what an action will hit, captured at the moment it is chosen. The dialog shows this
 * list and the confirmed action receives exactly these (pid, start time) identities, never
 * whatever row the cursor is on later.
 */
import { planForPids } from '../analysis/index.js';
import type { ProcKey, Snapshot, Verdict } from '../model/index.js';
import { sanitizeText } from '../model/index.js';
import { resumeCounted } from './resume-advice.js';
import { rowTarget, type Row } from './rows.js';
import type { ActionOutcome, ActionTarget, SignalAction } from './types.js';

/** An identity and, on the several-host screen, its host. */
export type HostProcKey = ProcKey & { readonly host?: string };

export interface SkippedTarget {
  /** Several-host screen: the host it is on. */
  readonly host?: string;
  readonly pid: number;
  readonly user: string | null;
  readonly cmd: string;
  readonly why: string;
}

export interface CapturedTargets {
  readonly targets: readonly ActionTarget[];
  readonly skipped: readonly SkippedTarget[];
}

/** The processes the user points at: the tagged ones still alive, else the cursor row (a group row means its tree tops). */
export function selectionRoots(snapshot: Snapshot, tagged: ReadonlyMap<string, ProcKey>, cursorRow: Row | undefined): ProcKey[] {
  const live: ProcKey[] = [];
  for (const k of tagged.values()) {
    const p = snapshot.byPid.get(k.pid);
    if (p && p.startTime === k.startTime) live.push(k);
  }
  if (live.length > 0) return live.sort((a, b) => a.pid - b.pid);
  if (!cursorRow) return [];
  if (cursorRow.kind === 'proc') {
    // A row with folded wrappers stands for the outermost one: acting on it takes the whole task.
    const t = rowTarget(cursorRow);
    return [{ pid: t.pid, startTime: t.startTime }];
  }
  const inGroup = new Set(cursorRow.pids);
  const out: ProcKey[] = [];
  for (const pid of cursorRow.pids) {
    const p = snapshot.byPid.get(pid);
    if (p && !inGroup.has(p.ppid)) out.push({ pid: p.pid, startTime: p.startTime });
  }
  return out;
}

/**
 * Several hosts: the tagged identities still alive on their own host, else the cursor row's
 * roots on the cursor row's host. Every root keeps its host.
 */
export function hostSelectionRoots(
  hosts: ReadonlyMap<string, { readonly snapshot: Snapshot | null }>,
  tagged: ReadonlyMap<string, HostProcKey>,
  cursorRow: Row | undefined,
): HostProcKey[] {
  const live: HostProcKey[] = [];
  for (const k of tagged.values()) {
    if (k.host === undefined) continue;
    const p = hosts.get(k.host)?.snapshot?.byPid.get(k.pid);
    if (p && p.startTime === k.startTime) live.push(k);
  }
  // In the screen's host order (the map's), then by pid.
  const order = [...hosts.keys()];
  if (live.length > 0) return live.sort((a, b) => order.indexOf(a.host!) - order.indexOf(b.host!) || a.pid - b.pid);
  const host = cursorRow?.host;
  const snap = host === undefined ? null : hosts.get(host)?.snapshot;
  if (!snap || host === undefined) return [];
  return selectionRoots(snap, new Map(), cursorRow).map((k) => ({ ...k, host }));
}

/**
 * Each root plus its descendants (the whole tree), through the same pure planner as
 * `reaper reap` (zombies become their parents, protected processes are set aside, top-down).
 * Only roots whose identity is still in this snapshot count.
 */
export function captureTargets(
  snapshot: Snapshot,
  verdicts: ReadonlyMap<number, Verdict>,
  roots: readonly ProcKey[],
  action: SignalAction,
  allUsers: boolean,
): CapturedTargets {
  const pids = roots.filter((r) => snapshot.byPid.get(r.pid)?.startTime === r.startTime).map((r) => r.pid);
  const plan = planForPids(snapshot, verdicts, pids, { action, graceMs: 0, allUsers });
  const skipped: SkippedTarget[] = plan.skipped.map((s) => ({ pid: s.pid, user: snapshot.byPid.get(s.pid)?.user ?? null, cmd: s.cmd, why: s.why }));
  return { targets: plan.targets, skipped };
}

export const ACTION_VERB: Record<SignalAction, string> = {
  kill: 'Kill (stop, rescan, SIGKILL)',
  term: 'Terminate (TERM+CONT, grace, KILL)',
  cont: 'Resume (SIGCONT)',
};

/**
 * "kill: 3 gone, 1 survived (4712: in D state), 1 skipped (4713: identity changed)". With the
 * confirmed targets, a resume counts only processes that were stopped ("cont: 1 resumed; 4 were
 * not stopped"). Pure.
 */
export function summarizeOutcomes(action: SignalAction, all: readonly ActionOutcome[], targets?: readonly ActionTarget[]): string {
  if (all.length === 0) return `${action}: nothing was done`;
  let outcomes = all;
  let tail = '';
  if (action === 'cont' && targets) {
    const r = resumeCounted(targets, all);
    outcomes = r.counted;
    if (r.notStopped > 0) tail = `${r.notStopped} ${r.notStopped === 1 ? 'was' : 'were'} not stopped (nothing to resume)`;
    if (outcomes.length === 0) return `${action}: nothing resumed; ${tail}`;
  }
  const order: ActionOutcome['outcome'][] = ['gone', 'resumed', 'survived', 'kill-pending', 'skipped'];
  const parts: string[] = [];
  for (const o of order) {
    const list = outcomes.filter((x) => x.outcome === o);
    if (list.length === 0) continue;
    let part = `${list.length} ${o}`;
    if (o !== 'gone' && o !== 'resumed') {
      const shown = list.slice(0, 3).map((x) => `${x.pid}: ${sanitizeText(x.why ?? 'no reason given')}`);
      part += ` (${shown.join('; ')}${list.length > 3 ? `; +${list.length - 3} more` : ''})`;
    }
    parts.push(part);
  }
  return `${action}: ${parts.join(', ')}${tail ? `; ${tail}` : ''}`;
}

/** Several hosts: one summary per host that acted, in host order ("host1: kill: 1 gone; host2: …"). Pure. */
export function summarizeByHost(action: SignalAction, all: readonly ActionOutcome[], targets: readonly ActionTarget[]): string {
  if (!all.some((o) => o.host !== undefined) && !targets.some((t) => t.host !== undefined)) return summarizeOutcomes(action, all, targets);
  const hosts: string[] = [];
  for (const t of targets) if (t.host !== undefined && !hosts.includes(t.host)) hosts.push(t.host);
  for (const o of all) if (o.host !== undefined && !hosts.includes(o.host)) hosts.push(o.host);
  // An outcome that does not say its host is its target's (one identity, one host).
  const hostOf = (o: ActionOutcome): string | undefined => o.host ?? targets.find((t) => t.pid === o.pid && t.startTime === o.startTime)?.host;
  return hosts
    .map((h) => `${sanitizeText(h)}: ${summarizeOutcomes(action, all.filter((o) => hostOf(o) === h), targets.filter((t) => t.host === h))}`)
    .join('; ');
}

