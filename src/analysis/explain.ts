/**
 * Leftover analysis: snapshot (+ run summaries, patterns) in, verdicts out. Pure: "now" is
 * snapshot.takenAtMs, "who is looking" is snapshot.selfPid/selfUid/selfAncestors.
 */
import { procKeyString, type ProcInfo, type Reason, type RunSummary, type Snapshot, type Verdict } from '../model/index.js';
import { matchText } from './patterns.js';
import { protectionOfProc } from './protect.js';
import { describeProc, formatDuration, orphanedAncestor, orphanFacts } from './relations.js';

export interface AnalysisInput {
  readonly snapshot: Snapshot;
  readonly runs: readonly RunSummary[];
  readonly patterns: readonly RegExp[];
  readonly allUsers: boolean;
  /** D counts as stuck after this many seconds (default 5). */
  readonly stuckAfterSec?: number;
  /**
   * Optional: when each identity ("pid:startTime") was first seen in its current state (ms since
   * epoch), kept across snapshots by a live view (see deriveStateSince). /proc itself does not
   * say how long a process has been stopped, so without it durations are omitted.
   */
  readonly stateSinceMs?: ReadonlyMap<string, number>;
}

export const DEFAULT_STUCK_AFTER_SEC = 5;

interface Ctx {
  readonly s: Snapshot;
  readonly liveRuns: ReadonlySet<string>;
  readonly runsById: ReadonlyMap<string, RunSummary>;
  readonly patterns: readonly RegExp[];
  readonly stuckAfterSec: number;
  readonly since: ReadonlyMap<string, number> | undefined;
  /** pgid -> [members, stopped members] */
  readonly groups: ReadonlyMap<number, { members: number; stopped: number }>;
  /** gpu uuid -> index; minor -> index */
  readonly gpuByUuid: ReadonlyMap<string, number>;
  readonly gpuByMinor: ReadonlyMap<number, number>;
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
    liveRuns: new Set(input.runs.filter((r) => r.live).map((r) => r.id)),
    runsById: new Map(input.runs.map((r) => [r.id, r])),
    patterns: input.patterns,
    stuckAfterSec: input.stuckAfterSec ?? DEFAULT_STUCK_AFTER_SEC,
    since: input.stateSinceMs,
    groups,
    gpuByUuid,
    gpuByMinor,
  };
  const out = new Map<number, Verdict>();
  for (const p of s.processes) {
    if (protectionOfProc(s, p, { allUsers: input.allUsers }) !== null) continue;
    const reasons = explainProcess(ctx, p);
    if (reasons.length > 0) out.set(p.pid, Object.freeze({ reasons: Object.freeze(reasons) }));
  }
  return out;
}

/**
 * Carry "in this state since" across snapshots (pure): identities whose state is unchanged keep
 * their time, others start at snapshot.takenAtMs. Feed the result back as stateSinceMs.
 */
export function deriveStateSince(
  prev: ReadonlyMap<string, { state: string; sinceMs: number }> | undefined,
  snapshot: Snapshot,
): Map<string, { state: string; sinceMs: number }> {
  const next = new Map<string, { state: string; sinceMs: number }>();
  for (const p of snapshot.processes) {
    const k = procKeyString(p);
    const old = prev?.get(k);
    next.set(k, old && old.state === p.state ? old : { state: p.state, sinceMs: snapshot.takenAtMs });
  }
  return next;
}

function stateSeconds(ctx: Ctx, p: ProcInfo): number | null {
  const since = ctx.since?.get(procKeyString(p));
  if (since === undefined) return null;
  return Math.max(0, (ctx.s.takenAtMs - since) / 1000);
}

function forText(sec: number | null): string {
  return sec === null ? '' : ` for ${formatDuration(sec)}`;
}

const NVIDIA_WCHAN = /nvidia|^_*nv(?!me)[a-z0-9]*_|^uvm|^os_(acquire|release|schedule|delay)/i;

function runOwned(ctx: Ctx, p: ProcInfo): boolean {
  return p.runId !== null && ctx.liveRuns.has(p.runId);
}

function explainProcess(ctx: Ctx, p: ProcInfo): Reason[] {
  const s = ctx.s;
  const reasons: Reason[] = [];
  const tty = p.tty ?? (p.ttyNr !== 0 ? `tty ${p.ttyNr}` : null);

  // --- stopped / traced -------------------------------------------------------------------
  if (p.state === 'T') {
    const dur = forText(stateSeconds(ctx, p));
    const g = ctx.groups.get(p.pgid);
    const groupNote = g && g.members > 1 ? ` (${g.stopped} of ${g.members} processes in group ${p.pgid} are stopped)` : '';
    let why: string;
    if (p.ttyNr !== 0 && p.tpgid !== -1 && p.pgid !== p.tpgid) {
      why = `background job on ${tty} (group ${p.pgid}, the terminal's foreground group is ${p.tpgid}): most likely stopped by SIGTTIN/SIGTTOU because it read or wrote the terminal (Python's input() or getpass() do this); the kernel stops the whole group${groupNote}`;
    } else if (p.ttyNr !== 0 && p.tpgid !== -1) {
      why = `in the foreground of ${tty}: Ctrl+Z (SIGTSTP) or an explicit SIGSTOP${groupNote}`;
    } else if (p.ttyNr !== 0) {
      why = `its terminal ${tty} has no foreground group any more (its shell is gone): an explicit SIGSTOP/SIGTSTP, or SIGTTIN/SIGTTOU before the shell left${groupNote}`;
    } else {
      why = `no controlling terminal, so an explicit SIGSTOP (or SIGTSTP) from another process${groupNote}`;
    }
    if (p.tracerPid !== null && p.tracerPid > 0) why += `; traced by ${describeProc(s.byPid.get(p.tracerPid), p.tracerPid)}`;
    reasons.push({ code: 'stopped', text: `stopped (T)${dur}: ${why}; it ignores SIGTERM until continued (SIGCONT) or killed` });
  } else if (p.state === 't') {
    const dur = forText(stateSeconds(ctx, p));
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
    const lasting = inZ !== null ? inZ >= ctx.stuckAfterSec : s.uptimeSec - p.startTime / s.clockTicks >= ctx.stuckAfterSec;
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
    const stuck = inD !== null ? inD >= ctx.stuckAfterSec : age >= ctx.stuckAfterSec;
    if (stuck) {
      const where = p.wchan && p.wchan !== '0' ? `in ${p.wchan}` : 'in an unknown kernel function';
      const nvidia = (p.wchan !== null && NVIDIA_WCHAN.test(p.wchan)) || (p.nvidiaMinors !== null && p.nvidiaMinors.length > 0);
      const dur = inD !== null ? ` for ${formatDuration(inD)}` : ' (how long: unknown from one snapshot)';
      let text = `uninterruptible (D)${dur} ${where}: a kill waits until that kernel call returns`;
      if (nvidia) text += '; it is inside the NVIDIA driver or holds a GPU device, which usually needs a GPU reset (nvidia-smi -r) to release';
      reasons.push({ code: 'uninterruptible', text });
    }
  }

  // --- orphaned --------------------------------------------------------------------------------
  const facts = orphanFacts(s, p);
  const orphanRoot = p.state === 'Z' ? null : orphanedAncestor(s, p);
  if (facts.adoptedBy && (facts.pgidLeaderGone || facts.sidLeaderGone) && p.state !== 'Z') {
    const adopter = facts.adoptedBy.pid === 1 ? 'init (pid 1)' : `subreaper ${facts.adoptedBy.pid} (${facts.adoptedBy.comm})`;
    reasons.push({ code: 'orphaned', text: `orphaned: its parent died and ${adopter} adopted it; ${leadersGone(p, facts)}` });
  } else if (orphanRoot && orphanRoot.pid !== p.pid && (facts.pgidLeaderGone || facts.sidLeaderGone)) {
    reasons.push({
      code: 'orphaned',
      text: `orphaned: in the tree of ${orphanRoot.pid} (${orphanRoot.comm}), whose parent died; ${leadersGone(p, facts)}`,
    });
  }

  // --- runs, GPUs, patterns ----------------------------------------------------------------------
  const owned = runOwned(ctx, p);
  const endedRun = p.runId !== null && !owned;
  if (endedRun) {
    const r = ctx.runsById.get(p.runId!);
    const task = p.taskId ? ` (task ${p.taskId})` : '';
    const how = r
      ? `which has ended (${r.state}${r.launcher ? `, launcher ${r.launcher.pid} gone` : ''})`
      : 'whose launcher is gone (no live run has that id)';
    reasons.push({ code: 'ended-run', text: `member of run ${p.runId}${task}, ${how}` });
  }

  const holdings = gpuHoldings(ctx, p);
  if (holdings.length > 0 && !owned && (orphanRoot !== null || endedRun)) {
    const why = endedRun ? `its run ${p.runId} has ended` : `no live run owns it and its launcher is gone (tree adopted at ${orphanRoot!.pid})`;
    reasons.push({ code: 'gpu-no-owner', text: `holds ${holdings.map((h) => h.text).join(', ')} but ${why}` });
  }
  const unlisted = gpuUnlisted(ctx, p);
  if (unlisted !== null && !owned) {
    reasons.push({
      code: 'gpu-unlisted',
      text: `holds ${unlisted} but nvidia-smi does not list it as a compute process: a stale CUDA context, or a process in another PID namespace`,
    });
  }

  if (!owned && ctx.patterns.length > 0 && p.state !== 'Z') {
    const text = matchText(p);
    const hit = ctx.patterns.find((re) => {
      re.lastIndex = 0;
      return re.test(text);
    });
    if (hit && (orphanRoot !== null || endedRun)) {
      const owner = orphanRoot ? `its launcher is gone (tree adopted at ${orphanRoot.pid})` : `its run ${p.runId} has ended`;
      reasons.push({ code: 'batch-pattern', text: `matches batch pattern ${hit.source} while no live launcher owns it: ${owner}` });
    }
  }
  return reasons;
}

function leadersGone(p: ProcInfo, f: { pgidLeaderGone: boolean; sidLeaderGone: boolean }): string {
  if (f.pgidLeaderGone && f.sidLeaderGone) return `its process group leader ${p.pgid} and session leader ${p.sid} are gone`;
  if (f.pgidLeaderGone) return `its process group leader ${p.pgid} is gone`;
  return `its session leader ${p.sid} is gone`;
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
