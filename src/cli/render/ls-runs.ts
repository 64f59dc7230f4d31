/**
 * The runs part of `reaper ls`: every live run, every ended run that still has processes (its
 * survivors), and every Slurm run with jobs still pending or running, so a detached run or a
 * crashed launcher's leftovers show up in `ls` too. A Slurm run lists its open jobs (state,
 * reason or node, elapsed, exit) with the process trees of those running on this machine. Pure.
 */
import { jobLine, jobsLeft, launcherGoneText } from '../../analysis/run-jobs.js';
import { buildForest, flattenForest } from '../../model/forest.js';
import type { RunSummary, SlurmJobStatus, SlurmRunsStatus } from '../../model/run.js';
import { elapsedSec, type Snapshot } from '../../model/snapshot.js';
import { sanitizeText } from '../../model/sanitize.js';
import { formatElapsed } from './ls-text.js';

/** One recorded Slurm job in `ls --json` (README: "reaper ls --json"). */
export interface LsJob {
  readonly id: string;
  readonly name: string;
  readonly task: number;
  readonly stage: string;
  readonly attempt: number;
  /** Slurm's state; null when Slurm no longer lists the job (or could not be asked). */
  readonly state: string | null;
  /** Still pending or running. */
  readonly active: boolean;
  readonly reason: string | null;
  readonly nodes: string | null;
  readonly elapsedSec: number | null;
  /** null: still running, or the exit is unknown. */
  readonly exit: { readonly code: number | null; readonly signal: number | null } | null;
  readonly source: 'squeue' | 'sacct' | null;
  /** Its processes on this machine. */
  readonly pids: readonly number[];
}

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
  readonly backend: 'local' | 'slurm';
  /** No end record, and neither launcher nor guardian alive. */
  readonly launcherGone: boolean;
  /** Slurm: its open jobs as Slurm reports them (empty on local). */
  readonly jobs: readonly LsJob[];
  /** Slurm: jobs still pending or running; null when Slurm was not (or could not be) asked. */
  readonly jobsLeft: number | null;
  /** "launcher gone, 3 jobs left: reaper reap --run ID", or null. */
  readonly flag: string | null;
}

const lsJob = (j: SlurmJobStatus): LsJob => ({
  id: j.id,
  name: j.name,
  task: j.task,
  stage: j.stage,
  attempt: j.attempt,
  state: j.state,
  active: j.active,
  reason: j.reason,
  nodes: j.nodes,
  elapsedSec: j.elapsedS,
  exit: j.exit,
  source: j.source,
  pids: j.pids,
});

/** `slurm`: the live read of the runs' open jobs (readSlurmView); null when none was made. */
export function buildLsRuns(runs: readonly RunSummary[] | null, snapshot: Snapshot, slurm: SlurmRunsStatus | null = null): LsRun[] {
  const members = new Map<string, number>();
  for (const p of snapshot.processes) if (p.runId !== null) members.set(p.runId, (members.get(p.runId) ?? 0) + 1);
  const shown: LsRun[] = [];
  for (const r of [...(runs ?? [])].sort((a, b) => a.startedAtMs - b.startedAtMs)) {
    const onSlurm = r.backend === 'slurm';
    const jobs = onSlurm ? (slurm?.byRun.get(r.id) ?? []) : [];
    // Asked and answered: a count; a Slurm run with open jobs Slurm could not be asked about: unknown.
    const open = onSlurm && r.endedAtMs === null && (r.jobs ?? []).some((j) => j.open);
    const left = !open ? (onSlurm ? 0 : null) : slurm && slurm.error === null ? jobsLeft(jobs) : null;
    const processes = members.get(r.id) ?? 0;
    const gone = r.endedAtMs === null && !r.live;
    if (!(r.live || processes > 0 || (onSlurm && gone && (left === null ? open : left > 0)))) continue;
    let flag: string | null = null;
    if (gone) flag = onSlurm ? launcherGoneText(r.id, { jobs: left, processes }) : `launcher gone, ${processes} process${processes === 1 ? '' : 'es'} left (reaper reap --run ${r.id})`;
    shown.push({
      id: r.id,
      name: r.name,
      state: r.state,
      live: r.live,
      startedAtMs: r.startedAtMs,
      endedAtMs: r.endedAtMs,
      processes,
      tasks: {
        running: r.tasks.filter((t) => t.status === 'running').length,
        succeeded: r.tasks.filter((t) => t.status === 'succeeded').length,
        failed: r.tasks.filter((t) => t.status === 'failed').length,
        pending: r.tasks.filter((t) => t.status === 'pending').length,
      },
      backend: onSlurm ? 'slurm' : 'local',
      launcherGone: gone,
      jobs: jobs.map(lsJob),
      jobsLeft: onSlurm ? left : null,
      flag,
    });
  }
  return shown;
}

/** A job's processes on this machine as a `ps f` tree, indented under its job line. */
function jobTree(pids: readonly number[], snapshot: Snapshot | null, indent: string): string[] {
  if (!snapshot || pids.length === 0) return [];
  const want = new Set(pids);
  const procs = snapshot.processes.filter((p) => want.has(p.pid));
  const forest = buildForest(procs);
  return flattenForest(forest).map((r) => {
    const p = forest.byPid.get(r.pid)!;
    const tree = r.depth === 0 ? '' : r.prefix + ' \\_ ';
    return `${indent}${String(p.pid).padStart(7)} ${p.stat.padEnd(5)} ${formatElapsed(elapsedSec(snapshot, p.startTime)).padStart(8)} ${tree}${sanitizeText(p.cmd)}`;
  });
}

/**
 * One line per run after the forest, a Slurm run's jobs under it (with their process trees when
 * `snapshot` is given), and Slurm's error as one `slurm:` line; empty when there is nothing.
 */
export function renderLsRunsText(runs: readonly LsRun[], opts: { snapshot?: Snapshot | null; slurmError?: string | null } = {}): string {
  const lines: string[] = [];
  for (const r of runs) {
    const who = r.flag ? `${r.state}, ${r.flag}` : r.state;
    const t = r.tasks;
    // Ids, names and states come from journals: the whole line goes through the sanitiser.
    lines.push(sanitizeText(`run ${r.id} ${r.name}${r.backend === 'slurm' ? ' (slurm)' : ''}: ${who}; tasks ${t.succeeded} ok, ${t.failed} failed, ${t.running} running, ${t.pending} pending`));
    for (const j of r.jobs) {
      lines.push(`  ${jobLine({ ...j, runId: r.id, elapsedS: j.elapsedSec, open: true })}`);
      lines.push(...jobTree(j.pids, opts.snapshot ?? null, '    '));
    }
  }
  if (opts.slurmError) lines.push(`slurm: ${sanitizeText(opts.slurmError)}`);
  return lines.length === 0 ? '' : `\n${lines.join('\n')}\n`;
}
