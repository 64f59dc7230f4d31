import type { GpuState } from './gpu.js';
import type { ProcInfo } from './proc.js';

/**
 * A frozen picture of the machine. Everything pure (analysis, views) takes one of
 * these as input; only src/probe builds them.
 */
export interface Snapshot {
  /** Wall clock when the scan finished (ms since epoch). */
  readonly takenAtMs: number;
  /** Boot time (ms since epoch), from /proc/stat btime: startTime ticks → wall clock. */
  readonly bootTimeMs: number;
  /** Clock ticks per second (getconf CLK_TCK, 100 on Linux). */
  readonly clockTicks: number;
  /** Seconds since boot when the scan ran (from /proc/uptime). */
  readonly uptimeSec: number;
  /** Who is looking: reaper's own pid, uid and its ancestor pids (the operator's shell, sshd…). */
  readonly selfPid: number;
  readonly selfUid: number;
  readonly selfAncestors: readonly number[];
  /** Every process, sorted by pid. */
  readonly processes: readonly ProcInfo[];
  readonly byPid: ReadonlyMap<number, ProcInfo>;
  readonly gpu: GpuState;
}

/** Seconds a process has been alive at snapshot time. */
export function elapsedSec(s: Pick<Snapshot, 'uptimeSec' | 'clockTicks'>, startTimeTicks: number): number {
  return Math.max(0, s.uptimeSec - startTimeTicks / s.clockTicks);
}
