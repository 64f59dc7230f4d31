/**
 * Whoever ends a run records its end, once. The launcher writes its own end record; when it is
 * gone, the guardian, `reaper stop` or `reaper reap --run` write it (here), closing each stage
 * the journal left open with a `cancelled` task-end that says who ended it, so the screen shows
 * "killed by reaper reap" or "cleaned up by the guardian" instead of "launcher gone" forever.
 */
import { takeSnapshot } from '../probe/snapshot.js';
import { readProcIdentity } from '../probe/proc-stat.js';
import type { ProcKey } from '../model/proc.js';
import { claimRunEnd, JournalWriter, readRunJournal, type JournalEvent } from './journal.js';
import { openTrustedAppend, type TrustedRun } from './run-trust.js';

export type RunEndRecord = Omit<Extract<JournalEvent, { ev: 'run-end' }>, 'ev' | 't'>;

/** Stages with a task-start and no task-end (same task, stage and attempt). */
export function openStages(events: readonly JournalEvent[]): Array<Extract<JournalEvent, { ev: 'task-start' }>> {
  const ended = new Set<string>();
  for (const e of events) if (e.ev === 'task-end') ended.add(`${e.task}/${e.stage}/${e.attempt}`);
  return events.filter((e): e is Extract<JournalEvent, { ev: 'task-start' }> => e.ev === 'task-start' && !ended.has(`${e.task}/${e.stage}/${e.attempt}`));
}

/**
 * Appends the end of a trusted run: a cancelled task-end for each open stage (`taskDetail`:
 * "killed by reaper reap"), then the run-end. Returns false, writing nothing, when the run
 * already has an end record or another writer claimed it first.
 */
export function appendRunEnd(run: TrustedRun, events: readonly JournalEvent[], end: RunEndRecord, taskDetail: string): boolean {
  if (events.some((e) => e.ev === 'run-end')) return false;
  if (!claimRunEnd(run.journal)) return false;
  const j = new JournalWriter(run.journal, { fd: openTrustedAppend(run) });
  try {
    const now = Date.now();
    for (const s of openStages(events)) {
      j.append({ ev: 'task-end', t: now, task: s.task, stage: s.stage, attempt: s.attempt, gpu: s.gpu, status: 'cancelled', reason: 'interrupted', detail: taskDetail, code: null, signal: null, durationMs: Math.max(0, now - s.t), willRetry: false });
    }
    j.append({ ev: 'run-end', t: now, ...end });
  } finally {
    j.close();
  }
  return true;
}

function aliveKey(k: ProcKey | null): boolean {
  if (!k) return false;
  const id = readProcIdentity(k.pid);
  return !!id && id.startTime === k.startTime && id.state !== 'Z' && id.state !== 'X';
}

export interface EndAbandonedResult {
  readonly recorded: boolean;
  /** Why nothing was written ("already ended", "launcher pid 12 is alive: it records the end"). */
  readonly why: string | null;
}

/**
 * Records the end of a run whose launcher and guardian are both gone (checked by identity),
 * after `by` removed its processes: `reaper reap --run` uses it. Never throws for an untrusted
 * or ended run: it says why it wrote nothing.
 */
export async function endAbandonedRun(state: string, runId: string, opts: { by: 'reap' | 'stop'; detail: string; taskDetail: string; extraSurvivors?: number }): Promise<EndAbandonedResult> {
  let run: TrustedRun;
  let events: JournalEvent[];
  try {
    ({ run, events } = readRunJournal(state, runId));
  } catch (e) {
    return { recorded: false, why: (e as Error).message };
  }
  const start = events.find((e) => e.ev === 'run-start');
  if (!start || start.ev !== 'run-start') return { recorded: false, why: 'its journal has no start record' };
  if (events.some((e) => e.ev === 'run-end')) return { recorded: false, why: 'it already has an end record' };
  if (aliveKey(start.launcher)) return { recorded: false, why: `its launcher (pid ${start.launcher.pid}) is alive and records the end itself` };
  if (aliveKey(start.guardian)) return { recorded: false, why: `its guardian (pid ${start.guardian!.pid}) is alive and records the end itself` };
  const snap = await takeSnapshot();
  // extraSurvivors: what /proc cannot show here (Slurm jobs of the run still in the queue).
  const survivors = snap.processes.filter((p) => p.runId === runId && p.uid === run.owner && p.state !== 'Z').length + (opts.extraSurvivors ?? 0);
  const ok = appendRunEnd(run, events, { state: 'interrupted', by: opts.by, detail: opts.detail, exitCode: null, survivors }, opts.taskDetail);
  return ok ? { recorded: true, why: null } : { recorded: false, why: 'another process recorded the end first' };
}
