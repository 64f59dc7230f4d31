/**
 * A run's Slurm jobs in words (pure): the one wording `ls`, `runs`, `show` and the live screen
 * share. Job states, reasons and node lists come from Slurm's output and names from a journal:
 * everything is sanitised here.
 */
import type { SlurmJobStatus } from '../model/run.js';
import { sanitizeText } from '../model/sanitize.js';

/** Slurm's own elapsed style: [[d-]hh:]mm:ss. */
export function slurmElapsed(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec) || sec < 0) return '-';
  const s = Math.floor(sec);
  const two = (n: number): string => String(n).padStart(2, '0');
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const hm = `${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
  return d > 0 ? `${d}-${two(h)}:${hm}` : h > 0 ? `${two(h)}:${hm}` : hm;
}

/** "exit 0", "signal 9", "exit ?" (Slurm did not say, or no longer knows the job). */
function jobExitText(j: Pick<SlurmJobStatus, 'exit'>): string {
  if (!j.exit) return 'exit ?';
  return j.exit.signal !== null ? `signal ${j.exit.signal}` : j.exit.code !== null ? `exit ${j.exit.code}` : 'exit ?';
}

/** "RUNNING on vm", "PENDING (BeginTime)", "COMPLETED, exit 0", "not in squeue, exit ?". */
export function jobStateText(j: SlurmJobStatus): string {
  if (j.state === null) return 'not in squeue, exit ?';
  const state = sanitizeText(j.state);
  if (j.active) {
    if (j.reason !== null) return `${state} (${sanitizeText(j.reason)})`;
    return j.nodes !== null ? `${state} on ${sanitizeText(j.nodes)}` : state;
  }
  return `${state}, ${jobExitText(j)}`;
}

/** "task 0 sample #2" */
function jobStageText(j: Pick<SlurmJobStatus, 'task' | 'stage' | 'attempt'>): string {
  return `task ${j.task} ${sanitizeText(j.stage)}${j.attempt > 1 ? ` #${j.attempt}` : ''}`;
}

/** "job 123 task 0 sample: RUNNING on vm, 00:12, 3 processes here" (`short`: without "task 0 sample"). */
export function jobLine(j: SlurmJobStatus, opts: { short?: boolean } = {}): string {
  const parts = [`job ${sanitizeText(j.id)}${opts.short ? '' : ` ${jobStageText(j)}`}: ${jobStateText(j)}`];
  if (j.elapsedS !== null && j.state !== 'PENDING') parts.push(slurmElapsed(j.elapsedS));
  if (j.pids.length > 0) parts.push(`${j.pids.length} process${j.pids.length === 1 ? '' : 'es'} here`);
  return parts.join(', ');
}

/** Jobs that still pend or run. */
export function jobsLeft(jobs: readonly SlurmJobStatus[]): number {
  return jobs.filter((j) => j.active).length;
}

/**
 * The flag on a run whose launcher and guardian are gone with no end record. `jobs`: jobs left
 * (null: Slurm could not be asked); `processes`: its marked processes on this machine.
 */
export function launcherGoneText(runId: string, left: { jobs: number | null; processes: number }): string {
  const reap = `reaper reap --run ${sanitizeText(runId)}`;
  const procs = `${left.processes} process${left.processes === 1 ? '' : 'es'}`;
  if (left.jobs === null) return `launcher gone, Slurm jobs unknown, ${procs} left: ${reap}`;
  const jobs = `${left.jobs} job${left.jobs === 1 ? '' : 's'} left`;
  return left.processes > 0 && left.jobs === 0 ? `launcher gone, ${jobs}, ${procs} left: ${reap}` : `launcher gone, ${jobs}: ${reap}`;
}

/** Counts by state for a one-line summary: "2 RUNNING, 1 PENDING". */
export function jobCountsText(jobs: readonly SlurmJobStatus[]): string {
  const counts = new Map<string, number>();
  for (const j of jobs) {
    const k = j.state === null ? 'gone' : sanitizeText(j.state);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
}
