/**
 * `reaper stop RUN`: signal the launcher (it tears down and writes the end record); when the
 * launcher is gone, wait briefly for the guardian, and if nobody acts, tear the run down here.
 */
import { readProcIdentity } from '../probe/proc-stat.js';
import { takeSnapshot } from '../probe/snapshot.js';
import { ReaperError } from '../model/errors.js';
import type { ProcKey } from '../model/proc.js';
import { teardownRunFromJournal } from './guardian.js';
import { JournalWriter, readJournal, type JournalEvent } from './journal.js';
import { runPaths } from './paths.js';

export interface StopOptions {
  /** SIGKILL at once instead of the TERM ladder (a second signal to the launcher). */
  readonly kill?: boolean;
  /** How long to wait for the launcher or guardian before acting directly (default grace + 15 s). */
  readonly waitMs?: number;
  readonly onNote?: (line: string) => void;
}

export interface StopResult {
  readonly runId: string;
  /** launcher: the launcher tore it down; guardian; stop: torn down here; none: it had already ended. */
  readonly by: 'launcher' | 'guardian' | 'stop' | 'none';
  readonly survivors: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function aliveKey(k: ProcKey | null): boolean {
  if (!k) return false;
  const id = readProcIdentity(k.pid);
  return !!id && id.startTime === k.startTime && id.state !== 'Z';
}

async function markerSurvivors(runId: string): Promise<number> {
  const snap = await takeSnapshot();
  return snap.processes.filter((p) => p.runId === runId && p.state !== 'Z').length;
}

export async function stopRun(state: string, runId: string, opts: StopOptions = {}): Promise<StopResult> {
  const paths = runPaths(state, runId);
  const note = opts.onNote ?? (() => undefined);
  let events: JournalEvent[] = readJournal(paths.journal);
  const start = events.find((e) => e.ev === 'run-start');
  if (!start || start.ev !== 'run-start') throw new ReaperError('RUN_NOT_FOUND', `run ${runId} has no start record in ${paths.journal}`);
  const hasEnd = (): boolean => events.some((e) => e.ev === 'run-end');
  const waitMs = opts.waitMs ?? start.graceMs + 15_000;

  if (hasEnd()) {
    const left = await markerSurvivors(runId);
    if (left === 0) return { runId, by: 'none', survivors: 0 };
    note(`run ${runId} ended but ${left} of its processes are alive; tearing them down`);
  } else if (aliveKey(start.launcher)) {
    const pid = start.launcher.pid;
    note(`signalling launcher ${pid} (${opts.kill ? 'SIGTERM twice: kill at once' : 'SIGTERM: tear down with grace'})`);
    try {
      process.kill(pid, 'SIGTERM');
      if (opts.kill) {
        await sleep(100);
        if (aliveKey(start.launcher)) process.kill(pid, 'SIGTERM');
      }
    } catch {
      /* gone meanwhile */
    }
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      events = readJournal(paths.journal);
      if (hasEnd() || !aliveKey(start.launcher)) break;
      await sleep(100);
    }
    // The launcher writes its end record as its last act.
    for (let i = 0; i < 20 && !hasEnd() && aliveKey(start.launcher); i++) {
      await sleep(100);
      events = readJournal(paths.journal);
    }
    if (hasEnd()) {
      const end = [...events].reverse().find((e) => e.ev === 'run-end');
      return { runId, by: end && end.ev === 'run-end' ? end.by : 'launcher', survivors: await markerSurvivors(runId) };
    }
  } else if (aliveKey(start.guardian)) {
    note(`launcher is gone; waiting for guardian ${start.guardian!.pid}`);
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && !hasEnd() && aliveKey(start.guardian)) {
      await sleep(100);
      events = readJournal(paths.journal);
    }
    if (hasEnd()) return { runId, by: 'guardian', survivors: await markerSurvivors(runId) };
  }

  note(`tearing run ${runId} down directly`);
  const r = await teardownRunFromJournal(events, runId, { mode: opts.kill ? 'kill' : 'term', graceMs: opts.kill ? 0 : Math.min(start.graceMs, 5000) });
  if (!hasEnd()) {
    const j = new JournalWriter(paths.journal);
    j.append({ ev: 'run-end', t: Date.now(), state: 'interrupted', by: 'stop', detail: `stopped by reaper stop (pid ${process.pid}); launcher was gone`, exitCode: null, survivors: r.survivors });
    j.close();
  }
  return { runId, by: 'stop', survivors: r.survivors };
}
