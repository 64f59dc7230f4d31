/**
 * The JSON documents of `reaper runs --json` and `reaper show --json`: the history objects as
 * they are, with ISO times next to the millisecond ones. Pure; stringify with toSafeJson.
 */
import type { LiveJobs } from '../../analysis/run-history-text.js';
import { jobsLeft, launcherGoneText } from '../../analysis/run-jobs.js';
import type { RunHistory, RunHistoryEntry } from '../../launch/index.js';
import type { SlurmJobStatus } from '../../model/run.js';

const iso = (ms: number | null): string | null => (ms === null || !Number.isFinite(ms) ? null : new Date(ms).toISOString());

/** A job as `runs --json` and `show --json` give it (the fields of `ls --json`'s runs[].jobs). */
function jobJson(j: SlurmJobStatus): Record<string, unknown> {
  return { id: j.id, name: j.name, task: j.task, stage: j.stage, attempt: j.attempt, state: j.state, active: j.active, reason: j.reason, nodes: j.nodes, elapsedSec: j.elapsedS, exit: j.exit, source: j.source, pids: j.pids };
}

/** The Slurm part of a run: its open jobs now, how many are left, the launcher-gone flag. */
function slurmPart(e: RunHistory, live: LiveJobs | null | undefined): Record<string, unknown> {
  if (e.backend !== 'slurm') return { backend: e.backend };
  const left = live && live.error === null ? jobsLeft(live.jobs) : null;
  const procs = live ? live.jobs.reduce((n, j) => n + j.pids.length, 0) : 0;
  return {
    backend: e.backend,
    jobs: live ? live.jobs.map(jobJson) : [],
    jobsLeft: live ? left : e.endedAtMs !== null ? 0 : null,
    flag: e.state === 'crashed' && live ? launcherGoneText(e.id, { jobs: left, processes: procs }) : null,
    slurmError: live?.error ?? null,
  };
}

/** One run of `reaper runs --json`: the summary, without per-stage detail. */
function runListItem(e: RunHistoryEntry, live?: LiveJobs | null): Record<string, unknown> {
  if (e.kind === 'unreadable') return { id: e.id, dir: e.dir, readable: false, unreadable: e.reason };
  return {
    id: e.id,
    dir: e.dir,
    readable: true,
    name: e.name,
    state: e.state,
    host: e.host,
    startedAtMs: e.startedAtMs,
    startedAt: iso(e.startedAtMs),
    endedAtMs: e.endedAtMs,
    durationMs: e.durationMs,
    exitCode: e.exitCode,
    endedBy: e.endedBy,
    tasks: e.counts,
    warnings: e.warnings,
    ...slurmPart(e, live),
  };
}

/** `live`: by run id, what Slurm says of the open jobs of runs without an end record. */
export function buildRunsDocument(entries: readonly RunHistoryEntry[], more: number, live: ReadonlyMap<string, LiveJobs> = new Map()): Record<string, unknown> {
  return { runs: entries.map((e) => runListItem(e, live.get(e.id) ?? null)), more };
}

/** `reaper show --json`: the whole history, and for a Slurm run `slurm` with its open jobs now. */
export function buildShowDocument(h: RunHistory, live: LiveJobs | null = null): Record<string, unknown> {
  const { kind: _kind, ...rest } = h;
  const { backend: _b, ...slurm } = slurmPart(h, live);
  return { ...rest, readable: true, startedAt: iso(h.startedAtMs), endedAt: iso(h.endedAtMs), ...(h.backend === 'slurm' ? { slurm } : {}) };
}
