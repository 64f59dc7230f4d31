/** Hand-built snapshots for pure tests of ls and analysis-facing code. */
import { NO_GPU_STATE, type GpuState } from '../../src/model/gpu.js';
import type { ProcInfo } from '../../src/model/proc.js';
import type { Snapshot } from '../../src/model/snapshot.js';

export function fakeProc(over: Partial<ProcInfo> & { pid: number }): ProcInfo {
  const pid = over.pid;
  return {
    startTime: 1000 + pid,
    ppid: 1,
    pgid: pid,
    sid: pid,
    ttyNr: 0,
    tty: null,
    tpgid: -1,
    state: 'S',
    stat: 'S',
    nice: 0,
    threads: 1,
    uid: 1000,
    user: 'alice',
    comm: `p${pid}`,
    argv: [`p${pid}`],
    cmd: `p${pid}`,
    rssKiB: 1024,
    cpuTicks: 0,
    cpuPercent: null,
    wchan: null,
    tracerPid: 0,
    isKernelThread: false,
    runId: null,
    taskId: null,
    nvidiaMinors: [],
    ...over,
  };
}

export function fakeSnapshot(processes: ProcInfo[], gpu: GpuState = NO_GPU_STATE, selfUid = 1000): Snapshot {
  const sorted = [...processes].sort((a, b) => a.pid - b.pid);
  return {
    takenAtMs: 1_700_000_100_000,
    bootTimeMs: 1_700_000_000_000,
    clockTicks: 100,
    uptimeSec: 100,
    selfPid: 99999,
    selfUid,
    selfAncestors: [],
    processes: sorted,
    byPid: new Map(sorted.map((p) => [p.pid, p] as const)),
    gpu,
  };
}

export function fakeGpuState(count: number, apps: GpuState['apps'] = []): GpuState {
  return {
    source: 'simulated',
    ok: true,
    error: null,
    gpus: Array.from({ length: count }, (_, i) => ({
      index: i,
      uuid: `GPU-0000000${i}-aaaa-bbbb-cccc-dddddddddddd`,
      name: 'Simulated GPU',
      busId: `0000:0${i}:00.0`,
      utilizationGpu: 10 * i,
      memoryUsedMiB: 100,
      memoryTotalMiB: 81920,
      temperatureC: 40,
      powerDrawW: null,
      powerLimitW: 300,
      pstate: 'P0',
      persistenceMode: true,
      migMode: null,
      minor: i,
      missing: { 'power.draw': '[N/A]' },
    })),
    apps,
    sampledAtMs: 1_700_000_100_000,
  };
}
