/**
 * Pure: what the screen says about a run, from its record only. Whoever ends a run writes its
 * end record; the screen shows what the record says and never keeps a clock running for
 * something that has ended.
 */
import type { RunSummary, TaskSummary } from '../model/index.js';

/**
 * "LAUNCHER GONE": the run has no end record and neither its launcher nor its guardian is
 * alive (`live` is derived against the snapshot). A run that the guardian or `reap --run`
 * ended has an end record, whatever state it records.
 */
export function launcherGone(r: RunSummary): boolean {
  return r.endedAtMs === null && !r.live;
}

/**
 * When a task's clock stops: its own end, else its run's end (a run that ended while the task
 * was still running or pending), else it is still counting (`now`).
 */
export function taskEndMs(task: TaskSummary, run: RunSummary, nowMs: number | null): number | null {
  return task.endedAtMs ?? run.endedAtMs ?? nowMs;
}

/** Seconds between start and end, or null when either is unknown. */
export function spanSec(startMs: number | null, endMs: number | null): number | null {
  if (startMs === null || endMs === null) return null;
  return Math.max(0, (endMs - startMs) / 1000);
}
