import type { ProcInfo } from './proc.js';

/** Parent/child links of one snapshot. Pure. */
export interface Forest {
  readonly roots: readonly number[];
  readonly children: ReadonlyMap<number, readonly number[]>;
  readonly byPid: ReadonlyMap<number, ProcInfo>;
}

export function buildForest(processes: readonly ProcInfo[]): Forest {
  const byPid = new Map<number, ProcInfo>();
  for (const p of processes) byPid.set(p.pid, p);
  const children = new Map<number, number[]>();
  const roots: number[] = [];
  for (const p of processes) {
    if (p.ppid !== p.pid && byPid.has(p.ppid)) {
      let list = children.get(p.ppid);
      if (!list) children.set(p.ppid, (list = []));
      list.push(p.pid);
    } else {
      roots.push(p.pid);
    }
  }
  for (const list of children.values()) list.sort((a, b) => a - b);
  roots.sort((a, b) => a - b);
  return { roots, children, byPid };
}

/** All descendants of `pid` (not including it), breadth first. */
export function descendants(forest: Forest, pid: number, opts: { readonly stopAt?: (p: ProcInfo) => boolean } = {}): number[] {
  const out: number[] = [];
  const queue = [...(forest.children.get(pid) ?? [])];
  while (queue.length > 0) {
    const next = queue.shift()!;
    out.push(next);
    // `stopAt`: listed, but what is below it is not entered.
    const p = opts.stopAt ? forest.byPid.get(next) : undefined;
    if (p && opts.stopAt!(p)) continue;
    for (const c of forest.children.get(next) ?? []) queue.push(c);
  }
  return out;
}

/** Ancestors of `pid`, nearest first, stopping at a missing parent or a cycle. */
export function ancestors(byPid: ReadonlyMap<number, Pick<ProcInfo, 'pid' | 'ppid'>>, pid: number): number[] {
  const out: number[] = [];
  const seen = new Set<number>([pid]);
  let cur = byPid.get(pid);
  while (cur && cur.ppid > 0 && !seen.has(cur.ppid)) {
    out.push(cur.ppid);
    seen.add(cur.ppid);
    cur = byPid.get(cur.ppid);
  }
  return out;
}

/** Depth-first order with depth, for tree displays (`ps f`). */
export function flattenForest(forest: Forest, roots: readonly number[] = forest.roots): Array<{ pid: number; depth: number; last: boolean; prefix: string }> {
  const out: Array<{ pid: number; depth: number; last: boolean; prefix: string }> = [];
  const walk = (pid: number, depth: number, last: boolean, prefix: string): void => {
    out.push({ pid, depth, last, prefix });
    const kids = forest.children.get(pid) ?? [];
    kids.forEach((k, i) => walk(k, depth + 1, i === kids.length - 1, depth === 0 ? '' : prefix + (last ? '    ' : ' |  ')));
  };
  roots.forEach((r, i) => walk(r, 0, i === roots.length - 1, ''));
  return out;
}
