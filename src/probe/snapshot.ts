/**
 * The process snapshot engine: reads /proc directly with reused buffers and builds a frozen
 * `Snapshot`. A scanner keeps, per identity (pid + start time), what does not change (argv,
 * REAPER_* markers) and the previous CPU ticks for CPU%. Open GPU device files change, so they
 * are re-read every few scans (staggered by pid so no scan pays for all of them).
 */
import { existsSync, readdirSync } from 'node:fs';
import { ancestors } from '../model/forest.js';
import { NO_GPU_STATE, type GpuState } from '../model/gpu.js';
import type { ProcInfo } from '../model/proc.js';
import { sanitizeText } from '../model/sanitize.js';
import type { Snapshot } from '../model/snapshot.js';
import { buildCmd, NO_MARKERS, parseCmdlineBytes, parseEnvMarkersBytes, type EnvMarkers } from './proc-cmdline.js';
import { readNvidiaMinors } from './proc-fd.js';
import { DENIED, GONE, GrowBuffer, readSmall } from './proc-read.js';
import { emptyRawStat, formatStat, isKernelThreadStat, parseStatBytes } from './proc-stat.js';
import { parseStatusBytes, type RawStatus } from './proc-status.js';
import { clockTicksPerSecond, pageSizeBytes, readBootTimeMs, readUptimeSec } from './proc-sys.js';
import { ttyName } from './proc-tty.js';
import { createUserDb, type UserDb } from './users.js';

export interface ProcScannerOptions {
  /** Re-read /proc/<pid>/fd of a known identity every N scans (default 4; 1 = every scan). */
  readonly fdRefreshEvery?: number;
  /** Re-read cmdline and environ of a known identity every N scans (default 16). */
  readonly argvRefreshEvery?: number;
  /** Read /proc/<pid>/fd at all (default true). Off: nvidiaMinors is null. */
  readonly readFds?: boolean;
}

export interface ProcScanner {
  scan(gpu?: GpuState): Promise<Snapshot>;
  /** The same, synchronously (benchmarks, the reap executor's tight rescans). */
  scanSync(gpu?: GpuState): Snapshot;
}

interface CacheEntry {
  startTime: number;
  /** Raw comm when argv was read: exec changes comm, so a change means re-read argv. */
  comm: string;
  argv: readonly string[] | null;
  cmd: string;
  markers: EnvMarkers;
  minors: readonly number[] | null;
  prevTicks: number;
  prevAtMs: number;
  seen: number;
}

const UNKNOWN_STATUS: RawStatus = { uid: null, lockedKiB: 0, tracerPid: null };
const EMPTY: readonly number[] = Object.freeze([]);
const EMPTY_ARGV: readonly string[] = Object.freeze([]);

export function createProcScanner(opts: ProcScannerOptions = {}): ProcScanner {
  if (!existsSync('/proc/self/stat')) return createFallbackScanner();
  const fdEvery = Math.max(1, opts.fdRefreshEvery ?? 4);
  const argvEvery = Math.max(1, opts.argvRefreshEvery ?? 16);
  const readFds = opts.readFds ?? true;
  const statBuf = Buffer.allocUnsafe(4096);
  const statusBuf = Buffer.allocUnsafe(8192);
  const smallBuf = Buffer.allocUnsafe(256);
  const grow = new GrowBuffer(64 * 1024);
  const raw = emptyRawStat();
  const cache = new Map<number, CacheEntry>();
  const users: UserDb = createUserDb();
  const clk = clockTicksPerSecond();
  const pageKiB = pageSizeBytes() / 1024;
  let scanNo = 0;

  const readArgv = (pid: number): readonly string[] | null => {
    const n = grow.readAll(`/proc/${pid}/cmdline`);
    if (n === GONE || n === DENIED) return null;
    return Object.freeze(parseCmdlineBytes(grow.buf, n));
  };
  const readMarkers = (pid: number): EnvMarkers => {
    const n = grow.readAll(`/proc/${pid}/environ`);
    if (n <= 0) return NO_MARKERS;
    return parseEnvMarkersBytes(grow.buf, n);
  };
  const readWchan = (pid: number): string | null => {
    const n = readSmall(`/proc/${pid}/wchan`, smallBuf);
    if (n <= 0) return null;
    const s = smallBuf.toString('latin1', 0, n).trim();
    return s === '' || s === '0' ? null : sanitizeText(s);
  };

  const scanSync = (gpu: GpuState = NO_GPU_STATE): Snapshot => {
    scanNo++;
    users.refresh();
    const nowMs = performance.now();
    const names = readdirSync('/proc');
    const processes: ProcInfo[] = [];
    let sorted = true;
    let lastPid = -1;
    for (let k = 0; k < names.length; k++) {
      const name = names[k]!;
      const c0 = name.charCodeAt(0);
      if (c0 < 48 || c0 > 57) continue;
      const pid = +name;
      const base = `/proc/${name}/`;
      const n = readSmall(base + 'stat', statBuf);
      if (n <= 0 || !parseStatBytes(statBuf, n, raw)) continue;
      const ns = readSmall(base + 'status', statusBuf);
      if (ns === GONE) continue; // vanished mid-read
      const status = ns > 0 ? parseStatusBytes(statusBuf, ns) : UNKNOWN_STATUS;
      const kernel = isKernelThreadStat(raw);
      const cpuTicks = raw.utime + raw.stime;

      let e = cache.get(pid);
      if (e && e.startTime !== raw.startTime) e = undefined; // pid reused
      const stagger = (pid + scanNo) % fdEvery === 0;
      let cpuPercent: number | null = null;
      if (!e) {
        const argv = kernel ? EMPTY_ARGV : readArgv(pid);
        e = {
          startTime: raw.startTime,
          comm: raw.comm,
          argv,
          cmd: buildCmd(argv, raw.comm),
          markers: kernel ? NO_MARKERS : readMarkers(pid),
          minors: kernel ? EMPTY : readFds ? readNvidiaMinors(pid) : null,
          prevTicks: cpuTicks,
          prevAtMs: nowMs,
          seen: scanNo,
        };
        cache.set(pid, e);
      } else {
        if (!kernel && (e.comm !== raw.comm || (pid + scanNo) % argvEvery === 0)) {
          const argv = readArgv(pid);
          e.comm = raw.comm;
          e.argv = argv;
          e.cmd = buildCmd(argv, raw.comm);
          e.markers = readMarkers(pid);
        }
        if (!kernel && readFds && stagger) e.minors = readNvidiaMinors(pid);
        const dt = (nowMs - e.prevAtMs) / 1000;
        if (dt > 0) cpuPercent = Math.max(0, ((cpuTicks - e.prevTicks) / clk / dt) * 100);
        e.prevTicks = cpuTicks;
        e.prevAtMs = nowMs;
        e.seen = scanNo;
      }

      const state = raw.state;
      const info: ProcInfo = {
        pid,
        startTime: raw.startTime,
        ppid: raw.ppid,
        pgid: raw.pgid,
        sid: raw.sid,
        ttyNr: raw.ttyNr,
        tty: raw.ttyNr === 0 ? null : ttyName(raw.ttyNr),
        tpgid: raw.tpgid,
        state,
        stat: formatStat({
          state,
          nice: raw.nice,
          lockedKiB: status.lockedKiB,
          pid,
          sid: raw.sid,
          threads: raw.numThreads,
          pgid: raw.pgid,
          tpgid: raw.tpgid,
        }),
        nice: raw.nice,
        threads: raw.numThreads,
        uid: status.uid,
        user: users.nameOf(status.uid),
        comm: sanitizeText(raw.comm),
        argv: e.argv,
        cmd: e.cmd,
        rssKiB: raw.rssPages * pageKiB,
        cpuTicks,
        cpuPercent,
        wchan: state === 'T' || state === 't' || state === 'D' ? readWchan(pid) : null,
        tracerPid: status.tracerPid,
        isKernelThread: kernel,
        runId: e.markers.runId,
        taskId: e.markers.taskId,
        nvidiaMinors: e.minors,
      };
      processes.push(Object.freeze(info));
      if (pid < lastPid) sorted = false;
      lastPid = pid;
    }
    for (const [pid, e] of cache) if (e.seen !== scanNo) cache.delete(pid);
    if (!sorted) processes.sort((a, b) => a.pid - b.pid);
    return buildSnapshot(processes, gpu, clk);
  };

  return {
    scanSync,
    scan: (gpu?: GpuState) => new Promise<Snapshot>((resolve, reject) => {
      try {
        resolve(scanSync(gpu));
      } catch (err) {
        reject(err);
      }
    }),
  };
}

function buildSnapshot(processes: ProcInfo[], gpu: GpuState, clockTicks: number): Snapshot {
  const byPid = new Map<number, ProcInfo>();
  for (const p of processes) byPid.set(p.pid, p);
  const selfPid = process.pid;
  return Object.freeze({
    takenAtMs: Date.now(),
    bootTimeMs: readBootTimeMs(),
    clockTicks,
    uptimeSec: readUptimeSec(),
    selfPid,
    selfUid: process.getuid ? process.getuid() : -1,
    selfAncestors: Object.freeze(ancestors(byPid, selfPid)),
    processes: Object.freeze(processes),
    byPid,
    gpu,
  });
}

function createFallbackScanner(): ProcScanner {
  const scan = async (gpu: GpuState = NO_GPU_STATE): Promise<Snapshot> => {
    const { readProcessesFallback } = await import('./proc-fallback.js');
    return readProcessesFallback(gpu);
  };
  return {
    scan,
    scanSync: () => {
      throw new Error('synchronous scan needs /proc');
    },
  };
}

let shared: ProcScanner | null = null;

/**
 * One snapshot. Uses a scanner shared within this process, so repeated calls (a reap's
 * rescans) reuse the argv cache and report CPU% since the previous call.
 */
export function takeSnapshot(opts: { gpu?: GpuState } = {}): Promise<Snapshot> {
  if (!shared) shared = createProcScanner();
  return shared.scan(opts.gpu);
}
