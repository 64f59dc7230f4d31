/** Machine-wide values: clock ticks, page size (from /proc/self/auxv), boot time, uptime. */
import { readFileSync } from 'node:fs';

const AT_PAGESZ = 6;
const AT_CLKTCK = 17;

let auxv: { clockTicks: number; pageSize: number } | null = null;

/** Pure: AT_CLKTCK and AT_PAGESZ from /proc/self/auxv bytes (64-bit little-endian pairs). */
export function parseAuxv(buf: Buffer): { clockTicks: number | null; pageSize: number | null } {
  let clockTicks: number | null = null;
  let pageSize: number | null = null;
  for (let off = 0; off + 16 <= buf.length; off += 16) {
    const type = Number(buf.readBigUInt64LE(off));
    const value = Number(buf.readBigUInt64LE(off + 8));
    if (type === 0) break;
    if (type === AT_CLKTCK) clockTicks = value;
    if (type === AT_PAGESZ) pageSize = value;
  }
  return { clockTicks, pageSize };
}

function readAuxv(): { clockTicks: number; pageSize: number } {
  if (auxv) return auxv;
  let clockTicks: number | null = null;
  let pageSize: number | null = null;
  try {
    if (process.arch === 'x64' || process.arch === 'arm64' || process.arch === 'ppc64' || process.arch === 'riscv64' || process.arch === 's390x') {
      ({ clockTicks, pageSize } = parseAuxv(readFileSync('/proc/self/auxv')));
    }
  } catch {
    // fall through to defaults
  }
  auxv = { clockTicks: clockTicks && clockTicks > 0 ? clockTicks : 100, pageSize: pageSize && pageSize > 0 ? pageSize : 4096 };
  return auxv;
}

/** sysconf(_SC_CLK_TCK), 100 on every mainstream Linux. */
export function clockTicksPerSecond(): number {
  return readAuxv().clockTicks;
}

export function pageSizeBytes(): number {
  return readAuxv().pageSize;
}

/** Pure: btime (seconds since epoch) from /proc/stat text. */
export function parseBootTime(procStat: string): number | null {
  const m = /^btime\s+(\d+)/m.exec(procStat);
  return m ? Number(m[1]) : null;
}

let bootTimeMs: number | null = null;

/** Boot time, ms since epoch. btime is fixed for a boot, so it is read once. */
export function readBootTimeMs(): number {
  if (bootTimeMs !== null) return bootTimeMs;
  const btime = parseBootTime(readFileSync('/proc/stat', 'latin1'));
  if (btime === null) throw new Error('/proc/stat has no btime line');
  bootTimeMs = btime * 1000;
  return bootTimeMs;
}

/** Seconds since boot (first number of /proc/uptime). */
export function readUptimeSec(): number {
  const text = readFileSync('/proc/uptime', 'latin1');
  return Number(text.slice(0, text.indexOf(' ')));
}

/** Now, in the unit of a process's start time in /proc/PID/stat (clock ticks since boot), rounded up. */
export function uptimeTicks(): number {
  return Math.ceil(readUptimeSec() * clockTicksPerSecond());
}
