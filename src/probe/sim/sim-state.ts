/**
 * State of the simulated GPUs, derived from /proc alone (stateless across calls, so any
 * number of simulator processes agree). A process "holds" simulated GPU <N> when its
 * environment has CUDA_VISIBLE_DEVICES whose first entry is N (or that GPU's uuid) and
 * REAPER_SIM_GPU_MIB=<MiB>, the allocation marker the demo batch's scripts set.
 * Utilisation comes from the holders' CPU use: over their lifetime for a one-shot call,
 * over the last tick in loop mode (the only state, kept in one simulator process).
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { GrowBuffer, procSelfIsUs, readTaskCounters } from '../proc-read.js';
import { readStatSync } from '../proc-stat.js';
import { isReaperWrapper } from '../../model/wrappers.js';
import { SIM_GPU_NAME, SIM_MIB_ENV, simUuid } from './sim-constants.js';

const SIM_MEMORY_TOTAL_MIB = 81559;
export const SIM_BASE_MIB = 4;
const SIM_POWER_LIMIT_W = 300;

export interface SimHolder {
  readonly pid: number;
  readonly startTime: number;
  readonly gpu: number;
  readonly mib: number;
  readonly processName: string;
  readonly cpuTicks: number;
  /** Parent pid: a marked child of a marked parent on the same GPU is a worker, not a holder. */
  readonly ppid?: number;
}

export interface SimGpu {
  readonly index: number;
  readonly uuid: string;
  readonly name: string;
  readonly busId: string;
  readonly utilizationGpu: number;
  readonly utilizationMemory: number;
  readonly memoryUsedMiB: number;
  readonly memoryTotalMiB: number;
  readonly temperatureC: number;
  readonly powerDrawW: number;
  readonly powerLimitW: number;
  readonly pstate: string;
  readonly holders: readonly SimHolder[];
}

/** "1", "1,0", "GPU-5eed…", "" → the GPU index it selects first, or null. Pure. */
export function parseVisibleDevices(value: string, count: number): number | null {
  const first = value.split(',')[0]?.trim() ?? '';
  if (/^\d+$/.test(first)) {
    const n = Number(first);
    return n < count ? n : null;
  }
  for (let i = 0; i < count; i++) if (first === simUuid(i)) return i;
  return null;
}

/** environ block (NUL-separated) → the holder's GPU and MiB, or null. Pure. */
export function parseHolderEnv(environ: Buffer | string, count: number): { gpu: number; mib: number } | null {
  const text = typeof environ === 'string' ? environ : environ.toString('latin1');
  let cvd: string | null = null;
  let mib: number | null = null;
  for (const kv of text.split('\0')) {
    if (kv.startsWith('CUDA_VISIBLE_DEVICES=')) cvd = kv.slice('CUDA_VISIBLE_DEVICES='.length);
    else if (kv.startsWith(SIM_MIB_ENV + '=')) {
      const v = kv.slice(SIM_MIB_ENV.length + 1).trim();
      mib = /^\d{1,7}$/.test(v) ? Number(v) : null;
    }
  }
  if (cvd === null || mib === null) return null;
  const gpu = parseVisibleDevices(cvd, count);
  return gpu === null ? null : { gpu, mib };
}

/** Derives the GPUs from holders and their CPU use. Pure. */
export function buildSimGpus(count: number, holders: readonly SimHolder[], cpuPercentOf: (h: SimHolder) => number): SimGpu[] {
  const gpus: SimGpu[] = [];
  for (let i = 0; i < count; i++) {
    const mine = holders.filter((h) => h.gpu === i).sort((a, b) => a.pid - b.pid);
    const cpu = mine.reduce((s, h) => s + cpuPercentOf(h), 0);
    const util = Math.max(0, Math.min(100, Math.round(cpu)));
    const used = Math.min(SIM_MEMORY_TOTAL_MIB, SIM_BASE_MIB + mine.reduce((s, h) => s + h.mib, 0));
    gpus.push({
      index: i,
      uuid: simUuid(i),
      name: SIM_GPU_NAME,
      busId: `00000000:${(0x10 + i).toString(16).toUpperCase().padStart(2, '0')}:00.0`,
      utilizationGpu: util,
      utilizationMemory: Math.round(util * 0.6),
      memoryUsedMiB: used,
      memoryTotalMiB: SIM_MEMORY_TOTAL_MIB,
      temperatureC: 31 + (i % 4) + Math.round(util * 0.45),
      powerDrawW: Math.round((55 + (mine.length > 0 ? 12 : 0) + util * 2.2) * 100) / 100,
      powerLimitW: SIM_POWER_LIMIT_W,
      pstate: mine.length > 0 ? 'P0' : 'P8',
      holders: mine,
    });
  }
  return gpus;
}

/** Environment markers cached per identity (loop mode): environ never changes for one. */
export type EnvCache = Map<string, { gpu: number; mib: number; processName: string } | null>;

// The probe's readers: one growable buffer for environ/cmdline, stat through parseStat.
const grow = new GrowBuffer(256 * 1024);

/** Whole /proc file into the shared buffer (sync: the simulator is its own process). */
function readProcFile(path: string): Buffer | null {
  const n = grow.readAll(path);
  return n < 0 ? null : grow.buf.subarray(0, n);
}

const MARKER = Buffer.from(SIM_MIB_ENV + '=');

/**
 * Reads every holder from /proc. Never throws; vanished or unreadable processes are skipped.
 * Synchronous with one reused buffer: ~2,000 processes in tens of ms, where async reads
 * took about a second on a loaded machine.
 */
/**
 * Loop mode: pids last seen as non-holders, with the tick they were checked on. Their stat is
 * not re-read for RECHECK_TICKS ticks (a pid reused by a new holder in that window shows up
 * late, never wrongly); this keeps the simulator's cost per tick near a readdir.
 */
export interface NonHolderCache {
  tick: number;
  readonly checkedAt: Map<number, number>;
  /**
   * The last pid the kernel handed out when /proc was last listed (readTaskCounters),
   * and every marked process found then (before topmostHolders). While it stays the same no
   * process was created, so no new holder can exist: a tick re-reads only those (exits, new
   * parents, CPU ticks) instead of listing /proc. Counted in `listSkipped`.
   */
  lastPid?: number | null;
  /** /proc shows our own PID namespace (procSelfIsUs), checked once: else every tick lists. */
  sameNamespace?: boolean;
  marked?: readonly SimHolder[];
  listSkipped?: number;
}
const RECHECK_TICKS = 10;

export async function readSimHolders(
  count: number,
  opts: { selfPid?: number; cache?: EnvCache; nonHolders?: NonHolderCache } = {},
): Promise<SimHolder[]> {
  const nh = opts.nonHolders;
  if (nh) {
    nh.sameNamespace ??= procSelfIsUs();
    const lastPid = nh.sameNamespace ? (readTaskCounters()?.lastPid ?? null) : null;
    if (lastPid !== null && lastPid === nh.lastPid && nh.marked) {
      nh.tick++;
      nh.listSkipped = (nh.listSkipped ?? 0) + 1;
      nh.marked = restatHolders(nh.marked);
      return topmostHolders(nh.marked);
    }
    nh.lastPid = lastPid;
  }
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const selfPid = opts.selfPid ?? process.pid;
  const seen = new Set<string>();
  const out: SimHolder[] = [];
  if (nh) nh.tick++;
  const livePids = nh ? new Set<number>() : null;
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(name);
    if (pid === selfPid) continue;
    livePids?.add(pid);
    const checked = nh?.checkedAt.get(pid);
    if (nh && checked !== undefined && nh.tick - checked < RECHECK_TICKS) continue;
    const st = readStatSync(pid);
    if (!st || st.state === 'Z' || st.state === 'X') continue;
    const key = `${pid}:${st.startTime}`;
    seen.add(key);
    let marker = opts.cache?.get(key);
    if (marker === undefined) {
      const env = readProcFile(`/proc/${pid}/environ`);
      const holder = env && env.includes(MARKER) ? parseHolderEnv(env, count) : null;
      // reaper's own wrapper of a task (unshare --fork stays as the parent) inherits the marker
      // but allocates nothing: the memory belongs to the user's command under it.
      const runId = holder && env ? envValue(env, 'REAPER_RUN') : null;
      const argv = holder ? readArgv(pid) : null;
      const wrapper = holder !== null && isReaperWrapper({ pid, pgid: st.pgid, sid: st.sid, runId, argv });
      marker = holder && !wrapper ? { ...holder, processName: processNameOf(pid, argv) } : null;
      // An unreadable environ (EACCES, gone) is not cached: it may be readable next time.
      if (env) opts.cache?.set(key, marker);
    }
    if (!marker) {
      if (nh && markerSettled(opts.cache, key)) nh.checkedAt.set(pid, nh.tick);
      continue;
    }
    nh?.checkedAt.delete(pid);
    out.push({ pid, ppid: st.ppid, startTime: st.startTime, gpu: marker.gpu, mib: marker.mib, processName: marker.processName, cpuTicks: st.utime + st.stime });
  }
  if (opts.cache) {
    for (const k of [...opts.cache.keys()]) {
      const pid = Number(k.slice(0, k.indexOf(':')));
      // Skipped non-holders were not "seen" this tick; keep their entries while the pid lives.
      if (!seen.has(k) && !(livePids?.has(pid) && nh?.checkedAt.has(pid))) opts.cache.delete(k);
    }
  }
  if (nh && livePids) for (const pid of [...nh.checkedAt.keys()]) if (!livePids.has(pid)) nh.checkedAt.delete(pid);
  if (nh) nh.marked = out;
  return topmostHolders(out);
}

/** The same holders read again: the gone, reused and zombie ones dropped, ppid and CPU fresh. */
function restatHolders(holders: readonly SimHolder[]): SimHolder[] {
  const out: SimHolder[] = [];
  for (const h of holders) {
    const st = readStatSync(h.pid);
    if (!st || st.startTime !== h.startTime || st.state === 'Z' || st.state === 'X') continue;
    out.push({ ...h, ppid: st.ppid, cpuTicks: st.utime + st.stime });
  }
  return out;
}

/**
 * Like a CUDA context, the allocation belongs to the process that made it: children that
 * inherited the marker (data-loader workers) are not holders while their marked parent on the
 * same GPU lives. Once that parent is gone they count again: the post-mortem's orphaned
 * workers "still holding GPU memory". Pure.
 */
export function topmostHolders(holders: readonly SimHolder[]): SimHolder[] {
  const gpuOf = new Map(holders.map((h) => [h.pid, h.gpu]));
  return holders.filter((h) => h.ppid === undefined || gpuOf.get(h.ppid) !== h.gpu);
}

/** True when the marker lookup for this identity is settled (cached), i.e. environ was readable. */
function markerSettled(cache: EnvCache | undefined, key: string): boolean {
  return cache !== undefined && cache.has(key);
}

/** One variable of an environ block (NUL-separated), or null. Pure. */
function envValue(environ: Buffer | string, name: string): string | null {
  const text = typeof environ === 'string' ? environ : environ.toString('latin1');
  const prefix = name + '=';
  for (const kv of text.split('\0')) if (kv.startsWith(prefix)) return kv.slice(prefix.length);
  return null;
}

/** argv from /proc/PID/cmdline, or null when unreadable. */
function readArgv(pid: number): string[] | null {
  const cmd = readProcFile(`/proc/${pid}/cmdline`);
  if (!cmd) return null;
  const argv = cmd.toString('utf8').split('\0');
  if (argv.length > 0 && argv[argv.length - 1] === '') argv.pop();
  return argv;
}

/** What nvidia-smi shows as process_name: the executable path as started (argv[0]), else comm. */
function processNameOf(pid: number, argv: readonly string[] | null): string {
  if (argv && argv[0]) return argv[0];
  const comm = readProcFile(`/proc/${pid}/comm`);
  return comm ? comm.toString('utf8').trim() : '[unknown]';
}

/** Seconds since boot and clock ticks per second, for lifetime CPU%. */
export async function readUptimeSec(): Promise<number> {
  try {
    return Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);
  } catch {
    return 0;
  }
}

export const CLOCK_TICKS = 100;

/** Lifetime CPU% of a holder (one-shot calls). */
export function lifetimeCpuPercent(h: SimHolder, uptimeSec: number, hz = CLOCK_TICKS): number {
  const alive = uptimeSec - h.startTime / hz;
  if (alive <= 0.05) return 0;
  return (h.cpuTicks / hz / alive) * 100;
}
