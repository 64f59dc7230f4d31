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

/**
 * The post-mortem's processes: driver 900 SIGKILLed, pool workers 901/902 adopted by init, each
 * running a sample (903/904) that holds GPU 0. `groupLeaderAlive`: a subshell (890) still leads
 * the group; `sessionAlive`: the login shell (880) is still there. `tty` goes on every process.
 */
export function postmortemProcesses(groupLeaderAlive: boolean, sessionAlive: boolean, tty: Partial<ProcInfo>): ProcInfo[] {
  const pgid = groupLeaderAlive ? 890 : 900;
  const ps = [
    proc({ pid: 50 }),
    ...(sessionAlive ? [proc({ pid: 880, ppid: 50, pgid: 880, sid: 880, comm: 'bash', ...tty })] : []),
    ...(groupLeaderAlive ? [proc({ pid: 890, ppid: 880, pgid: 890, sid: 880, comm: 'sh', argv: ['sh', '-c', 'python3 batch_sampleandeval_parallel.py; sleep 600'], ...tty })] : []),
  ];
  for (const [w, smp] of [[901, 903], [902, 904]] as const) {
    ps.push(proc({ pid: w, ppid: 1, pgid, sid: 880, argv: ['python3', 'batch_sampleandeval_parallel.py'], comm: 'python3', ...tty }));
    ps.push(proc({ pid: smp, ppid: w, pgid, sid: 880, argv: ['python3', 'sample_diffusion.py', String(smp)], comm: 'python3', nvidiaMinors: [0], ...tty }));
  }
  return ps;
}
