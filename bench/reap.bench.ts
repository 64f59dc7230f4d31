/**
 * Reaping a 500-process tree that keeps forking (10 members replace themselves with a fresh
 * fork every ~10 ms, 50 members stopped): reaper's stop-rescan-kill executor against tree-kill
 * (the design card's pick), same run, same tree shape. Measures wall time and survivors (live
 * processes still carrying the tree's unique marker 1 s later); each tree is cleaned up fully
 * afterwards (process group + marker) before the next starts.
 * Run alone: node dist-<x>/bench/reap.bench.js
 */
import treeKill from 'tree-kill';
import { executeReap } from '../src/actions/index.js';
import { planForPids } from '../src/analysis/index.js';
import { takeSnapshot } from '../src/probe/snapshot.js';
import { cleanup, FIXTURES, liveWithMarker, PYTHON, spawnFixture, uniqueMarker } from '../test/helpers/reap-trees.js';

import type { BenchRow } from './bench-row.js';

const TOTAL = 500;
const FORKERS = 10;
const STOPPED = 50;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function buildTree(): Promise<{ marker: string; root: number; size: number }> {
  const marker = uniqueMarker('reapbench');
  const t = await spawnFixture<{ root: number }>([PYTHON, FIXTURES + 'forking_tree.py', marker, String(TOTAL), String(FORKERS), String(STOPPED)], { timeoutMs: 60_000, quiet: true });
  const deadline = Date.now() + 60_000;
  let size = 0;
  while (Date.now() < deadline) {
    const live = liveWithMarker(marker);
    size = live.length;
    if (size >= TOTAL - FORKERS && live.filter((p) => p.state === 'T').length >= STOPPED) break;
    await sleep(100);
  }
  await sleep(300);
  return { marker, root: t.pid, size: liveWithMarker(marker).length };
}

async function survivorsAfter(marker: string): Promise<number> {
  await sleep(1000);
  return liveWithMarker(marker).length;
}

function fullCleanup(marker: string, root: number): number {
  cleanup({ pgids: [root], pids: [root], marker });
  return liveWithMarker(marker).length;
}

async function withReaper(): Promise<{ ms: number; survivors: number; size: number; left: number }> {
  const { marker, root, size } = await buildTree();
  try {
    const t0 = performance.now();
    const snapshot = await takeSnapshot();
    const plan = planForPids(snapshot, new Map(), [root], { action: 'kill', graceMs: 0, allUsers: false });
    await executeReap(plan);
    const ms = performance.now() - t0;
    return { ms, survivors: await survivorsAfter(marker), size, left: fullCleanup(marker, root) };
  } finally {
    fullCleanup(marker, root);
  }
}

async function withTreeKill(): Promise<{ ms: number; survivors: number; size: number; left: number }> {
  const { marker, root, size } = await buildTree();
  try {
    const t0 = performance.now();
    await new Promise<void>((resolve) => treeKill(root, 'SIGKILL', () => resolve()));
    const ms = performance.now() - t0;
    return { ms, survivors: await survivorsAfter(marker), size, left: fullCleanup(marker, root) };
  } finally {
    fullCleanup(marker, root);
  }
}

export async function bench(): Promise<BenchRow[]> {
  const r = await withReaper();
  const k = await withTreeKill();
  const note = (x: { size: number; left: number }) => `tree of ${x.size} live at start; ${x.left} left after cleanup`;
  return [
    { group: 'reap 500 forking', name: 'reaper stop-rescan-kill', value: r.ms, unit: 'ms', note: note(r) },
    { group: 'reap 500 forking', name: 'reaper survivors', value: r.survivors, unit: 'procs' },
    { group: 'reap 500 forking', name: 'tree-kill', value: k.ms, unit: 'ms', note: note(k) },
    { group: 'reap 500 forking', name: 'tree-kill survivors', value: k.survivors, unit: 'procs' },
    { group: 'reap 500 forking', name: 'tree-kill / reaper time', value: k.ms / Math.max(1, r.ms), unit: 'x' },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  bench().then(
    (rows) => {
      for (const row of rows) console.log(`${row.group.padEnd(18)} ${row.name.padEnd(26)} ${row.value.toFixed(row.unit === 'x' ? 1 : 0).padStart(8)} ${row.unit}${row.note ? '  ' + row.note : ''}`);
    },
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
