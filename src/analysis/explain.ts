/**
 * Leftover analysis: snapshot (+ run summaries, patterns) in, verdicts out. Pure: "now" is
 * snapshot.takenAtMs, "who is looking" is snapshot.selfPid/selfUid/selfAncestors.
 *
 * A process is a leftover when it is stuck (stopped, traced, zombie, D) or when there is
 * evidence that it belonged to a batch whose owner is gone: a marker of an ended run, a batch
 * pattern, a GPU held with no live owner, or a place in the tree or process group of such a
 * process while its own parent died. "Orphaned" alone is what every daemon looks like: it
 * never makes a leftover. Daemons (daemonOf) never are leftovers.
 */
import { procKeyString, type ProcInfo, type Reason, type RunSummary, type Snapshot, type Verdict } from '../model/index.js';
import { matchText } from './patterns.js';
import { protectionOfProc } from './protect.js';
import { daemonOf, describeProc, formatDuration, orphanRootOf } from './relations.js';
import { deriveStopCause, describeStopCause } from './stop-cause.js';

/** When an identity was first seen in its current state; `observed`: the change itself was seen. */
export interface StateSince {
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

export const DEFAULT_STUCK_AFTER_SEC = 5;

/** A live run and what proves a process belongs to it. */
interface LiveRun {
  readonly uid: number | null;
  /** Identities of its launcher, guardian and stage leaders: its processes descend from one. */
  readonly roots: ReadonlySet<string>;
}

interface Ctx {
  readonly s: Snapshot;
  readonly liveRuns: ReadonlyMap<string, LiveRun>;
  readonly runsById: ReadonlyMap<string, RunSummary>;
  readonly patterns: readonly RegExp[];
  readonly stuckAfterSec: number;
  readonly since: ReadonlyMap<string, number | StateSince> | undefined;
  /** pgid -> [members, stopped members] */
  readonly groups: ReadonlyMap<number, { members: number; stopped: number }>;
  /** gpu uuid -> index; minor -> index */
  readonly gpuByUuid: ReadonlyMap<string, number>;
  readonly gpuByMinor: ReadonlyMap<number, number>;
}

const STUCK = new Set(['stopped', 'traced', 'zombie', 'uninterruptible']);
/** Codes that are evidence of a batch whose owner is gone. */
const EVIDENCE = new Set(['ended-run', 'batch-pattern', 'gpu-no-owner']);

interface Pending {
  readonly p: ProcInfo;
  readonly reasons: Reason[];
  readonly root: ProcInfo | null;
  readonly stopCause?: Verdict['stopCause'];
}

/** Every leftover of the snapshot, with its reasons. Processes that are not leftovers get no entry. */
export function analyze(input: AnalysisInput): Map<number, Verdict> {
  const s = input.snapshot;
  const groups = new Map<number, { members: number; stopped: number }>();
  for (const p of s.processes) {
    const g = groups.get(p.pgid) ?? { members: 0, stopped: 0 };
    g.members++;
    if (p.state === 'T' || p.state === 't') g.stopped++;
    groups.set(p.pgid, g);
  }
  const gpuByUuid = new Map<string, number>();
  const gpuByMinor = new Map<number, number>();
  for (const g of s.gpu.gpus) {
    gpuByUuid.set(g.uuid, g.index);
    if (g.minor !== null) gpuByMinor.set(g.minor, g.index);
  }
  const ctx: Ctx = {
    s,
    liveRuns: liveRunsOf(s, input.runs),
    runsById: new Map(input.runs.map((r) => [r.id, r])),
    patterns: input.patterns,
    stuckAfterSec: input.stuckAfterSec ?? DEFAULT_STUCK_AFTER_SEC,
    since: input.stateSinceMs,
    groups,
    gpuByUuid,
    gpuByMinor,
  };

  // Pass 1: each process on its own. Pass 2: an orphan with no evidence of its own counts when
  // its orphan tree or its process group holds a process with evidence (a pool worker whose
  // samples match, the resource tracker of a killed driver).
  const pending: Pending[] = [];
  const evidenceByRoot = new Map<number, ProcInfo>();
  const evidenceByGroup = new Map<number, ProcInfo>();
  for (const p of s.processes) {
    if (protectionOfProc(s, p, { allUsers: input.allUsers }) !== null) continue;
    if (daemonOf(p) !== null) continue;
    const item = explainProcess(ctx, p);
    if (item.reasons.some((r) => EVIDENCE.has(r.code))) {
      if (item.root && !evidenceByRoot.has(item.root.pid)) evidenceByRoot.set(item.root.pid, p);
      if (item.root && !evidenceByGroup.has(p.pgid)) evidenceByGroup.set(p.pgid, p);
    }
    pending.push(item);
  }
  const out = new Map<number, Verdict>();
  for (const { p, reasons, root, stopCause } of pending) {
    const own = reasons.some((r) => EVIDENCE.has(r.code));
    const stuck = reasons.some((r) => STUCK.has(r.code));
    let kept = reasons;
    if (!own) {
      const via = root ? (evidenceByRoot.get(root.pid) ?? evidenceByGroup.get(p.pgid)) : undefined;
      const i = kept.findIndex((r) => r.code === 'orphaned');
      if (i >= 0 && via !== undefined) {
        const where = evidenceByRoot.get(root!.pid) === via ? `its orphaned tree (root ${root!.pid})` : `its process group ${p.pgid}`;
        kept = [...kept];
        kept[i] = { code: 'orphaned', text: `${kept[i]!.text}; part of a broken batch: ${via.pid} (${via.comm}) in ${where} is one` };
      } else if (!stuck) continue; // orphaned or gpu-unlisted alone: what a daemon looks like, not a leftover
    }
    const v: Verdict = stopCause ? { reasons: Object.freeze(kept), stopCause } : { reasons: Object.freeze(kept) };
    out.set(p.pid, Object.freeze(v));
  }
  return out;
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
function runOwner(ctx: Ctx, p: ProcInfo): { owned: boolean; forged: string | null } {
  if (p.runId === null) return { owned: false, forged: null };
  const run = ctx.liveRuns.get(p.runId);
  if (!run) return { owned: false, forged: null };
  if (run.uid !== null && p.uid !== run.uid) return { owned: false, forged: `its REAPER_RUN marker names live run ${p.runId} of uid ${run.uid}, but it belongs to uid ${p.uid}` };
  if (p.cgroup && p.cgroup.includes(`/reaper/${p.runId}/`)) return { owned: true, forged: null };
  const seen = new Set<number>();
  for (let cur: ProcInfo | undefined = p; cur && cur.pid > 1 && !seen.has(cur.pid); cur = ctx.s.byPid.get(cur.ppid)) {
    seen.add(cur.pid);
    if (run.roots.has(procKeyString(cur))) return { owned: true, forged: null };
  }
  return { owned: false, forged: `its REAPER_RUN marker names live run ${p.runId}, but it does not descend from that run's launcher or tasks` };
}

/**
 * Carry "in this state since" across snapshots (pure): identities whose state is unchanged keep
 * their time, others start at snapshot.takenAtMs. `observed` is true only when the change was
 * seen (the identity was known before in another state): a first sighting is a lower bound.
 * Feed the result back as stateSinceMs.
 */
export function deriveStateSince(
  prev: ReadonlyMap<string, { state: string; sinceMs: number; observed?: boolean }> | undefined,
  snapshot: Snapshot,
): Map<string, { state: string; sinceMs: number; observed: boolean }> {
  const next = new Map<string, { state: string; sinceMs: number; observed: boolean }>();
  for (const p of snapshot.processes) {
    const k = procKeyString(p);
    const old = prev?.get(k);
    if (old && old.state === p.state) next.set(k, { state: old.state, sinceMs: old.sinceMs, observed: old.observed ?? false });
    else next.set(k, { state: p.state, sinceMs: snapshot.takenAtMs, observed: old !== undefined });
  }
  return next;
}

/** Seconds in the current state and whether that is exact (the change was seen) or a lower bound. */
function stateSeconds(ctx: Ctx, p: ProcInfo): { sec: number; exact: boolean } | null {
  const since = ctx.since?.get(procKeyString(p));
  if (since === undefined) return null;
  const ms = typeof since === 'number' ? since : since.sinceMs;
  const exact = typeof since === 'number' ? false : since.observed;
  return { sec: Math.max(0, (ctx.s.takenAtMs - ms) / 1000), exact };
}

/** " for 17 s" when the change was seen; " (seen stopped for ≥ 17 s)" otherwise. Never a duration not observed. */
function forText(d: { sec: number; exact: boolean } | null, what: string): string {
  if (d === null) return '';
  return d.exact ? ` for ${formatDuration(d.sec)}` : ` (seen ${what} for ≥ ${formatDuration(d.sec)})`;
}

const NVIDIA_WCHAN = /nvidia|^_*nv(?!me)[a-z0-9]*_|^uvm|^os_(acquire|release|schedule|delay)/i;

function explainProcess(ctx: Ctx, p: ProcInfo): Pending {
  const s = ctx.s;
  const reasons: Reason[] = [];
  const tty = p.tty ?? (p.ttyNr !== 0 ? `tty ${p.ttyNr}` : null);
  let stopCause: Verdict['stopCause'];

  // --- stopped / traced -------------------------------------------------------------------
  if (p.state === 'T') {
    const dur = forText(stateSeconds(ctx, p), 'stopped');
    const g = ctx.groups.get(p.pgid);
    const groupNote = g && g.members > 1 ? ` (${g.stopped} of ${g.members} processes in group ${p.pgid} are stopped)` : '';
    stopCause = deriveStopCause(s, p);
    let where: string;
    if (p.ttyNr !== 0 && p.tpgid !== -1 && p.pgid !== p.tpgid) where = `background job on ${tty} (group ${p.pgid}; the terminal's foreground group is ${p.tpgid})`;
    else if (p.ttyNr !== 0 && p.tpgid !== -1) where = `in the foreground of ${tty}`;
    else if (p.ttyNr !== 0) where = `on ${tty}, which has no foreground group any more (its shell is gone)`;
    else where = 'no controlling terminal';
    let why = `${where}${groupNote}: ${describeStopCause(s, p, stopCause)}`;
    if (p.tracerPid !== null && p.tracerPid > 0) why += `; traced by ${describeProc(s.byPid.get(p.tracerPid), p.tracerPid)}`;
    reasons.push({ code: 'stopped', text: `stopped (T)${dur}: ${why}; it ignores SIGTERM until continued (SIGCONT) or killed` });
  } else if (p.state === 't') {
    const dur = forText(stateSeconds(ctx, p), 'traced');
    const tracer = p.tracerPid !== null && p.tracerPid > 0 ? p.tracerPid : null;
    const who =
      tracer === null
        ? 'its tracer is unknown'
        : s.byPid.has(tracer)
          ? `tracer ${describeProc(s.byPid.get(tracer), tracer)} holds it`
          : `its tracer ${tracer} is gone`;
    reasons.push({ code: 'traced', text: `traced (t)${dur}: stopped under a debugger or tracer; ${who}; it resumes when the tracer continues or detaches` });
  }

  // --- zombie --------------------------------------------------------------------------------
  if (p.state === 'Z') {
    const parent = s.byPid.get(p.ppid);
    // A running parent normally reaps a child within moments of its exit: flag it only once the
    // zombie has lasted stuckAfterSec (or, from one snapshot, was alive that long), unless the
    // parent cannot reap at all (stopped, in D, itself a zombie).
    const parentBlocked = parent !== undefined && (parent.state === 'T' || parent.state === 't' || parent.state === 'D' || parent.state === 'Z');
    const inZ = stateSeconds(ctx, p);
    const lasting = inZ !== null ? inZ.sec >= ctx.stuckAfterSec : s.uptimeSec - p.startTime / s.clockTicks >= ctx.stuckAfterSec;
    if (p.ppid > 1 && (parentBlocked || lasting)) {
      let what: string;
      if (!parent) what = `its parent ${p.ppid} is gone; init reaps it shortly`;
      else if (parent.state === 'T' || parent.state === 't') what = `continue or kill parent ${p.ppid} (${parent.stat})`;
      else if (parent.state === 'D') what = `parent ${p.ppid} (${parent.stat}) is in uninterruptible sleep: it reaps when its kernel call returns, or kill it`;
      else if (parent.state === 'Z') what = `parent ${p.ppid} is itself a zombie: kill its parent ${parent.ppid}`;
      else what = `parent ${p.ppid} (${parent.stat}) does not wait() for it: kill parent ${p.ppid} and init reaps it`;
      reasons.push({
        code: 'zombie',
        text: `zombie (Z): exited, but parent ${describeProc(parent, p.ppid)} has not collected its exit status; ${what}`,
      });
    }
    // A zombie of init is reaped within seconds (facts.md): not a leftover.
  }

  // --- uninterruptible ------------------------------------------------------------------------
  if (p.state === 'D') {
    const inD = stateSeconds(ctx, p);
    const age = s.uptimeSec - p.startTime / s.clockTicks;
    const stuck = inD !== null ? inD.sec >= ctx.stuckAfterSec : age >= ctx.stuckAfterSec;
    if (stuck) {
      const where = p.wchan && p.wchan !== '0' ? `in ${p.wchan}` : 'in an unknown kernel function';
      const nvidia = (p.wchan !== null && NVIDIA_WCHAN.test(p.wchan)) || (p.nvidiaMinors !== null && p.nvidiaMinors.length > 0);
      const dur = inD !== null ? forText(inD, 'in D') : ' (how long: unknown from one snapshot)';
      let text = `uninterruptible (D)${dur} ${where}: a kill waits until that kernel call returns`;
      if (nvidia) text += '; it is inside the NVIDIA driver or holds a GPU device, which usually needs a GPU reset (nvidia-smi -r) to release';
      reasons.push({ code: 'uninterruptible', text });
    }
  }

  // --- orphaned --------------------------------------------------------------------------------
  const root = p.state === 'Z' ? null : orphanRootOf(s, p);
  if (root) {
    const adopter = root.ppid === 1 ? 'init (pid 1)' : `subreaper ${root.ppid} (${s.byPid.get(root.ppid)?.comm ?? '?'})`;
    let text: string;
    if (root.pid === p.pid && p.pgid === p.pid && p.sid === p.pid) text = `orphaned: started detached (setsid: its own session) and its parent is gone; ${adopter} adopted it, so no terminal, parent or run owns it`;
    else if (root.pid === p.pid && p.pgid === p.pid) text = `orphaned: the shell that started it (session leader ${p.sid}) is gone and ${adopter} adopted it, so no terminal, parent or run owns it`;
    else if (root.pid === p.pid) text = `orphaned: its parent died and ${adopter} adopted it; it was started inside process group ${p.pgid}${groupLeaderNote(s, p)}`;
    else text = `orphaned: in the tree of ${root.pid} (${root.comm}), whose parent died (adopted by ${adopter})`;
    reasons.push({ code: 'orphaned', text });
  }

  // --- runs, GPUs, patterns ----------------------------------------------------------------------
  const { owned, forged } = runOwner(ctx, p);
  const endedRun = p.runId !== null && !ctx.liveRuns.has(p.runId);
  if (endedRun) {
    const r = ctx.runsById.get(p.runId!);
    const task = p.taskId ? ` (task ${p.taskId})` : '';
    const how = r
      ? `which has ended (${r.state}${r.launcher ? `, launcher ${r.launcher.pid} gone` : ''})`
      : 'whose launcher is gone (no live run has that id)';
    reasons.push({ code: 'ended-run', text: `member of run ${p.runId}${task}, ${how}` });
  }

  const holdings = gpuHoldings(ctx, p);
  if (holdings.length > 0 && !owned && (root !== null || endedRun)) {
    const why = endedRun
      ? `its run ${p.runId} has ended`
      : root!.pid === p.pid && p.pgid === p.pid
        ? 'no live run owns it and nothing started it that is still alive (a detached process)'
        : `no live run owns it and its launcher is gone (tree adopted at ${root!.pid})`;
    reasons.push({ code: 'gpu-no-owner', text: `holds ${holdings.map((h) => h.text).join(', ')} but ${why}${forged ? `; ${forged}` : ''}` });
  }
  const unlisted = gpuUnlisted(ctx, p);
  if (unlisted !== null && !owned) {
    reasons.push({
      code: 'gpu-unlisted',
      text: `holds ${unlisted} but nvidia-smi does not list it as a compute process: a stale CUDA context, or a process in another PID namespace`,
    });
  }

  // A detached process that leads its own group is the root of whatever batch it runs: it still
  // runs, so its batch is not gone (unless it holds a GPU, above, or is stuck).
  const batchGone = endedRun || (root !== null && !(root.pid === p.pid && p.pgid === p.pid));
  if (!owned && ctx.patterns.length > 0 && p.state !== 'Z' && batchGone) {
    const text = matchText(p);
    const hit = ctx.patterns.find((re) => {
      re.lastIndex = 0;
      return re.test(text);
    });
    if (hit) {
      const owner = root ? `its launcher is gone (tree adopted at ${root.pid})` : `its run ${p.runId} has ended`;
      reasons.push({ code: 'batch-pattern', text: `matches batch pattern ${hit.source} while no live launcher owns it: ${owner}` });
    }
  }
  return stopCause ? { p, reasons, root, stopCause } : { p, reasons, root };
}

function groupLeaderNote(s: Snapshot, p: ProcInfo): string {
  const l = s.byPid.get(p.pgid);
  const alive = l !== undefined && l.state !== 'Z' && l.pgid === p.pgid && l.startTime <= p.startTime;
  return alive ? ` (its leader ${p.pgid}, ${l.comm}, is alive but is not its parent)` : `, whose leader ${p.pgid} is gone`;
}

function gpuHoldings(ctx: Ctx, p: ProcInfo): { index: number | null; text: string }[] {
  const out: { index: number | null; text: string }[] = [];
  const seen = new Set<number>();
  for (const a of ctx.s.gpu.apps) {
    if (a.pid !== p.pid) continue;
    const idx = ctx.gpuByUuid.get(a.gpuUuid) ?? null;
    if (idx !== null) seen.add(idx);
    out.push({ index: idx, text: `GPU ${idx ?? a.gpuUuid}${a.usedMemoryMiB !== null ? ` (${a.usedMemoryMiB} MiB)` : ''}` });
  }
  for (const m of p.nvidiaMinors ?? []) {
    const idx = ctx.gpuByMinor.get(m) ?? null;
    if (idx !== null && seen.has(idx)) continue;
    out.push({ index: idx, text: `/dev/nvidia${m}${idx !== null ? ` (GPU ${idx})` : ''}` });
  }
  return out;
}

/** Holds /dev/nvidiaN while nvidia-smi (which does list processes here) does not list it. */
function gpuUnlisted(ctx: Ctx, p: ProcInfo): string | null {
  const g = ctx.s.gpu;
  if (!g.ok || g.source !== 'nvidia-smi' || g.apps.length === 0) return null;
  if (!p.nvidiaMinors || p.nvidiaMinors.length === 0) return null;
  if (g.apps.some((a) => a.pid === p.pid)) return null;
  const m = p.nvidiaMinors[0]!;
  const idx = ctx.gpuByMinor.get(m);
  return `/dev/nvidia${m}${idx !== undefined ? ` (GPU ${idx})` : ''}`;
}

/** GPU indices a process holds (nvidia-smi apps or /dev/nvidiaN). */
export function gpuIndicesOf(snapshot: Snapshot, p: ProcInfo): number[] {
  const out = new Set<number>();
  for (const a of snapshot.gpu.apps) {
    if (a.pid !== p.pid) continue;
    const g = snapshot.gpu.gpus.find((x) => x.uuid === a.gpuUuid);
    if (g) out.add(g.index);
  }
  for (const m of p.nvidiaMinors ?? []) {
    const g = snapshot.gpu.gpus.find((x) => x.minor === m);
    if (g) out.add(g.index);
  }
  return [...out].sort((a, b) => a - b);
}
