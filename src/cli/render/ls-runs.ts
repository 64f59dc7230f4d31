/**
 * The runs part of `reaper ls`: every live run, and every ended run that still has processes
 * (its survivors), so a detached run or a crashed launcher's leftovers show up in `ls` too. Pure.
 */
import type { RunSummary } from '../../model/run.js';
import type { Snapshot } from '../../model/snapshot.js';
import { sanitizeText } from '../../model/sanitize.js';

export interface LsRun {
  readonly id: string;
  readonly name: string;
  readonly state: RunSummary['state'];
  readonly live: boolean;
  readonly startedAtMs: number;
  readonly endedAtMs: number | null;
  /** Live processes carrying REAPER_RUN=id. */
  readonly processes: number;
  readonly tasks: { readonly running: number; readonly succeeded: number; readonly failed: number; readonly pending: number };
}

export function buildLsRuns(runs: readonly RunSummary[] | null, snapshot: Snapshot): LsRun[] {
  const members = new Map<string, number>();
  for (const p of snapshot.processes) if (p.runId !== null) members.set(p.runId, (members.get(p.runId) ?? 0) + 1);
  return (runs ?? [])
    .filter((r) => r.live || (members.get(r.id) ?? 0) > 0)
    .sort((a, b) => a.startedAtMs - b.startedAtMs)
    .map((r) => ({
      id: r.id,
      name: r.name,
      state: r.state,
      live: r.live,
      startedAtMs: r.startedAtMs,
      endedAtMs: r.endedAtMs,
      processes: members.get(r.id) ?? 0,
      tasks: {
        running: r.tasks.filter((t) => t.status === 'running').length,
        succeeded: r.tasks.filter((t) => t.status === 'succeeded').length,
        failed: r.tasks.filter((t) => t.status === 'failed').length,
        pending: r.tasks.filter((t) => t.status === 'pending').length,
      },
    }));
}

/** One line per run, after the forest; empty when there is none. */
export function renderLsRunsText(runs: readonly LsRun[]): string {
  if (runs.length === 0) return '';
  const lines = runs.map((r) => {
    const who = r.live ? r.state : `${r.state}, launcher gone, ${r.processes} process${r.processes === 1 ? '' : 'es'} left (reaper reap --run ${r.id})`;
    const t = r.tasks;
    // Ids, names and states come from journals: the whole line goes through the sanitiser.
    return sanitizeText(`run ${r.id} ${r.name}: ${who}; tasks ${t.succeeded} ok, ${t.failed} failed, ${t.running} running, ${t.pending} pending`);
  });
  return `\n${lines.join('\n')}\n`;
}
