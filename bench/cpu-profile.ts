/**
 * A V8 CPU profile (node --cpu-prof) summed into the few kinds of work that decide a one-shot
 * command's time: each sample goes to the first bucket that claims it, by its own frame and
 * its callers.
 */

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface Bucket {
  readonly name: string;
  readonly ms: number;
  readonly note: string;
}

const SYSCALLS = new Set(['open', 'read', 'close', 'readdir', 'readlink', 'fstat', 'lstat', 'stat']);

const BUCKETS: ReadonlyArray<{ readonly name: string; readonly note: string }> = [
  { name: '/proc scan, system calls', note: 'open/read/close of /proc files (kernel + binding)' },
  { name: '/proc scan, JavaScript', note: 'parsing, records, marker search' },
  { name: 'module loading', note: 'resolve, read, compile, evaluate' },
  { name: 'garbage collection', note: '' },
  { name: 'runs, analysis, JSON', note: 'journals, verdicts, document, output' },
  { name: 'node start and the rest', note: 'bootstrap, idle, natives elsewhere' },
];

function bucketOf(leaf: ProfileNode, parentOf: ReadonlyMap<number, ProfileNode>): number {
  if (leaf.callFrame.functionName === '(garbage collector)') return 3;
  let inProbe = false;
  let inModules = false;
  let inSrc = false;
  for (let n: ProfileNode | undefined = leaf; n; n = parentOf.get(n.id)) {
    const url = n.callFrame.url;
    if (url.includes('/src/probe/')) inProbe = true;
    else if (url.includes('/src/')) inSrc = true;
    if (url.startsWith('node:internal/modules/')) inModules = true;
  }
  if (inProbe) return SYSCALLS.has(leaf.callFrame.functionName) && leaf.callFrame.url === '' ? 0 : 1;
  if (inModules) return 2;
  if (inSrc) return 4;
  return 5;
}

/** Self time in ms per bucket, in the order of BUCKETS, plus the total. */
export function profileBuckets(p: CpuProfile): Bucket[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, ProfileNode>();
  for (const n of p.nodes) for (const c of n.children ?? []) parentOf.set(c, n);
  const ms = BUCKETS.map(() => 0);
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const leaf = byId.get(p.samples[i]!);
    const d = (p.timeDeltas[i] ?? 0) / 1000;
    total += d;
    if (leaf) ms[bucketOf(leaf, parentOf)]! += d;
  }
  return [
    ...BUCKETS.map((b, i) => ({ name: b.name, ms: ms[i]!, note: b.note })),
    { name: 'total (profiled)', ms: total, note: 'one run under --cpu-prof (slower than unprofiled)' },
  ];
}
