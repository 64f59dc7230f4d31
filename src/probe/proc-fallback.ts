/**
 * Fallback where /proc does not exist (macOS, BSD): ps-list, which runs `ps`. It knows no
 * state, pgid, sid, tty or thread count, so those are placeholders ('S', -1, null) and
 * `stat` is "?"; nothing here is precise enough to signal by. Linux never comes here.
 */
import { uptime, userInfo } from 'node:os';
import { ancestors } from '../model/forest.js';
import { NO_GPU_STATE, type GpuState } from '../model/gpu.js';
import type { ProcInfo } from '../model/proc.js';
import { sanitizeText } from '../model/sanitize.js';
import type { Snapshot } from '../model/snapshot.js';

export async function readProcessesFallback(gpu: GpuState = NO_GPU_STATE): Promise<Snapshot> {
  const { default: psList } = await import('ps-list');
  const list = await psList({ all: true });
  const clockTicks = 100;
  const uptimeSec = uptime();
  const takenAtMs = Date.now();
  const bootTimeMs = takenAtMs - uptimeSec * 1000;
  let selfUser: { uid: number; name: string } | null = null;
  try {
    const u = userInfo();
    selfUser = { uid: u.uid, name: u.username };
  } catch {
    selfUser = null;
  }
  const processes: ProcInfo[] = list
    .map((p): ProcInfo => {
      const start = p.startTime ? Math.max(0, Math.round(((p.startTime.getTime() - bootTimeMs) / 1000) * clockTicks)) : 0;
      const cmd = p.cmd ?? '';
      const argv = cmd ? cmd.split(' ') : [];
      return Object.freeze({
        pid: p.pid,
        startTime: start,
        ppid: p.ppid,
        pgid: -1,
        sid: -1,
        ttyNr: 0,
        tty: null,
        tpgid: -1,
        state: 'S',
        stat: '?',
        nice: 0,
        threads: 1,
        uid: p.uid ?? null,
        user: selfUser && p.uid === selfUser.uid ? selfUser.name : null,
        comm: sanitizeText(p.name),
        argv,
        cmd: cmd ? sanitizeText(cmd) : `[${sanitizeText(p.name)}]`,
        rssKiB: null,
        cpuTicks: 0,
        cpuPercent: p.cpu ?? null,
        wchan: null,
        tracerPid: null,
        isKernelThread: false,
        runId: null,
        taskId: null,
        nvidiaMinors: null,
      });
    })
    .sort((a, b) => a.pid - b.pid);
  const byPid = new Map(processes.map((p) => [p.pid, p] as const));
  return Object.freeze({
    takenAtMs,
    bootTimeMs,
    clockTicks,
    uptimeSec,
    selfPid: process.pid,
    selfUid: process.getuid ? process.getuid() : -1,
    selfAncestors: ancestors(byPid, process.pid),
    processes,
    byPid,
    gpu,
  });
}
