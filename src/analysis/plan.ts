/**
 * Reap plans (pure): which processes a `reaper reap` would act on, in which order, and which it
 * refuses to touch and why. The executor (src/actions) re-checks every identity before acting.
 */
import { ancestors, buildForest, descendants, sanitizeText, type Forest, type ProcInfo, type ProcKey, type Reason, type Snapshot, type Verdict } from '../model/index.js';
import { gpuIndicesOf } from './explain.js';
import { matchText } from './patterns.js';
import { isTreeBoundary, protectionOfProc, type ProtectionOptions } from './protect.js';

export type ReapAction = 'kill' | 'term' | 'cont';

/** What to act on. Every given field must hold (they intersect); nothing given means leftovers. */
export interface ReapSelection {
  /** Only processes with a leftover verdict. */
  readonly leftovers?: boolean;
  /** Members of a run: REAPER_RUN=<id> in the environment, plus `runLeaders`. */
  readonly runId?: string;
  /** Identities recorded in the run's journal (stage leaders, launcher): matched by pid + start time. */
  readonly runLeaders?: readonly ProcKey[];
  /**
   * The run's user (the owner of its trusted journal folder). When set, a run member must also
   * be this uid's: a REAPER_RUN marker or a recorded pid + start time on another user's process
   * proves nothing (anyone can set an environment variable; pids are reused). Absent only when
   * no trusted journal exists, and then the marker alone selects (the caller's own processes,
   * unless --all-users).
   */
  readonly runOwner?: number;
  /**
   * Processes on this node inside the cgroups of the run's Slurm jobs (jobs squeue confirmed as
   * the run's own): matched by pid + start time (and runOwner), noted with their job.
   */
  readonly runJobMembers?: readonly RunJobMember[];
  /** That process and its descendants. */
  readonly pid?: number;
  /** Raw argv (joined by spaces) matches. */
  readonly match?: RegExp;
  /** T also selects t (traced). */
  readonly state?: 'T' | 'Z' | 'D';
  /** Holds this GPU index (nvidia-smi compute apps or /dev/nvidiaN). */
  readonly gpu?: number;
}

export interface RunJobMember extends ProcKey {
  readonly jobId: string;
}

/** A Slurm job of the run that the plan cancels (scancel), as squeue showed it when planned. */
export interface ReapJob {
  readonly id: string;
  /** The name reaper gave it (reaper-<run>-<task>-<stage>), from the journal; squeue matched it. */
  readonly name: string;
  readonly state: string;
  /** Node list while it runs; null while pending. */
  readonly nodes: string | null;
  /** Pending reason ("Resources", "Dependency"), else null. */
  readonly reason: string | null;
  readonly user: string | null;
}

export interface PlanOptions {
  readonly action: ReapAction;
  readonly graceMs: number;
  readonly allUsers: boolean;
  /** Whose processes the plan may take when not `allUsers` (default: the caller; see ProtectionOptions.user). */
  readonly user?: number;
  /**
   * A selected zombie whose parent is not itself selected: act on that parent (true, the
   * default: the caller pointed at the zombie, as `--state Z` or the screen's key on its row
   * does), or leave the zombie in `skipped` with the parent named (false: the default
   * selector and broad ones, where the parent may be any live process, a shell or a daemon).
   */
  readonly actOnZombieParents?: boolean;
  /** Why a selected process is in the plan when its reasons do not say ("in Slurm job 12 …"). */
  readonly notes?: ReadonlyMap<number, string>;
}

export interface ReapTarget {
  readonly pid: number;
  readonly startTime: number;
  readonly uid: number | null;
  readonly user: string | null;
  readonly stat: string;
  readonly cmd: string;
  readonly reasons: Reason[];
  /** Zombie: this target is the zombie's parent; acting on it lets the zombie be reaped. */
  readonly viaParentOf?: number;
  /** Why it is in the plan when it has no reasons of its own ("in the tree of 4711"). */
  readonly note?: string;
  /** Act on its descendants too (default true; false for a parent acted on only for its zombie). */
  readonly tree?: boolean;
}

interface ReapSkip {
  readonly pid: number;
  readonly startTime: number;
  readonly cmd: string;
  readonly why: string;
}

export interface ReapPlan {
  readonly action: ReapAction;
  readonly graceMs: number;
  /** Top-down: every parent before its children. */
  readonly targets: ReapTarget[];
  readonly skipped: ReapSkip[];
  /** Who planned it: the executor applies the same user rule to members found while it acts. */
  readonly allUsers?: boolean;
  /** The uid whose processes the plan may take (the caller, or the run's user of a teardown). */
  readonly userUid?: number;
  /**
   * Process groups that are wholly this plan's own (a run's task groups; set by teardown only):
   * a process that joins one while the executor acts is a member too. Without it, group
   * membership never makes a process a member (a sibling in a target's group is not a target).
   */
  readonly groups?: readonly number[];
  /**
   * What will be signalled, in one sentence for the confirmation (CLI plan text, JSON `scope`,
   * the screen's dialog): exactly the targets, plus descendants found while acting. Set by
   * planForPids/planReap; see scopeText.
   */
  readonly scope?: string;
  /**
   * Plan warnings, one sentence each, for every surface that confirms the plan (`reap` text
   * and JSON `warnings`, the screen's confirmation dialog): e.g. "resuming is pointless: 4711
   * (python3) reads pts/3 from a background group and will stop again; …". Empty when none.
   * Set by planForPids/planReap; already sanitised, render as is (sanitising again is harmless).
   */
  readonly warnings?: readonly string[];
  /**
   * Slurm jobs of a `--run` whose launcher and guardian are gone: cancelled (scancel) before the
   * processes are acted on, re-checked as the run's own right before (set by reap, not planReap).
   */
  readonly jobs?: readonly ReapJob[];
}

/**
 * The confirmation's promise: what the executor signals (src/actions/execute.ts keeps it:
 * found members are only descendants, by parent chain and identity, of targets).
 */
export function scopeText(action: ReapAction, targets: number): string {
  const these = targets === 1 ? 'this process' : `these ${targets} processes`;
  switch (action) {
    case 'kill':
      return `signals exactly ${these}, plus any descendant of them found while reaper stops the tree (rescan of /proc, identity-checked, reported "found while acting"); nothing else in their process groups`;
    case 'term':
      return `signals exactly ${these}, plus any descendant of them found while reaper acts (rescan of /proc, identity-checked, reported "found while acting"); nothing else in their process groups`;
    case 'cont':
      return `sends SIGCONT only to those of ${these} that are stopped, plus stopped descendants found while acting; running ones are left alone`;
  }
}

/**
 * "Resuming is pointless" warnings: a group stopped by SIGTTIN/SIGTTOU stops again as soon as
 * its reader touches the terminal again; what works is bringing it to the foreground, or kill.
 * One warning per culprit (or per stopped group when the culprit is unknown).
 */
function contWarnings(snapshot: Snapshot, verdicts: ReadonlyMap<number, Verdict>, targets: readonly number[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const pid of targets) {
    const cause = verdicts.get(pid)?.stopCause;
    if (!cause || (cause.kind !== 'ttin' && cause.kind !== 'ttou')) continue;
    const p = snapshot.byPid.get(pid);
    const key = cause.culpritPid !== null ? `c${cause.culpritPid}` : `g${p?.pgid ?? pid}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const who = cause.culpritPid ?? pid;
    const comm = snapshot.byPid.get(who)?.comm;
    const name = comm ? `${who} (${comm})` : String(who);
    const tty = cause.tty ?? 'its terminal';
    const did = cause.kind === 'ttin' ? `reads ${tty}` : `writes to ${tty} (or changes its modes)`;
    const subject = cause.culpritPid !== null ? name : `the group of ${name}`;
    const fg =
      cause.shellPid !== null
        ? `bring it to the foreground with \`fg\` in shell ${cause.shellPid}${cause.tty ? ` on ${cause.tty}` : ''}`
        : 'bring it to the foreground in the shell that started it (`fg`)';
    out.push(sanitizeText(`resuming is pointless: ${subject} ${did} from a background group and will stop again; ${fg}, or kill it`));
  }
  return out;
}

/**
 * The descendants of `root` a tree action reaches: never below a tree boundary (init, a kernel
 * thread, a daemon), which is listed but not entered; nothing at all when `root` is one.
 */
function treeOf(forest: Forest, root: number): number[] {
  const start = forest.byPid.get(root);
  return !start || isTreeBoundary(start) ? [] : descendants(forest, root, { stopAt: isTreeBoundary });
}

/** The user rule of a plan, as protectionOfProc takes it. */
function protectionOptions(opts: PlanOptions): ProtectionOptions {
  return opts.user !== undefined ? { allUsers: opts.allUsers, user: opts.user } : { allUsers: opts.allUsers };
}

function hasSelector(sel: ReapSelection): boolean {
  return (
    sel.leftovers === true ||
    sel.runId !== undefined ||
    sel.pid !== undefined ||
    sel.match !== undefined ||
    sel.state !== undefined ||
    sel.gpu !== undefined
  );
}

export function planReap(snapshot: Snapshot, verdicts: ReadonlyMap<number, Verdict>, selection: ReapSelection, opts: PlanOptions): ReapPlan {
  const sel: ReapSelection = hasSelector(selection) ? selection : { ...selection, leftovers: true };
  const forest = buildForest(snapshot.processes);
  const byPid = snapshot.byPid;

  // A protected process (reaper, its ancestors, another user's without --all-users, a daemon)
  // named as a tree's root is skipped, and so is everything below it: `--pid <your shell>` must
  // not take the shell's other jobs, nor `--pid <tmux server>` every other pane.
  const protectedRoots: string[] = [];
  const treeOfRoot = (into: Set<number>, p: ProcInfo): void => {
    into.add(p.pid);
    const why = protectionOfProc(snapshot, p, protectionOptions(opts));
    if (why !== null) {
      if ((forest.children.get(p.pid)?.length ?? 0) > 0) protectedRoots.push(`${p.pid} (${sanitizeText(p.comm)}) is protected (${why}): nothing below it is taken either; name its children with --pid`);
      return;
    }
    for (const d of treeOf(forest, p.pid)) into.add(d);
  };
  let pidTree: Set<number> | null = null;
  if (sel.pid !== undefined) {
    pidTree = new Set<number>();
    const root = byPid.get(sel.pid);
    if (root) treeOfRoot(pidTree, root);
  }
  let runTree: Set<number> | null = null;
  const notes = new Map<number, string>();
  if (sel.runId !== undefined) {
    runTree = new Set<number>();
    const leaders = new Set((sel.runLeaders ?? []).map((k) => `${k.pid}:${k.startTime}`));
    const inJob = new Map((sel.runJobMembers ?? []).map((m) => [`${m.pid}:${m.startTime}`, m.jobId]));
    const owner = sel.runOwner;
    for (const p of snapshot.processes) {
      // With a trusted journal, every kind of evidence must also be on a process of the run's user.
      if (owner !== undefined && p.uid !== owner) continue;
      const key = `${p.pid}:${p.startTime}`;
      const job = inJob.get(key);
      if (p.runId === sel.runId || leaders.has(key) || job !== undefined) {
        if (job !== undefined && p.runId !== sel.runId) notes.set(p.pid, `in Slurm job ${job} (its cgroup on this node)`);
        treeOfRoot(runTree, p);
      }
    }
  }

  const selects = (p: ProcInfo): boolean => {
    if (sel.leftovers && !verdicts.has(p.pid)) return false;
    if (pidTree && !pidTree.has(p.pid)) return false;
    if (runTree && !runTree.has(p.pid)) return false;
    if (sel.match) {
      sel.match.lastIndex = 0;
      if (!sel.match.test(matchText(p))) return false;
    }
    if (sel.state) {
      const ok = sel.state === 'T' ? p.state === 'T' || p.state === 't' : p.state === sel.state;
      if (!ok) return false;
    }
    if (sel.gpu !== undefined && !gpuIndicesOf(snapshot, p).includes(sel.gpu)) return false;
    return true;
  };

  const selected = snapshot.processes.filter(selects).map((p) => p.pid);
  // Only a selector that names zombies (--state Z, or --pid of a zombie) may reach a parent
  // that was not selected itself: the default and broad selectors would otherwise SIGTERM any
  // live process (an interactive shell, a daemon) for a zombie child it has not waited for yet.
  const namesZombies = sel.state === 'Z' || (sel.pid !== undefined && byPid.get(sel.pid)?.state === 'Z');
  const plan = planForPids(snapshot, verdicts, selected, { ...opts, actOnZombieParents: opts.actOnZombieParents ?? namesZombies, ...(notes.size > 0 ? { notes } : {}) });
  return protectedRoots.length > 0 && sel.pid !== undefined ? { ...plan, warnings: [...(plan.warnings ?? []), ...protectedRoots] } : plan;
}

/**
 * The plan for an explicit set of processes (the selected ones): each with its tree, zombies
 * turned into their parents, protected ones moved to `skipped`, top-down order.
 */
export function planForPids(snapshot: Snapshot, verdicts: ReadonlyMap<number, Verdict>, selected: readonly number[], opts: PlanOptions): ReapPlan {
  const forest = buildForest(snapshot.processes);
  const byPid = snapshot.byPid;
  selected = selected.filter((pid) => byPid.has(pid));
  const selectedSet = new Set(selected);
  const notes = new Map<number, string>(opts.notes ?? []);
  const viaParent = new Map<number, number>();
  const noTree = new Set<number>();
  const chosen = new Set<number>();
  const skipped: ReapSkip[] = [];
  const skippedPids = new Set<number>();
  const skip = (p: ProcInfo, why: string): void => {
    if (skippedPids.has(p.pid)) return;
    skippedPids.add(p.pid);
    skipped.push({ pid: p.pid, startTime: p.startTime, cmd: p.cmd, why });
  };
  const protect = (p: ProcInfo): string | null => protectionOfProc(snapshot, p, protectionOptions(opts));

  // Expand to trees: a kill/term/cont acts on the selected processes and everything below them.
  const addTree = (root: number): void => {
    const rootProc = byPid.get(root)!;
    const why = protect(rootProc);
    if (why) return skip(rootProc, why);
    chosen.add(root);
    for (const d of treeOf(forest, root)) {
      const dp = byPid.get(d)!;
      const dwhy = protect(dp);
      if (dwhy) {
        skip(dp, dwhy);
        continue;
      }
      if (!selectedSet.has(d) && !notes.has(d)) notes.set(d, `in the tree of ${root}`);
      chosen.add(d);
    }
  };
  for (const pid of selected) addTree(pid);

  // Zombies cannot be signalled: act on the parent, or report.
  for (const pid of [...chosen]) {
    const z = byPid.get(pid)!;
    if (z.state !== 'Z') continue;
    const parent = byPid.get(z.ppid);
    if (z.ppid <= 1 || !parent) {
      chosen.delete(pid);
      skip(z, z.ppid <= 1 ? 'zombie of init (pid 1), which reaps it within seconds' : `zombie whose parent ${z.ppid} is gone: init reaps it within seconds`);
      continue;
    }
    const pwhy = protect(parent);
    if (pwhy) {
      chosen.delete(pid);
      skip(z, `zombie: only its parent ${parent.pid} (${parent.comm}, ${parent.stat}) can reap it, and that parent is protected: ${pwhy}`);
      continue;
    }
    if (!chosen.has(parent.pid) && opts.actOnZombieParents === false) {
      chosen.delete(pid);
      skip(z, `zombie: only its parent ${parent.pid} (${parent.comm}, ${parent.stat}) can reap it, and that parent was not selected: act on it with --pid ${parent.pid}, or select zombies with --state Z`);
      continue;
    }
    if (!chosen.has(parent.pid) && parent.uid !== z.uid) {
      // A root-owned parent of a user's zombie is sudo, sshd, slurmstepd: never a target for a child's sake.
      chosen.delete(pid);
      skip(z, `zombie: only its parent ${parent.pid} (${parent.comm}, ${parent.stat}) can reap it, and that parent belongs to ${parent.user ?? 'uid ' + parent.uid}, not to the zombie's owner: select the parent itself to act on it`);
      continue;
    }
    if (!chosen.has(parent.pid)) {
      chosen.add(parent.pid);
      noTree.add(parent.pid);
      notes.set(parent.pid, `parent of zombie ${pid}: acting on it lets the zombie be reaped`);
    }
    if (!viaParent.has(parent.pid)) viaParent.set(parent.pid, pid);
  }

  // Top-down order: depth first by ancestor count, then pid.
  const depth = (pid: number): number => ancestors(byPid, pid).length;
  const order = [...chosen].sort((a, b) => depth(a) - depth(b) || a - b);
  const targets: ReapTarget[] = order.map((pid) => {
    const p = byPid.get(pid)!;
    const t: {
      -readonly [K in keyof ReapTarget]: ReapTarget[K];
    } = {
      pid,
      startTime: p.startTime,
      uid: p.uid,
      user: p.user,
      stat: p.stat,
      cmd: p.cmd,
      reasons: [...(verdicts.get(pid)?.reasons ?? [])],
    };
    const via = viaParent.get(pid);
    if (via !== undefined) t.viaParentOf = via;
    const note = notes.get(pid);
    if (note !== undefined) t.note = note;
    if (noTree.has(pid)) t.tree = false;
    return t;
  });
  const warnings = opts.action === 'cont' ? contWarnings(snapshot, verdicts, order) : [];
  return {
    action: opts.action,
    graceMs: opts.graceMs,
    targets,
    skipped,
    allUsers: opts.allUsers,
    userUid: opts.user ?? snapshot.selfUid,
    scope: scopeText(opts.action, targets.length),
    warnings,
  };
}
