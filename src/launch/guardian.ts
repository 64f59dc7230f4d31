/**
 * The guardian: a detached process (`reaper __guardian`, own session) that holds the read end of
 * a lifeline pipe from the launcher. The kernel closes the write end when the launcher dies, for
 * any reason including SIGKILL; the guardian then reads the journal and, if the run has no end
 * record, tears the run down (marker scan + recorded groups + cgroup.kill) and writes one.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Socket } from 'node:net';
import { teardown } from '../actions/index.js';
import type { ProcKey } from '../model/proc.js';
import { readProcIdentity } from '../probe/proc-stat.js';
import { selfCommand } from '../probe/self-command.js';
import { takeSnapshot } from '../probe/snapshot.js';
import { killCgroup, removeCgroupTreeSettled } from './containment.js';
import { JournalWriter, readJournal, type JournalEvent } from './journal.js';
import { runPaths, type RunPaths } from './paths.js';

export interface GuardianHandle {
  readonly key: ProcKey | null;
  /** Tells the guardian the launcher is done (closes the lifeline after run-end is written). */
  release(): void;
}

export function startGuardian(opts: { runId: string; state: string; paths: RunPaths; env: NodeJS.ProcessEnv }): GuardianHandle {
  const cmd = selfCommand();
  const env = { ...opts.env };
  for (const k of ['REAPER_RUN', 'REAPER_TASK', 'REAPER_STAGE']) delete env[k];
  const log = openSync(opts.paths.guardianLog, 'a');
  try {
    const child = spawn(cmd[0]!, [...cmd.slice(1), '__guardian', '--run', opts.runId, '--state', opts.state], {
      detached: true,
      stdio: ['pipe', log, log],
      env,
    });
    child.on('error', () => undefined);
    child.unref();
    const lifeline = child.stdin as Socket | null;
    lifeline?.on('error', () => undefined);
    lifeline?.unref();
    const id = child.pid !== undefined ? readProcIdentity(child.pid) : null;
    return {
      key: id ? { pid: id.pid, startTime: id.startTime } : null,
      release() {
        try {
          lifeline?.end();
        } catch {
          /* already closed */
        }
      },
    };
  } finally {
    closeSync(log);
  }
}

export interface RunTeardownResult {
  readonly found: number;
  readonly survivors: number;
}

/**
 * Tears down everything a run left, from its journal: processes carrying REAPER_RUN=<id>, the
 * process groups of stages that never ended (only while one of their members still carries the
 * marker or their leader is the recorded identity, so a reused group id is never hit) and the
 * run's cgroup. Shared by the guardian and `reaper stop` when the launcher is gone.
 */
export async function teardownRunFromJournal(events: readonly JournalEvent[], runId: string, opts: { mode: 'term' | 'kill'; graceMs: number }): Promise<RunTeardownResult> {
  const start = events.find((e) => e.ev === 'run-start');
  const ended = new Set<string>();
  for (const e of events) if (e.ev === 'task-end') ended.add(`${e.task}/${e.stage}/${e.attempt}`);
  const open = events.filter((e): e is Extract<JournalEvent, { ev: 'task-start' }> => e.ev === 'task-start' && !ended.has(`${e.task}/${e.stage}/${e.attempt}`));
  const snap = await takeSnapshot();
  const roots: ProcKey[] = [];
  const pgids: number[] = [];
  for (const s of open) {
    const leader = s.startTime !== null ? snap.byPid.get(s.pid) : undefined;
    const leaderAlive = !!leader && leader.startTime === s.startTime;
    if (leaderAlive) roots.push({ pid: s.pid, startTime: s.startTime! });
    const groupOurs = snap.processes.some((p) => p.pgid === s.pgid && (p.runId === runId || (leaderAlive && p.pid === s.pid)));
    if (groupOurs && s.pgid > 1) pgids.push(s.pgid);
  }
  let found = 0;
  let survivors = 0;
  const res = await teardown({ runId, roots, pgids, mode: opts.mode, graceMs: opts.graceMs });
  found += res.length;
  const cgroup = start && start.ev === 'run-start' ? start.cgroup : null;
  if (cgroup) {
    const k = await killCgroup(cgroup, { remove: false });
    found += k.killed;
    await removeCgroupTreeSettled(cgroup);
  }
  // Confirm from /proc: nothing with the marker may be left.
  const after = await takeSnapshot();
  survivors = after.processes.filter((p) => p.runId === runId && p.state !== 'Z').length;
  return { found, survivors };
}

function log(msg: string): void {
  try {
    process.stdout.write(`${new Date().toISOString()} guardian ${process.pid}: ${msg}\n`);
  } catch {
    /* log file gone */
  }
}

/** Body of `reaper __guardian --run ID --state DIR`. */
export async function runGuardian(opts: { runId: string; state: string }): Promise<number> {
  // Terminal and session signals are not ours to act on; only the lifeline counts.
  for (const s of ['SIGHUP', 'SIGINT', 'SIGPIPE'] as const) process.on(s, () => undefined);
  const paths = runPaths(opts.state, opts.runId);
  log(`watching run ${opts.runId}`);
  await new Promise<void>((resolve) => {
    const done = (): void => resolve();
    process.stdin.on('end', done);
    process.stdin.on('close', done);
    process.stdin.on('error', done);
    process.stdin.on('data', () => undefined);
    process.stdin.resume();
  });
  const events = readJournal(paths.journal);
  if (events.some((e) => e.ev === 'run-end')) {
    log('launcher finished the run; nothing to do');
    return 0;
  }
  const start = events.find((e) => e.ev === 'run-start');
  const launcher = start && start.ev === 'run-start' ? start.launcher : null;
  log(`lifeline closed without an end record: launcher ${launcher ? launcher.pid : '?'} is gone; tearing the run down`);
  const grace = start && start.ev === 'run-start' ? Math.min(start.graceMs, 5000) : 2000;
  const r = await teardownRunFromJournal(events, opts.runId, { mode: 'term', graceMs: grace });
  log(`teardown: ${r.found} processes acted on, ${r.survivors} survivors`);
  if (start) {
    const j = new JournalWriter(paths.journal);
    j.append({
      ev: 'run-end',
      t: Date.now(),
      state: 'crashed',
      by: 'guardian',
      detail: `launcher ${launcher ? `pid ${launcher.pid} ` : ''}died; the guardian tore the run down (${r.found} processes)`,
      exitCode: null,
      survivors: r.survivors,
    });
    j.close();
  }
  return r.survivors === 0 ? 0 : 1;
}
