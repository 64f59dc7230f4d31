/**
 * Teardown of a run (launcher and guardian): finds the members by itself, then applies the same
 * ladder as `reaper reap`. Members are every process with REAPER_RUN=<runId> in its environment,
 * every member of the given process groups and every descendant of the given roots (roots are
 * checked by identity: a reused pid is not a root). Never pid 1, a kernel thread, reaper or its
 * ancestors; a group member only while the group is its own session (a task's group always is:
 * the launcher starts each stage with setsid) and holds evidence that it is still the stage's
 * group (RunGroup); only the run's user's processes (`owner`).
 */
import { planForPids } from '../analysis/index.js';
import type { ProcInfo, ProcKey } from '../model/index.js';
import { takeSnapshot } from '../probe/snapshot.js';
import type { AuditContext } from './audit.js';
import { executeReap, type ExecuteOptions, type ReapResult } from './execute.js';

/**
 * A stage's process group. Its id is its leader's pid: once the group empties, the id is free
 * and a new session can take it. So a group is taken only while one of its members proves it is
 * still the stage's: the run's marker, the recorded leader (pid and start time), or a start no
 * later than `knownAtTicks`, when the group was last known to be the stage's (the kernel keeps
 * a group's id from reuse while any member lives, and a session cannot be joined, only made).
 */
export interface RunGroup {
  readonly pgid: number;
  /** The run whose marker (REAPER_RUN) a member may carry. */
  readonly runId: string;
  /** The leader's start time as recorded at spawn, or null. */
  readonly leaderStart: number | null;
  /** Clock ticks since boot (uptimeTicks) when the group was last known to be the stage's, or null. */
  readonly knownAtTicks: number | null;
}

export interface TeardownOptions {
  readonly runId?: string;
  readonly roots?: readonly ProcKey[];
  readonly groups?: readonly RunGroup[];
  readonly mode: 'term' | 'kill';
  readonly graceMs: number;
  readonly onProgress?: ExecuteOptions['onProgress'];
  /**
   * The run's user: only that uid's processes are selected or signalled. Required: a marker or a
   * group id is no proof of ownership (anyone can set REAPER_RUN=<id>), and a root launcher must
   * not take another user's process that carries a forged marker. The launcher passes its own
   * uid (its tasks run as it); the guardian and `reaper stop` the owner of the run's folder.
   */
  readonly owner: number;
  /** Who asked ("teardown of run X task 1 train: timeout 2 s", "guardian of run X: launcher died"). */
  readonly audit?: AuditContext;
}

/**
 * Rounds of a teardown by marker: a member that forks as it dies (a TERM trap that starts one
 * more command, a loop caught between fork and exit) leaves a child that no rescan can link to
 * it, re-parented to init, still carrying REAPER_RUN. The same evidence that selected the
 * first round (the marker, and the owner) selects it in the next; a process already acted on is
 * not taken again.
 */
const MARKER_ROUNDS = 3;

export async function teardown(opts: TeardownOptions): Promise<ReapResult[]> {
  const results: ReapResult[] = [];
  const done = new Set<string>();
  for (let round = 0; round < (opts.runId !== undefined ? MARKER_ROUNDS : 1); round++) {
    const r = await teardownRound(round === 0 ? opts : { ...opts, roots: [], groups: [] }, done, round > 0);
    if (r.length === 0) break;
    for (const x of r) done.add(`${x.pid}:${x.startTime}`);
    results.push(...r);
  }
  return results;
}

async function teardownRound(opts: TeardownOptions, done: ReadonlySet<string>, later: boolean): Promise<ReapResult[]> {
  const snapshot = await takeSnapshot();
  const pgids = vouchedGroups(snapshot.processes, opts.groups ?? [], opts.owner);
  const selected: number[] = [];
  /** Why each was selected, for the audit log. */
  const why = new Map<number, string>();
  const never = new Set([snapshot.selfPid, ...snapshot.selfAncestors]);
  for (const p of snapshot.processes) {
    if (p.isKernelThread || p.pid <= 1 || never.has(p.pid) || done.has(`${p.pid}:${p.startTime}`)) continue;
    // A later round looks only for live members: a zombie holds nothing and its parent reaps it.
    if (later && (p.state === 'Z' || p.state === 'X')) continue;
    if (p.uid !== opts.owner) continue;
    const inRun = opts.runId !== undefined && p.runId === opts.runId;
    const inGroup = pgids.has(p.pgid) && p.pgid > 1 && p.sid === p.pgid;
    const isRoot = (opts.roots ?? []).some((r) => r.pid === p.pid && r.startTime === p.startTime);
    if (inRun || inGroup || isRoot) {
      selected.push(p.pid);
      why.set(p.pid, p.runId !== null && (inRun || isRoot) ? `marker REAPER_RUN=${p.runId}` : isRoot ? 'recorded stage leader' : `process group ${p.pgid} of the run`);
    }
  }
  if (selected.length === 0) return [];
  // The tree below a selected process, and what joins it while the ladder runs, stays within the
  // run's user's processes (a root guardian acting for another user included).
  const plan = planForPids(snapshot, new Map(), selected, { action: opts.mode, graceMs: opts.graceMs, allUsers: false, user: opts.owner });
  const execOpts: ExecuteOptions = {};
  if (opts.onProgress) execOpts.onProgress = opts.onProgress;
  if (opts.audit) execOpts.audit = opts.audit;
  const targets = plan.targets.map((t) => (t.reasons.length > 0 || t.note || !why.has(t.pid) ? t : { ...t, note: why.get(t.pid)! }));
  // The run's own task groups: a process that joins one while the ladder runs is a member too.
  return executeReap(pgids.size > 0 ? { ...plan, targets, groups: [...pgids] } : { ...plan, targets }, execOpts);
}

/** The groups (own sessions, `owner`'s) that a member in this snapshot proves to be the stage's. */
function vouchedGroups(processes: readonly ProcInfo[], groups: readonly RunGroup[], owner: number): Set<number> {
  const byPgid = new Map(groups.filter((g) => g.pgid > 1).map((g) => [g.pgid, g]));
  const out = new Set<number>();
  for (const p of processes) {
    const g = byPgid.get(p.pgid);
    if (!g || out.has(g.pgid) || p.sid !== p.pgid || p.uid !== owner || p.isKernelThread) continue;
    const leader = p.pid === g.pgid && g.leaderStart !== null && p.startTime === g.leaderStart;
    const older = g.knownAtTicks !== null && p.startTime <= g.knownAtTicks;
    if (p.runId === g.runId || leader || older) out.add(g.pgid);
  }
  return out;
}
