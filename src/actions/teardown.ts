/**
 * Teardown of a run (launcher and guardian): finds the members by itself, then applies the same
 * ladder as `reaper reap`. Members are every process with REAPER_RUN=<runId> in its environment,
 * every member of the given process groups and every descendant of the given roots (roots are
 * checked by identity: a reused pid is not a root).
 */
import { planForPids } from '../analysis/index.js';
import type { ProcKey } from '../model/index.js';
import { takeSnapshot } from '../probe/snapshot.js';
import { executeReap, type ExecuteOptions, type ReapResult } from './execute.js';

export interface TeardownOptions {
  readonly runId?: string;
  readonly roots?: readonly ProcKey[];
  readonly pgids?: readonly number[];
  readonly mode: 'term' | 'kill';
  readonly graceMs: number;
  readonly onProgress?: ExecuteOptions['onProgress'];
}

export async function teardown(opts: TeardownOptions): Promise<ReapResult[]> {
  const snapshot = await takeSnapshot();
  const pgids = new Set(opts.pgids ?? []);
  const selected: number[] = [];
  for (const p of snapshot.processes) {
    if (p.isKernelThread || p.pid <= 1) continue;
    const inRun = opts.runId !== undefined && p.runId === opts.runId;
    const inGroup = pgids.has(p.pgid) && p.pgid > 1;
    const isRoot = (opts.roots ?? []).some((r) => r.pid === p.pid && r.startTime === p.startTime);
    if (inRun || inGroup || isRoot) selected.push(p.pid);
  }
  if (selected.length === 0) return [];
  // allUsers: a run's members are torn down whoever owns them; the kernel refuses what we may not touch.
  const plan = planForPids(snapshot, new Map(), selected, { action: opts.mode, graceMs: opts.graceMs, allUsers: true });
  const execOpts: ExecuteOptions = {};
  if (opts.onProgress) execOpts.onProgress = opts.onProgress;
  // The run's own task groups: a process that joins one while the ladder runs is a member too.
  return executeReap(pgids.size > 0 ? { ...plan, groups: [...pgids] } : plan, execOpts);
}
