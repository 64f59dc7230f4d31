/**
 * The header's machine figures: whole-machine CPU busy % from /proc/stat deltas and memory from
 * /proc/meminfo. Pure parsers plus one reader; systeminformation's currentLoad() is not used
 * because it shells out synchronously (facts.md).
 */
import { readFileSync } from 'node:fs';

export interface CpuTimes {
  /** Sum of all jiffies on the aggregate "cpu" line. */
  readonly total: number;
  /** idle + iowait. */
  readonly idle: number;
  /** Number of "cpuN" lines. */
  readonly count: number;
}

/** /proc/stat → aggregate CPU times, or null when the text has no "cpu " line. */
export function parseCpuTimes(text: string): CpuTimes | null {
  let agg: CpuTimes | null = null;
  let count = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) {
      const f = line.trim().split(/\s+/).slice(1).map(Number);
      if (f.length < 4 || f.some((x) => !Number.isFinite(x))) return null;
      // user nice system idle iowait irq softirq steal (guest fields are already in user/nice)
      const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
      const idle = (f[3] ?? 0) + (f[4] ?? 0);
      agg = { total, idle, count: 0 };
    } else if (/^cpu\d+ /.test(line)) count++;
  }
  return agg ? { ...agg, count } : null;
}

/** Busy % of the whole machine between two readings (100 = every CPU busy); null if unknown. */
export function cpuPercentBetween(prev: CpuTimes | null, cur: CpuTimes | null): number | null {
  if (!prev || !cur) return null;
  const dt = cur.total - prev.total;
  if (dt <= 0) return null;
  const busy = dt - (cur.idle - prev.idle);
  return Math.max(0, Math.min(100, (busy / dt) * 100));
}

export interface MemInfo {
  readonly totalKiB: number | null;
  readonly usedKiB: number | null;
}

/** /proc/meminfo → total and used (total - MemAvailable, the way free(1) counts "used"). */
export function parseMeminfo(text: string): MemInfo {
  const get = (k: string): number | null => {
    const m = new RegExp(`^${k}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
  const total = get('MemTotal');
  let avail = get('MemAvailable');
  if (avail === null) {
    const free = get('MemFree');
    const buffers = get('Buffers');
    const cached = get('Cached');
    avail = free !== null ? free + (buffers ?? 0) + (cached ?? 0) : null;
  }
  return { totalKiB: total, usedKiB: total !== null && avail !== null ? Math.max(0, total - avail) : null };
}

export interface HostFigures {
  readonly cpu: CpuTimes | null;
  readonly cpuPercent: number | null;
  readonly mem: MemInfo;
}

/**
 * Reads /proc/stat and /proc/meminfo (unreadable: unknown figures); `prev` is the last reading's
 * CPU times. Synchronous, like the scanner's /proc reads: the kernel formats both in memory in
 * microseconds, where the promise API's open/fstat/read/close through the thread pool cost the
 * screen ~0.7 ms of every refresh (profile, 2-core VM).
 */
export function readHostFigures(prev: CpuTimes | null): HostFigures {
  const stat = readProcText('/proc/stat');
  const mem = readProcText('/proc/meminfo');
  const cpu = parseCpuTimes(stat);
  return { cpu, cpuPercent: cpuPercentBetween(prev, cpu), mem: parseMeminfo(mem) };
}

function readProcText(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
}
