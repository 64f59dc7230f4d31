/**
 * Pure: what an action will hit, captured at the moment it is chosen. The dialog shows this
 * list and the confirmed action receives exactly these (pid, start time) identities, never
 * whatever row the cursor is on later.
 */
import { planForPids } from '../analysis/index.js';
import type { ProcKey, Snapshot, Verdict } from '../model/index.js';
import { procKeyString, sanitizeText } from '../model/index.js';
import { resumeCounted } from './resume-advice.js';
import { rowTarget, type Row } from './rows.js';
import type { ActionOutcome, ActionTarget, SignalAction } from './types.js';

export interface SkippedTarget {
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

export function identityKey(k: ProcKey): string {
  return procKeyString(k);
}
