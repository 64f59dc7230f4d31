/** Hand-built snapshots for the pure analysis tests (helper "reap"). */
import { NO_GPU_STATE, type GpuState, type ProcInfo, type RunSummary, type Snapshot } from '../../src/model/index.js';
import { fakeProc } from './proc-fake.js';

export function proc(over: Partial<ProcInfo> & { pid: number }): ProcInfo {
  const state = over.state ?? 'S';
  return fakeProc({ state, stat: state, ...over });
}

export function snap(processes: ProcInfo[], opts: { gpu?: GpuState; selfUid?: number; selfPid?: number; selfAncestors?: number[] } = {}): Snapshot {
  const all = processes.some((p) => p.pid === 1) ? processes : [proc({ pid: 1, ppid: 0, uid: 0, user: 'root', comm: 'init', pgid: 1, sid: 1 }), ...processes];
  const sorted = [...all].sort((a, b) => a.pid - b.pid);
  return {
    takenAtMs: 1_700_000_100_000,
    bootTimeMs: 1_700_000_000_000,
    clockTicks: 100,
    uptimeSec: 100_000,
    selfPid: opts.selfPid ?? 99_999,
    selfUid: opts.selfUid ?? 1000,
    selfAncestors: opts.selfAncestors ?? [],
    processes: sorted,
    byPid: new Map(sorted.map((p) => [p.pid, p] as const)),
    gpu: opts.gpu ?? NO_GPU_STATE,
  };
}

export function runSummary(id: string, live: boolean): RunSummary {
  return {
    id,
    name: id,
    dir: `/tmp/${id}`,
    startedAtMs: 1_700_000_000_000,
    endedAtMs: live ? null : 1_700_000_050_000,
    launcher: { pid: 4242, startTime: 5 },
    guardian: null,
    live,
    state: live ? 'running' : 'crashed',
    tasks: [],
  };
}
