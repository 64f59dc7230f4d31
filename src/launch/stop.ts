/**
 * `reaper stop RUN`: signal the launcher (it tears down and writes the end record); when the
 * launcher is gone, wait briefly for the guardian, and if nobody acts, tear the run down here.
 *
 * The journal is a hint: the run folder must be trusted (run-trust.ts), the launcher must be the
 * recorded identity, of the run's user, holding the run's journal open (run-evidence.ts) before
 * it is signalled, and what is torn down here passes teardownRunFromJournal's evidence checks.
 * A stopped launcher is resumed (SIGCONT) before it is asked to stop; one that does not finish
 * in time is killed, and the end record says so. One end record per run (run-end.ts).
 */
import { readSelfAndAncestors } from '../actions/proc-scan.js';
import { AuditTrail, openAuditLog, type AuditContext, type AuditEntry } from '../actions/audit.js';
import { sendSignal } from '../actions/errno.js';
import { buildCmd, parseCmdline } from '../probe/proc-cmdline.js';
import { readFileSync } from 'node:fs';
import { ReaperError } from '../model/errors.js';
import type { ProcKey } from '../model/proc.js';
import { readProcIdentity } from '../probe/proc-stat.js';
import { takeSnapshot } from '../probe/snapshot.js';
import { teardownRunFromJournal } from './guardian.js';
import { parseJournal, readRunJournal, type JournalEvent } from './journal.js';
import { appendRunEnd } from './run-end.js';
import { verifyGuardian, verifyLauncher } from './run-evidence.js';
import { readTrustedText, type TrustedRun } from './run-trust.js';
import { sleep } from '../model/sleep.js';

export interface StopOptions {
  /** SIGKILL at once instead of the TERM ladder (a second signal to the launcher). */
  readonly kill?: boolean;
  /** How long to wait for the launcher or guardian before acting directly (default grace + 15 s). */
  readonly waitMs?: number;
  readonly onNote?: (line: string) => void;
  /** Who asked, for the audit log (default "stop RUN", as `reaper stop` does; the screen's S says "key S (reaper top)"). */
  readonly asked?: string;
}

export interface StopResult {
  readonly runId: string;
  /** launcher: the launcher tore it down; guardian; stop: torn down here; none: it had already ended. */
  readonly by: 'launcher' | 'guardian' | 'stop' | 'reap' | 'none';
  readonly survivors: number;
  /** What happened, in one sentence ("the launcher (pid 12) was stopped; resumed it and it tore the run down"). */
  readonly detail?: string;
}


function aliveKey(k: ProcKey | null): boolean {
  if (!k) return false;
  const id = readProcIdentity(k.pid);
  return !!id && id.startTime === k.startTime && id.state !== 'Z' && id.state !== 'X';
}

async function markerSurvivors(runId: string, owner: number): Promise<number> {
  const snap = await takeSnapshot();
  return snap.processes.filter((p) => p.runId === runId && p.uid === owner && p.state !== 'Z').length;
}

function cmdOf(pid: number): string {
  try {
    return buildCmd(parseCmdline(readFileSync(`/proc/${pid}/cmdline`, 'utf8')), 'launcher');
  } catch {
    return '[launcher]';
  }
}

function endOf(events: readonly JournalEvent[]): Extract<JournalEvent, { ev: 'run-end' }> | null {
  const e = events.find((x) => x.ev === 'run-end');
  return e && e.ev === 'run-end' ? e : null;
}

export async function stopRun(state: string, runId: string, opts: StopOptions = {}): Promise<StopResult> {
  const note = opts.onNote ?? (() => undefined);
  const trusted = readRunJournal(state, runId);
  const run: TrustedRun = trusted.run;
  let events: JournalEvent[] = trusted.events;
  const reread = (): void => {
    try {
      events = parseJournal(readTrustedText(run));
    } catch {
      /* keep the last good read */
    }
  };
  const start = events.find((e) => e.ev === 'run-start');
  if (!start || start.ev !== 'run-start') throw new ReaperError('RUN_NOT_FOUND', `run ${runId} has no start record in ${run.journal}`);
  const waitMs = opts.waitMs ?? start.graceMs + 15_000;
  const never = readSelfAndAncestors();
  /** How the launcher ended up, for the end record and the result: never "gone" unless it is. */
  let launcherStory = 'the launcher was gone';
  const audit: AuditContext = { asked: opts.asked ?? `stop ${runId}${opts.kill ? ' --kill' : ''}`, run: runId, log: openAuditLog(process.env) };

  const done = async (how: string): Promise<StopResult | null> => {
    const end = endOf(events);
    if (!end) return null;
    return { runId, by: end.by, survivors: await markerSurvivors(runId, run.owner), detail: `${how}${end.detail ? `: ${end.detail}` : ''}` };
  };

  const endedBefore = endOf(events) !== null;
  if (endedBefore) {
    const left = await markerSurvivors(runId, run.owner);
    if (left === 0) return { runId, by: 'none', survivors: 0, detail: 'the run had already ended' };
    note(`run ${runId} ended but ${left} of its processes are alive; tearing them down`);
  } else {
    const L = verifyLauncher(run, start.launcher, never);
    if (L.ok) {
      const pid = start.launcher.pid;
      const wasStopped = L.id.state === 'T' || L.id.state === 't';
      if (wasStopped) note(`launcher ${pid} is stopped (${L.id.state}); resuming it (SIGCONT) so it can tear the run down`);
      note(`signalling launcher ${pid} (${opts.kill ? 'SIGTERM twice: kill at once' : 'SIGTERM: tear down with grace'})`);
      // Re-checked right before each signal: the identity must still be the verified launcher.
      // Audit: one entry for the launcher, opened before its first signal, closed once it is gone or given up on.
      const trail = new AuditTrail({ ...audit, reasons: [`launcher of run ${runId}`] });
      let entry: AuditEntry | null = null;
      const signal = (sig: NodeJS.Signals): void => {
        if (!verifyLauncher(run, start.launcher, never).ok) return;
        entry ??= trail.intent({ pid, startTime: start.launcher.startTime, uid: run.owner, cmd: cmdOf(pid) }, opts.kill ? 'SIGKILL' : 'SIGTERM');
        if (sendSignal(pid, sig).ok) entry.sent.push(sig);
      };
      const closeEntry = async (detail: string): Promise<void> => {
        if (!entry) return;
        // The end record is the launcher's last act: give it a moment to exit before saying what became of it.
        for (let i = 0; i < 40 && aliveKey(start.launcher); i++) await sleep(50);
        const alive = aliveKey(start.launcher);
        trail.outcome(entry, alive ? 'survived' : 'gone', alive ? `${detail}; still running` : detail);
        audit.log.flushSyslog();
      };
      signal('SIGCONT');
      signal('SIGTERM');
      if (opts.kill) {
        await sleep(100);
        signal('SIGTERM');
      }
      const deadline = Date.now() + waitMs;
      while (Date.now() < deadline) {
        reread();
        if (endOf(events) || !aliveKey(start.launcher)) break;
        await sleep(100);
      }
      // The launcher writes its end record as its last act.
      for (let i = 0; i < 20 && !endOf(events) && aliveKey(start.launcher); i++) {
        await sleep(100);
        reread();
      }
      const r = await done(wasStopped ? `the launcher (pid ${pid}) was stopped; resumed, it tore the run down` : `the launcher (pid ${pid}) tore the run down`);
      if (r) {
        await closeEntry(r.detail ?? 'it tore the run down');
        return r;
      }
      if (aliveKey(start.launcher)) {
        const st = readProcIdentity(pid)?.state ?? '?';
        note(`launcher ${pid} did not finish within ${Math.round(waitMs / 1000)} s (state ${st}); killing it (SIGKILL)`);
        signal('SIGKILL');
        for (let i = 0; i < 50 && aliveKey(start.launcher); i++) await sleep(50);
        launcherStory = `the launcher (pid ${pid}) did not finish within ${Math.round(waitMs / 1000)} s and was killed`;
        reread();
        const r2 = await done(`the launcher (pid ${pid}) finished as it was killed`);
        await closeEntry(launcherStory);
        if (r2) return r2;
      } else {
        launcherStory = `the launcher (pid ${pid}) exited without recording the end`;
        await closeEntry(launcherStory);
      }
    } else if (L.alive) {
      note(`recorded launcher: ${L.why}; not signalled`);
      launcherStory = `the recorded launcher was not this run's (${L.why})`;
    }
    const G = start.guardian ? verifyGuardian(run, start.guardian, never) : null;
    if (G && G.ok) {
      note(`launcher is gone; waiting for guardian ${start.guardian!.pid}`);
      const deadline = Date.now() + waitMs;
      while (Date.now() < deadline && !endOf(events) && aliveKey(start.guardian)) {
        await sleep(100);
        reread();
      }
      const r = await done(`the guardian (pid ${start.guardian!.pid}) tore the run down`);
      if (r) return r;
    } else if (G && G.alive) {
      note(`recorded guardian: ${G.why}; not waited for`);
    }
  }

  note(`tearing run ${runId} down directly`);
  const r = await teardownRunFromJournal(events, runId, { mode: opts.kill ? 'kill' : 'term', graceMs: opts.kill ? 0 : Math.min(start.graceMs, 5000), owner: run.owner, audit });
  for (const why of r.refused) note(`not acted on: ${why}`);
  reread();
  const detail = `stopped by reaper stop (pid ${process.pid}); ${launcherStory}`;
  if (!endOf(events)) {
    appendRunEnd(run, events, { state: 'interrupted', by: 'stop', detail, exitCode: null, survivors: r.survivors }, 'killed by reaper stop');
    reread();
  }
  const end = endOf(events);
  if (endedBefore || !end || end.by === 'stop') return { runId, by: 'stop', survivors: r.survivors, detail: endedBefore ? `the run had ended; reaper stop tore its leftovers down` : detail };
  // Someone else (a guardian waking up late) recorded the end first: say so.
  return { runId, by: end.by, survivors: r.survivors, detail: end.detail ?? detail };
}
