/**
 * The process snapshot engine: reads /proc directly with reused buffers and builds a frozen
 * `Snapshot`. What a scanner does per process and scan:
 *  - stat: always; from the second scan on through a kept fd and pread (one syscall) where the
 *    fd budget allows.
 *    Identical bytes to the previous scan (an idle process) → the previous frozen ProcInfo is
 *    reused as is (cheap, and stable references for the TUI).
 *  - status (real uid, VmLck for 'L', TracerPid, VmRSS): for a new identity, when state or comm
 *    changed, and every `statusRefreshEvery` scans (staggered by pid); for a process whose stat
 *    bytes did not change (idle), only every `argvRefreshEvery` scans.
 *  - statm (resident pages = VmRSS, what ps prints; stat's rss is an approximate counter, ~10 %
 *    low): when stat changed and status was not read; an idle process keeps its last value.
 *  - cmdline/environ (argv, REAPER_RUN/REAPER_TASK): once per identity, again after an exec
 *    (comm or code/stack addresses changed) and every `argvRefreshEvery` scans. cmdline is
 *    read up to CMDLINE_CAP bytes (a longer argv ends in `…`); environ is searched in
 *    ENVIRON_CHUNK pieces to its end, looking only at the bytes read: one huge argv or
 *    environment costs its own read, never a slower search of every other process.
 *  - fd links (/dev/nvidia<N>): once per identity and every `fdRefreshEvery` scans, only
 *    where an NVIDIA driver exists; never for kernel threads and zombies.
 *  - wchan: every scan, only for T/t/D.
 * A fresh scanner (takeSnapshot's first call, `reaper ls`) reads everything, so it is exact.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { ancestors } from '../model/forest.js';
import { NO_GPU_STATE, type GpuState } from '../model/gpu.js';
import type { ProcInfo } from '../model/proc.js';
import { sanitizeText } from '../model/sanitize.js';
import type { Snapshot } from '../model/snapshot.js';
import { buildCmd, NO_MARKERS, parseCmdlineBytes, type EnvMarkers } from './proc-cmdline.js';
import { readCgroup } from './proc-cgroup.js';
import { readNvidiaMinors } from './proc-fd.js';
import { CMDLINE_CAP, DENIED, ENVIRON_CHUNK, GONE, GrowBuffer, procSelfIsUs, readEnvMarkers, readSmall, readTaskCounters } from './proc-read.js';
import { emptyRawStat, formatStat, isKernelThreadStat, parseStatBytes } from './proc-stat.js';
import { parseStatmResidentPages, parseStatusBytes, type RawStatus } from './proc-status.js';
import { readStopEvidence } from './proc-stop-evidence.js';
import { clockTicksPerSecond, pageSizeBytes, readBootTimeMs, readUptimeSec } from './proc-sys.js';
import { ttyName } from './proc-tty.js';
import { createUserDb, type UserDb } from './users.js';

export interface ProcScannerOptions {
  /**
   * Re-read /proc/<pid>/status (real uid, VmLck for the STAT 'L', TracerPid) of a known
   * identity every N scans (default 8; 1 = every scan; an idle one, whose stat bytes did not
   * change, at the argvRefreshEvery cadence unless N is 1). It is always read for a new identity
   * and whenever the state letter or comm changed since the last read. status is the costly
   * file (the kernel formats ~55 lines): reading it every time doubles the scan.
   */
  readonly statusRefreshEvery?: number;
  /** Re-read /proc/<pid>/fd of a known identity every N scans (default 4; 1 = every scan). */
  readonly fdRefreshEvery?: number;
  /**
   * Re-read cmdline and environ of a known identity every N scans (default 64; for programs
   * that rewrite their argv). An exec is noticed at once: comm or the code/stack addresses in
   * stat change.
   */
  readonly argvRefreshEvery?: number;
  /**
   * A sleeping process whose stat bytes were identical on its last two reads may be left
   * unread for up to N scans (default 0: read every process every scan). The live screen uses
   * 1: on a server of mostly idle processes that halves the scan, and an idle process that
   * changes state shows it one refresh later at most. Exits still show at once (the listing), and
   * no signal ever relies on this: actions re-read the identity right before each one.
   */
  readonly idleSkip?: number;
  /**
   * Read /proc/<pid>/fd for /dev/nvidia<N> holders. 'auto' (default): only while an NVIDIA
   * driver is present (/proc/driver/nvidia or a /dev/nvidia<N> node, checked every 32 scans);
   * without one no process can hold a GPU, so nvidiaMinors is [] without reading.
   * true: always; false: never (nvidiaMinors null).
   */
  readonly readFds?: boolean | 'auto';
  /**
   * Keep /proc/<pid>/stat open between scans and re-read it with pread: one syscall per
   * process per scan instead of open+read+close (about half the cost of a scan). An open fd
   * is bound to its process, never to a later one with the same pid (its reads fail with
   * ESRCH once it has exited). Kept from the second scan on (a scanner used once keeps none).
   * At most this many for this scanner (default 32768; 0: off) and,
   * for all scanners of the process together, half the soft RLIMIT_NOFILE minus 512. On
   * EMFILE the scanner lets go of them. Call close() to release them.
   */
  readonly keepStatFds?: number;
}

export interface ProcScanner {
  scan(gpu?: GpuState): Promise<Snapshot>;
  /** The same, synchronously (benchmarks, the reap executor's tight rescans). */
  scanSync(gpu?: GpuState): Snapshot;
  /** Close the kept /proc/<pid>/stat fds (the scanner still works; it reopens as needed). */
  close(): void;
  /** How many scans listed /proc (readdir); the others reused the last listing (tests). */
  listings(): number;
}

/** Kept stat fds of all scanners in this process, and the most they may hold together. */
let keptFdsTotal = 0;
let keptBudget: number | null = null;
function keptFdsBudget(): number {
  if (keptBudget === null) keptBudget = Math.max(0, Math.min(32768, Math.floor((softFileLimit() ?? 1024) / 2) - 512));
  return keptBudget;
}

/** Soft RLIMIT_NOFILE from /proc/self/limits; null when unknown or unlimited. */
function sameList<T>(a: readonly T[] | null, b: readonly T[] | null): boolean {
  if (a === b) return true;
  if (a === null || b === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function softFileLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    return m && m[1] !== 'unlimited' ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

interface CacheEntry {
  startTime: number;
  status: RawStatus;
  /** State letter and comm when status was read: a change triggers a re-read. */
  statusState: string;
  statusComm: string;
  /** Raw comm and code/stack addresses when argv was read: exec changes them, so a change re-reads argv. */
  comm: string;
  startCode: number;
  startStack: number;
  argv: readonly string[] | null;
  cmd: string;
  markers: EnvMarkers;
  /**
   * Read only for children of init or of a `systemd --user` (the processes a service manager
   * may supervise; the analysis asks no other), again after an exec; undefined: not read.
   */
  cgroup: string | null | undefined;
  /** VmRSS in KiB from status or statm; null when neither was readable. */
  rssKiB: number | null;
  minors: readonly number[] | null;
  prevTicks: number;
  prevAtMs: number;
  seen: number;
  /** The stat bytes behind `info`: identical bytes next time (an idle process) mean `info` can be reused. */
  statBytes: Buffer;
  statLen: number;
  info: ProcInfo | null;
  /** Raw comm behind info.comm (sanitised once). */
  commRaw: string;
  /** Consecutive reads with identical stat bytes, and the scan of the last read (idleSkip). */
  idleStreak: number;
  readAt: number;
}

const UNKNOWN_STATUS: RawStatus = { uid: null, lockedKiB: 0, tracerPid: null, rssKiB: 0 };
const EMPTY: readonly number[] = Object.freeze([]);
const EMPTY_ARGV: readonly string[] = Object.freeze([]);

export function createProcScanner(opts: ProcScannerOptions = {}): ProcScanner {
  if (!existsSync('/proc/self/stat')) return createFallbackScanner();
  const statusEvery = Math.max(1, opts.statusRefreshEvery ?? 8);
  const fdEvery = Math.max(1, opts.fdRefreshEvery ?? 4);
  const argvEvery = Math.max(1, opts.argvRefreshEvery ?? 64);
  const idleStatusEvery = statusEvery === 1 ? 1 : Math.max(statusEvery, argvEvery);
  const idleSkip = Math.max(0, opts.idleSkip ?? 0);
  const fdMode = opts.readFds ?? 'auto';
  let readFds = fdMode === true;
  let nvidiaCheckedAt = -Infinity;
  const statBuf = Buffer.allocUnsafe(4096);
  const statusBuf = Buffer.allocUnsafe(8192);
  const smallBuf = Buffer.allocUnsafe(256);
  const grow = new GrowBuffer(64 * 1024);
  const envBuf = Buffer.allocUnsafe(ENVIRON_CHUNK);
  const raw = emptyRawStat();
  const cache = new Map<number, CacheEntry>();
  const users: UserDb = createUserDb();
  const clk = clockTicksPerSecond();
  const pageKiB = pageSizeBytes() / 1024;
  let scanNo = 0;
  let keepMax = Math.max(0, opts.keepStatFds ?? 32768);
  /** pid → kept stat fd and the scan that last saw it. */
  const statFds = new Map<number, { fd: number; seen: number }>();

  /** stat bytes for pid into statBuf: pread on a kept fd, else open/read (and keep). */
  const readStat = (pid: number, path: string): number => {
    const kept = statFds.get(pid);
    if (kept) {
      let n = -1;
      try {
        n = readSync(kept.fd, statBuf, 0, statBuf.length, 0);
      } catch {
        n = -1; // ESRCH: that process is gone (a new one may have its pid)
      }
      if (n > 0) {
        kept.seen = scanNo;
        return n;
      }
      dropFd(pid, kept.fd);
    }
    // Kept from the second scan on: a scanner used once (a one-shot `reaper ls`) never reads a
    // file twice, and keeping 2,000 descriptors cost it ~10 % of its scan.
    if (scanNo < 2 || statFds.size >= keepMax || keptFdsTotal >= keptFdsBudget()) return readSmall(path, statBuf);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EMFILE' || code === 'ENFILE') {
        // Someone else needs descriptors more: stop keeping them.
        close();
        keepMax = 0;
        return readSmall(path, statBuf);
      }
      return GONE;
    }
    let n = GONE;
    try {
      n = readSync(fd, statBuf, 0, statBuf.length, 0);
    } catch {
      n = GONE;
    }
    if (n > 0) {
      statFds.set(pid, { fd, seen: scanNo });
      keptFdsTotal++;
    } else closeSync(fd);
    return n;
  };
  const dropFd = (pid: number, fd: number): void => {
    closeSync(fd);
    statFds.delete(pid);
    keptFdsTotal--;
  };
  function close(): void {
    for (const [pid, { fd }] of statFds) dropFd(pid, fd);
  }

  const readArgv = (pid: number): readonly string[] | null => {
    const n = grow.readAll(`/proc/${pid}/cmdline`, CMDLINE_CAP, true);
    if (n === GONE || n === DENIED) return null;
    return Object.freeze(parseCmdlineBytes(grow.buf, n, grow.truncated));
  };
  const readMarkers = (pid: number): EnvMarkers => readEnvMarkers(`/proc/${pid}/environ`, envBuf);
  const readStatmKiB = (base: string): number | null => {
    const n = readSmall(base + 'statm', smallBuf);
    if (n <= 0) return null;
    const pages = parseStatmResidentPages(smallBuf, n);
    return pages === null ? null : pages * pageKiB;
  };
  const readWchan = (pid: number): string | null => {
    const n = readSmall(`/proc/${pid}/wchan`, smallBuf);
    if (n <= 0) return null;
    const s = smallBuf.toString('latin1', 0, n).trim();
    return s === '' || s === '0' ? null : sanitizeText(s);
  };

  // The pid list of /proc, listed again only when a task was created or ended since the last
  // listing (readTaskCounters; the pid space wraps only after pid_max allocations). Saves a
  // 2,000-name readdir per refresh. Where /proc shows another PID namespace than ours (an outer
  // namespace's /proc, whose /proc/self is not our pid), every scan lists.
  const sameNamespace = procSelfIsUs();
  let listedFor: string | null = null;
  let listed: string[] = [];
  let listings = 0;
  const listProc = (): string[] => {
    if (!sameNamespace) {
      listings++;
      return readdirSync('/proc');
    }
    const c = readTaskCounters();
    const key = c ? `${c.total} ${c.lastPid}` : null;
    if (key !== null && key === listedFor) return listed;
    listed = readdirSync('/proc');
    listedFor = key;
    listings++;
    return listed;
  };

  // One scan is split into begin / entry / finish so that scan() can yield to the event loop
  // every few hundred processes: a 2,000-process scan must not hold up key presses in the TUI.
  interface ScanState {
    readonly names: string[];
    readonly processes: ProcInfo[];
    readonly noFds: readonly number[] | null;
    readonly usersChanged: boolean;
    sorted: boolean;
    lastPid: number;
  }

  const beginScan = (): ScanState => {
    scanNo++;
    const usersChanged = users.refresh();
    if (fdMode === 'auto' && scanNo - nvidiaCheckedAt >= 32) {
      readFds = nvidiaDriverPresent();
      nvidiaCheckedAt = scanNo;
    }
    const noFds: readonly number[] | null = fdMode === false ? null : EMPTY;
    const names = listProc();
    return { names, processes: [], noFds, usersChanged, sorted: true, lastPid: -1 };
  };

  const scanEntry = (st: ScanState, name: string): void => {
    const { noFds, usersChanged } = st;
    const info = ((): ProcInfo | null => {
      const c0 = name.charCodeAt(0);
      if (c0 < 48 || c0 > 57) return null;
      const pid = +name;
      if (idleSkip > 0) {
        const idle = cache.get(pid);
        if (idle && idle.info !== null && idle.idleStreak >= 2 && scanNo - idle.readAt <= idleSkip && (idle.info.state === 'S' || idle.info.state === 'I')) {
          idle.seen = scanNo;
          const kept = statFds.get(pid);
          if (kept) kept.seen = scanNo;
          return idle.info;
        }
      }
      const base = `/proc/${name}/`;
      const n = readStat(pid, base + 'stat');
      // The time of this process's own read, not the scan's start: a scan that yields or is
      // preempted reads its processes up to a second apart, and CPU% divides by this interval.
      const readAtMs = performance.now();
      if (n <= 0) return null;
      let e = cache.get(pid);
      // Same bytes as last time: same identity, state, ticks, everything in stat.
      const same = e !== undefined && e.info !== null && e.statLen === n && statBuf.compare(e.statBytes, 0, n, 0, n) === 0;
      if (e) {
        e.idleStreak = same ? e.idleStreak + 1 : 0;
        e.readAt = scanNo;
      }
      if (!same) {
        if (!parseStatBytes(statBuf, n, raw)) return null;
        if (e && e.startTime !== raw.startTime) e = undefined; // pid reused
      }
      const prev = same ? e!.info! : null;
      const state = prev ? prev.state : raw.state;
      const kernel = prev ? prev.isKernelThread : isKernelThreadStat(raw);
      const zombie = state === 'Z' || state === 'X';
      let changed = !same || usersChanged || state === 'T' || state === 't' || state === 'D';

      if (!e) {
        const ns = readSmall(base + 'status', statusBuf);
        if (ns === GONE) return null; // vanished mid-read
        const argv = kernel ? EMPTY_ARGV : readArgv(pid);
        const status = ns > 0 ? parseStatusBytes(statusBuf, ns) : UNKNOWN_STATUS;
        e = {
          startTime: raw.startTime,
          status,
          statusState: raw.state,
          statusComm: raw.comm,
          comm: raw.comm,
          startCode: raw.startCode,
          startStack: raw.startStack,
          argv,
          cmd: buildCmd(argv, raw.comm),
          markers: kernel ? NO_MARKERS : readMarkers(pid),
          cgroup: undefined,
          rssKiB: ns > 0 ? status.rssKiB : readStatmKiB(base),
          minors: kernel || zombie || !readFds ? noFds : readNvidiaMinors(pid),
          prevTicks: raw.utime + raw.stime,
          prevAtMs: readAtMs,
          seen: scanNo,
          statBytes: Buffer.allocUnsafe(Math.max(512, n)),
          statLen: 0,
          info: null,
          commRaw: '',
          idleStreak: 0,
          readAt: scanNo,
        };
        cache.set(pid, e);
        changed = true;
      } else {
        const stagger = pid + scanNo;
        let rssKiB = e.rssKiB;
        let rssRead = false;
        // An idle process (stat bytes as before) changes its uid, locked memory or tracer only in
        // a run too short to move its ticks: its status is refreshed at the argv cadence.
        if ((!same && (e.statusState !== raw.state || e.statusComm !== raw.comm)) || stagger % (same ? idleStatusEvery : statusEvery) === 0) {
          const ns = readSmall(base + 'status', statusBuf);
          if (ns === GONE) return null;
          const st = ns > 0 ? parseStatusBytes(statusBuf, ns) : UNKNOWN_STATUS;
          if (st.uid !== e.status.uid || st.lockedKiB !== e.status.lockedKiB || st.tracerPid !== e.status.tracerPid) changed = true;
          e.status = st;
          if (ns > 0) {
            rssKiB = st.rssKiB;
            rssRead = true;
          }
          if (!same) {
            e.statusState = raw.state;
            e.statusComm = raw.comm;
          }
        }
        // stat changed (it ran, or its approximate rss moved): the exact figure from statm.
        if (!rssRead && !same) rssKiB = readStatmKiB(base);
        if (rssKiB !== e.rssKiB) {
          e.rssKiB = rssKiB;
          changed = true;
        }
        const exec = !same && (e.comm !== raw.comm || e.startCode !== raw.startCode || e.startStack !== raw.startStack);
        if (!kernel && (exec || stagger % argvEvery === 0)) {
          const argv = readArgv(pid);
          if (!sameList(argv, e.argv)) {
            e.argv = argv;
            changed = true;
          }
          if (!same) {
            e.comm = raw.comm;
            e.startCode = raw.startCode;
            e.startStack = raw.startStack;
          }
          e.cmd = buildCmd(e.argv, e.comm);
          const markers = readMarkers(pid);
          if (markers.runId !== e.markers.runId || markers.taskId !== e.markers.taskId) {
            e.markers = markers;
            changed = true;
          }
          if (exec) e.cgroup = undefined;
        }
        let minors = e.minors;
        if (kernel || zombie || !readFds) minors = noFds;
        else if (stagger % fdEvery === 0 || minors === noFds) minors = readNvidiaMinors(pid);
        if (!sameList(minors, e.minors)) {
          e.minors = minors;
          changed = true;
        }
      }

      if (!changed && prev && prev.cpuPercent === 0) {
        // An idle process whose stat, status, argv and fds are as before: reuse its frozen record.
        e.prevAtMs = readAtMs;
        e.seen = scanNo;
        return prev;
      }
      if (same && !parseStatBytes(statBuf, n, raw)) return null;

      const cpuTicks = raw.utime + raw.stime;
      let cpuPercent: number | null = null;
      if (e.info !== null) {
        const dt = (readAtMs - e.prevAtMs) / 1000;
        if (dt > 0) cpuPercent = Math.max(0, ((cpuTicks - e.prevTicks) / clk / dt) * 100);
      }
      e.prevTicks = cpuTicks;
      e.prevAtMs = readAtMs;
      e.seen = scanNo;
      const status = e.status;
      if (e.cgroup === undefined && !kernel && (raw.ppid === 1 || cache.get(raw.ppid)?.comm === 'systemd')) e.cgroup = readCgroup(pid);
      const info: ProcInfo = Object.freeze({
        pid,
        startTime: raw.startTime,
        ppid: raw.ppid,
        pgid: raw.pgid,
        sid: raw.sid,
        ttyNr: raw.ttyNr,
        tty: raw.ttyNr === 0 ? null : ttyName(raw.ttyNr),
        tpgid: raw.tpgid,
        state: raw.state,
        stat: formatStat({
          state: raw.state,
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
        comm: e.info !== null && e.info.comm !== undefined && e.commRaw === raw.comm ? e.info.comm : sanitizeText(raw.comm),
        argv: e.argv,
        cmd: e.cmd,
        rssKiB: e.rssKiB,
        cpuTicks,
        cpuPercent,
        wchan: raw.state === 'T' || raw.state === 't' || raw.state === 'D' ? readWchan(pid) : null,
        tracerPid: status.tracerPid,
        isKernelThread: kernel,
        runId: e.markers.runId,
        taskId: e.markers.taskId,
        nvidiaMinors: e.minors,
        cgroup: e.cgroup ?? null,
        // Why it stopped, from its system call (T only: changed is always true for T, so fresh).
        stopEvidence: raw.state === 'T' ? readStopEvidence(pid) : null,
      });
      e.info = info;
      e.commRaw = raw.comm;
      if (!same) {
        if (e.statBytes.length < n) e.statBytes = Buffer.allocUnsafe(n * 2);
        statBuf.copy(e.statBytes, 0, 0, n);
        e.statLen = n;
      }
      return info;
    })();
    if (info === null) return;
    st.processes.push(info);
    if (info.pid < st.lastPid) st.sorted = false;
    st.lastPid = info.pid;
  };

  const finishScan = (st: ScanState, gpu: GpuState): Snapshot => {
    const { processes } = st;
    for (const [pid, e] of cache) if (e.seen !== scanNo) cache.delete(pid);
    for (const [pid, kept] of statFds) if (kept.seen !== scanNo) dropFd(pid, kept.fd);
    if (!st.sorted) processes.sort((a, b) => a.pid - b.pid);
    return buildSnapshot(processes, gpu, clk);
  };

  const scanSync = (gpu: GpuState = NO_GPU_STATE): Snapshot => {
    const st = beginScan();
    for (const name of st.names) scanEntry(st, name);
    return finishScan(st, gpu);
  };

  const YIELD_EVERY = 256;
  // Scans share buffers and caches: a second scan() waits for the one in flight.
  let inFlight: Promise<unknown> = Promise.resolve();
  const scan = (gpu: GpuState = NO_GPU_STATE): Promise<Snapshot> => {
    const next = inFlight.then(() => scanYielding(gpu));
    inFlight = next.catch(() => undefined);
    return next;
  };
  const scanYielding = async (gpu: GpuState): Promise<Snapshot> => {
    const st = beginScan();
    for (let k = 0; k < st.names.length; k++) {
      if (k > 0 && k % YIELD_EVERY === 0) await new Promise<void>((r) => setImmediate(r));
      scanEntry(st, st.names[k]!);
    }
    return finishScan(st, gpu);
  };

  return {
    scanSync,
    close,
    scan,
    listings: () => listings,
  };
}

/** Is an NVIDIA driver here at all? Without one, no process can hold /dev/nvidia<N>. */
function nvidiaDriverPresent(): boolean {
  if (existsSync('/proc/driver/nvidia')) return true;
  try {
    return readdirSync('/dev').some((n) => n.startsWith('nvidia') && /^nvidia\d+$/.test(n));
  } catch {
    return false;
  }
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
    close: () => undefined,
    listings: () => 0,
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
