/**
 * Pure: snapshot + verdicts + runs + view options → the rows of the process table.
 * Groups (by GPU / by run / all), tree order with ps-f indentation, folding, filter and
 * "leftovers only" (matching rows plus their ancestors as context).
 */
import type { GpuState, ProcInfo, ProcKey, RunSummary, Snapshot, Verdict } from '../model/index.js';
import type { HostLink, HostPane } from '../model/live.js';
import { appMemoryByPid, gpuHolders, gpuHoldingsOf, isReaperWrapper, procKeyString } from '../model/index.js';
import { launcherGone } from './run-view.js';

export type Grouping = 'gpu' | 'run' | 'all';
export const GROUPINGS: readonly Grouping[] = ['gpu', 'run', 'all'];
export const GROUPING_LABEL: Record<Grouping, string> = { gpu: 'by GPU', run: 'by run', all: 'all processes' };

export interface ViewOptions {
  readonly grouping: Grouping;
  /** Case-insensitive substring over pid, user, command, run id; '' = none. */
  readonly filter: string;
  readonly leftoversOnly: boolean;
  /** Identities ("pid:startTime") whose subtrees are folded. */
  readonly folded: ReadonlySet<string>;
  /** Show every user's processes (else only snapshot.selfUid's). */
  readonly allUsers: boolean;
}

interface GroupRow {
  readonly kind: 'group';
  readonly key: string;
  readonly label: string;
  readonly runId: string | null;
  /** Every process identity shown under this group (before folding), for group-wide actions. */
  readonly pids: readonly number[];
  /** Several-host screen: the host this group belongs to. */
  readonly host?: string;
  /** Several-host screen: set on a host's own row (its connection state), absent on its groups. */
  readonly link?: HostLink;
}

export interface ProcRow {
  readonly kind: 'proc';
  readonly key: string;
  readonly proc: ProcInfo;
  readonly depth: number;
  /** ps f style indentation drawn before the command. */
  readonly prefix: string;
  readonly hasChildren: boolean;
  readonly folded: boolean;
  /** Descendants hidden by folding. */
  readonly hiddenCount: number;
  readonly leftover: boolean;
  /** Shown only as the ancestor of a match (filter / leftovers only). */
  readonly context: boolean;
  readonly gpuMemMiB: number | null;
  readonly groupKey: string;
  /**
   * reaper's own wrappers of this task (setpriv, cgroup mover, unshare; outermost first), folded
   * into this row: the row shows the user's command with a marker. Empty for most rows.
   */
  readonly wrappers: readonly ProcInfo[];
  /** Several-host screen: the host this process runs on. */
  readonly host?: string;
}

/** The marker before a command that runs inside reaper's folded wrappers. */
export const WRAPPED_MARKER = '⊂ ';

/** The process a row stands for when it is tagged or acted on: its outermost folded wrapper, else itself. */
export function rowTarget(row: ProcRow): ProcInfo {
  return row.wrappers[0] ?? row.proc;
}

export type Row = GroupRow | ProcRow;

/** Tags and folds are identities, and on the several-host screen identities of one host. */
export function hostKey(host: string | undefined, k: ProcKey): string {
  return host === undefined ? procKeyString(k) : `${host}|${procKeyString(k)}`;
}

/** The identity key a row is tagged by. */
export function rowTagKey(row: ProcRow): string {
  return hostKey(row.host, rowTarget(row));
}

export interface RowsInput {
  readonly snapshot: Snapshot | null;
  readonly gpu: GpuState;
  readonly verdicts: ReadonlyMap<number, Verdict>;
  readonly runs: readonly RunSummary[];
}

export function isLeftover(verdicts: ReadonlyMap<number, Verdict>, pid: number): boolean {
  const v = verdicts.get(pid);
  return v !== undefined && v.reasons.length > 0;
}


function matchesFilter(p: ProcInfo, f: string): boolean {
  if (f === '') return true;
  const needle = f.toLowerCase();
  return (
    String(p.pid).includes(needle) ||
    (p.user ?? '').toLowerCase().includes(needle) ||
    p.cmd.toLowerCase().includes(needle) ||
    (p.runId ?? '').toLowerCase().includes(needle)
  );
}

interface Sub {
  readonly members: ReadonlySet<number>;
  readonly children: ReadonlyMap<number, number[]>;
  readonly roots: number[];
}

/** Restrict parent links to `members`: roots are members whose parent is not a member. */
function subForest(snapshot: Snapshot, members: ReadonlySet<number>): Sub {
  const children = new Map<number, number[]>();
  const roots: number[] = [];
  for (const pid of members) {
    const p = snapshot.byPid.get(pid);
    if (!p) continue;
    if (p.ppid !== pid && members.has(p.ppid)) {
      let l = children.get(p.ppid);
      if (!l) children.set(p.ppid, (l = []));
      l.push(pid);
    } else roots.push(pid);
  }
  for (const l of children.values()) l.sort((a, b) => a - b);
  roots.sort((a, b) => a - b);
  return { members, children, roots };
}

/** All members reachable downward from `pids` through the full snapshot (the holder's tree). */
function withDescendants(pids: Iterable<number>, allChildren: ReadonlyMap<number, number[]>, inScope: (pid: number) => boolean): Set<number> {
  const out = new Set<number>();
  const stack = [...pids];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (out.has(pid) || !inScope(pid)) continue;
    out.add(pid);
    for (const c of allChildren.get(pid) ?? []) stack.push(c);
  }
  return out;
}

function childrenOf(snapshot: Snapshot): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (const p of snapshot.processes) {
    if (p.ppid === p.pid || !snapshot.byPid.has(p.ppid)) continue;
    let l = m.get(p.ppid);
    if (!l) m.set(p.ppid, (l = []));
    l.push(p.pid);
  }
  return m;
}

function emitGroup(
  out: Row[],
  snapshot: Snapshot,
  sub: Sub,
  groupKey: string,
  header: Omit<GroupRow, 'kind' | 'key' | 'pids'> | null,
  opts: ViewOptions,
  verdicts: ReadonlyMap<number, Verdict>,
  gpuMem: ReadonlyMap<number, number>,
): void {
  const filtering = opts.filter !== '' || opts.leftoversOnly;
  let keep: Set<number> | null = null;
  const matched = new Set<number>();
  if (filtering) {
    keep = new Set<number>();
    for (const pid of sub.members) {
      const p = snapshot.byPid.get(pid);
      if (!p) continue;
      if (opts.leftoversOnly && !isLeftover(verdicts, pid)) continue;
      if (!matchesFilter(p, opts.filter)) continue;
      matched.add(pid);
      keep.add(pid);
      let cur = p;
      while (sub.members.has(cur.ppid) && cur.ppid !== cur.pid && !keep.has(cur.ppid)) {
        keep.add(cur.ppid);
        const next = snapshot.byPid.get(cur.ppid);
        if (!next) break;
        cur = next;
      }
    }
    if (keep.size === 0) return;
  }
  const shown = keep ?? sub.members;
  if (header) out.push({ kind: 'group', key: groupKey, ...header, pids: [...shown].sort((a, b) => a - b) });
  const kidsOf = (pid: number): number[] => (sub.children.get(pid) ?? []).filter((c) => shown.has(c));
  const countBelow = (pid: number): number => {
    let n = 0;
    const stack = [...kidsOf(pid)];
    while (stack.length > 0) {
      const c = stack.pop()!;
      n++;
      stack.push(...kidsOf(c));
    }
    return n;
  };
  const walk = (pid: number, depth: number, prefix: string, last: boolean, wrappers: readonly ProcInfo[] = []): void => {
    const p = snapshot.byPid.get(pid);
    if (!p) return;
    const kids = kidsOf(pid);
    // One of reaper's wrappers with one child shown: no row of its own, a marker on the child's.
    if (kids.length === 1 && isReaperWrapper(p)) {
      walk(kids[0]!, depth, prefix, last, [...wrappers, p]);
      return;
    }
    const mem = [p, ...wrappers].reduce<number | null>((n, x) => {
      const m = gpuMem.get(x.pid);
      return m === undefined ? n : (n ?? 0) + m;
    }, null);
    const idKey = procKeyString(p);
    const folded = kids.length > 0 && opts.folded.has(idKey);
    out.push({
      kind: 'proc',
      key: `${groupKey}/${idKey}`,
      proc: p,
      depth,
      prefix: depth === 0 ? '' : prefix + ' \\_ ',
      hasChildren: kids.length > 0,
      folded,
      hiddenCount: folded ? countBelow(pid) : 0,
      leftover: isLeftover(verdicts, pid) || wrappers.some((w) => isLeftover(verdicts, w.pid)),
      context: filtering && !matched.has(pid),
      gpuMemMiB: mem,
      groupKey,
      wrappers,
    });
    if (folded) return;
    const childPrefix = depth === 0 ? '' : prefix + (last ? '    ' : ' |  ');
    kids.forEach((k, i) => walk(k, depth + 1, childPrefix, i === kids.length - 1));
  };
  const roots = sub.roots.filter((r) => shown.has(r));
  roots.forEach((r, i) => walk(r, 0, '', i === roots.length - 1));
}

export function buildRows(input: RowsInput, opts: ViewOptions): Row[] {
  const { snapshot, gpu, verdicts, runs } = input;
  if (!snapshot) return [];
  const inScope = (pid: number): boolean => {
    const p = snapshot.byPid.get(pid);
    if (!p || p.isKernelThread) return false;
    return opts.allUsers || p.uid === snapshot.selfUid;
  };
  const out: Row[] = [];
  // The one join of GPU holders to processes (model/gpu.ts), shared with the analysis and ls.
  const holdings = gpuHoldingsOf({ gpu, processes: snapshot.processes });
  const allMem = appMemoryByPid(holdings);

  if (opts.grouping === 'all') {
    const members = new Set<number>();
    for (const p of snapshot.processes) if (inScope(p.pid)) members.add(p.pid);
    emitGroup(out, snapshot, subForest(snapshot, members), 'all', null, opts, verdicts, allMem);
    return out;
  }

  const kids = childrenOf(snapshot);
  const placed = new Set<number>();

  if (opts.grouping === 'gpu') {
    for (const g of gpu.gpus) {
      const holders = new Set([...gpuHolders(holdings, g.uuid)].filter(inScope));
      const members = withDescendants(holders, kids, inScope);
      for (const pid of members) placed.add(pid);
      const simLabel = gpu.source === 'simulated' && !/simulated/i.test(g.name) ? ' (simulated)' : '';
      const label = `GPU ${g.index} ${g.name}${simLabel}: ${holders.size} holder${holders.size === 1 ? '' : 's'}`;
      const before = out.length;
      emitGroup(out, snapshot, subForest(snapshot, members), `gpu:${g.uuid}`, { label, runId: null }, opts, verdicts, appMemoryByPid(holdings, g.uuid));
      if (out.length === before && !(opts.filter !== '' || opts.leftoversOnly)) {
        out.push({ kind: 'group', key: `gpu:${g.uuid}`, label, runId: null, pids: [] });
      }
    }
  } else {
    const ids: string[] = [];
    const seen = new Set<string>();
    const ordered = [...runs].sort((a, b) => Number(b.live) - Number(a.live) || b.startedAtMs - a.startedAtMs);
    const add = (id: string): void => {
      if (seen.has(id)) return;
      seen.add(id);
      ids.push(id);
    };
    for (const r of ordered) add(r.id);
    for (const p of snapshot.processes) if (p.runId && inScope(p.pid)) add(p.runId);
    for (const id of ids) {
      const members = new Set<number>();
      for (const p of snapshot.processes) if (p.runId === id && inScope(p.pid)) members.add(p.pid);
      const run = runs.find((r) => r.id === id);
      for (const pid of members) placed.add(pid);
      // An ended run with a record keeps its (empty) row: Enter on it shows its history.
      if (members.size === 0 && !run) continue;
      const flag = run && launcherGone(run) ? ' LAUNCHER GONE' : '';
      const label = run
        ? `run ${id} ${run.name} (${run.state}${flag}): ${members.size} process${members.size === 1 ? '' : 'es'}`
        : `run ${id} (no record): ${members.size} process${members.size === 1 ? '' : 'es'}`;
      const before = out.length;
      emitGroup(out, snapshot, subForest(snapshot, members), `run:${id}`, { label, runId: id }, opts, verdicts, allMem);
      if (out.length === before && !(opts.filter !== '' || opts.leftoversOnly)) {
        out.push({ kind: 'group', key: `run:${id}`, label, runId: id, pids: [] });
      }
    }
  }

  // Leftovers that fell in no group are never hidden by a grouping.
  const rest = new Set<number>();
  for (const p of snapshot.processes) if (!placed.has(p.pid) && inScope(p.pid) && isLeftover(verdicts, p.pid)) rest.add(p.pid);
  if (rest.size > 0) {
    const label = opts.grouping === 'gpu' ? 'leftovers on no GPU' : 'leftovers in no run';
    // Their descendants come along as context, except those already shown in a group above.
    const members = withDescendants(rest, kids, (pid) => inScope(pid) && !placed.has(pid));
    emitGroup(out, snapshot, subForest(snapshot, members), 'other', { label, runId: null }, opts, verdicts, allMem);
  }
  return out;
}

/** A host's own line: "host2  ok · 310 ms · reaper 0.1.0 · 12 processes" or its error (pure). */
function hostLabel(h: HostPane, processes: number | null): string {
  const l = h.data.link;
  if (!l) return `${h.name}  this machine${processes !== null ? ` · ${processes} process${processes === 1 ? '' : 'es'}` : ''}`;
  if (l.state === 'error') return `${h.name}  ${l.error?.kind ?? 'error'}: ${l.error?.message ?? 'no connection'}`;
  if (l.state === 'connecting' || !h.data.snapshot) return `${h.name}  connecting…`;
  const parts = ['ok'];
  if (l.latencyMs !== null) parts.push(`${l.latencyMs} ms`);
  if (l.reaperVersion) parts.push(`reaper ${l.reaperVersion}`);
  if (processes !== null) parts.push(`${processes} process${processes === 1 ? '' : 'es'}`);
  return `${h.name}  ${parts.join(' · ')}`;
}

/**
 * Several hosts: each host's own line first, then its rows grouped as on one machine (by GPU, by
 * run, all). Every row carries its host; keys and folds are per host (pids repeat across hosts).
 * A host in error, or not yet connected, is its one line.
 */
export function buildHostRows(hosts: readonly HostPane[], opts: ViewOptions): Row[] {
  const out: Row[] = [];
  for (const h of hosts) {
    const prefix = `${h.name}|`;
    const folded = new Set<string>();
    for (const k of opts.folded) if (k.startsWith(prefix)) folded.add(k.slice(prefix.length));
    const d = h.data;
    const own = d.snapshot && d.link?.state !== 'error' ? buildRows({ snapshot: d.snapshot, gpu: d.gpu, verdicts: d.verdicts, runs: d.runs }, { ...opts, folded }) : [];
    const shown = d.snapshot ? d.snapshot.processes.filter((p) => !p.isKernelThread && (opts.allUsers || p.uid === d.snapshot!.selfUid)).length : null;
    const link: HostLink = d.link ?? { state: 'ok', error: null, latencyMs: null, reaperVersion: null };
    out.push({ kind: 'group', key: `host:${h.name}`, label: hostLabel(h, d.link?.state === 'error' ? null : shown), runId: null, pids: [], host: h.name, link });
    for (const r of own) {
      if (r.kind === 'group') out.push({ ...r, key: prefix + r.key, host: h.name });
      else out.push({ ...r, key: prefix + r.key, groupKey: prefix + r.groupKey, host: h.name });
    }
  }
  return out;
}
