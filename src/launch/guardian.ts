/**
 * The guardian: a detached process (`reaper __guardian`, own session) that holds the read end of
 * a lifeline pipe from the launcher. The kernel closes the write end when the launcher dies, for
 * any reason including SIGKILL; the guardian then reads the journal and, if the run has no end
 * record, tears the run down (marker scan + recorded groups + cgroup.kill) and writes one. The
 * journal is believed only when its folder is trusted (run-trust.ts), and what it names is acted
 * on only with evidence (run-evidence.ts, resolveRunCgroup).
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import { openAuditLog, teardown, type AuditContext, type RunGroup } from '../actions/index.js';
import { readSelfAndAncestors } from '../actions/proc-scan.js';
import type { ProcKey } from '../model/proc.js';
import { readProcIdentity } from '../probe/proc-stat.js';
import { uptimeTicks } from '../probe/proc-sys.js';
import { selfCommand } from '../probe/self-command.js';
import { takeSnapshot } from '../probe/snapshot.js';
import { findCgroup2Mount, killCgroup, removeCgroupTreeSettled, resolveRunCgroup } from './cgroup-fs.js';
import { readRunJournal, type JournalEvent } from './journal.js';
import { type RunPaths } from './paths.js';
import { appendRunEnd, openStages } from './run-end.js';
import { inCgroup, readProcCgroup, verifyMember } from './run-evidence.js';
import { cancelRunJobs, type RunJob } from './slurm-jobs.js';
import { selfUid } from './run-trust.js';

export interface GuardianHandle {
  readonly key: ProcKey | null;
  /** Tells the guardian the launcher is done (closes the lifeline after run-end is written). */
  release(): void;
}

export function startGuardian(opts: { runId: string; state: string; paths: RunPaths; env: NodeJS.ProcessEnv }): GuardianHandle {
  const cmd = selfCommand();
  const env = { ...opts.env };
  for (const k of ['REAPER_RUN', 'REAPER_TASK', 'REAPER_STAGE']) delete env[k];
  // Never appended through a link (the run folder is private, but a link there is no log of ours).
  const log = openSync(opts.paths.guardianLog, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
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
  /** What the journal named that was not acted on, and why ("pid 1 is never a target"). */
  readonly refused: readonly string[];
}

/**
 * Tears down everything a run left, from its journal, acting only on what belongs to the run by
 * evidence: processes of the run's user carrying REAPER_RUN=<id>; recorded stage leaders that
 * are the recorded identity, of the run's user, with the marker or in the run's cgroup; the
 * process groups of stages that never ended, only while the group is its own session and still
 * holds such a verified member (members of other users are never included); and the run's
 * cgroup, only when it is exactly reaper's cgroup for this run id (resolveRunCgroup). Shared by
 * the guardian and `reaper stop` when the launcher is gone. `owner` is the run's user (the
 * owner of its trusted folder; default: the caller).
 */
export async function teardownRunFromJournal(
  events: readonly JournalEvent[],
  runId: string,
  opts: { mode: 'term' | 'kill'; graceMs: number; owner?: number; audit?: AuditContext },
): Promise<RunTeardownResult> {
  const owner = opts.owner ?? selfUid();
  const run = { runId, owner };
  const refused: string[] = [];
  const start = events.find((e) => e.ev === 'run-start');
  const never = readSelfAndAncestors();

  let cgroupDir: string | null = null;
  let cgroupRel: string | null = null;
  const recordedCgroup = start && start.ev === 'run-start' ? start.cgroup : null;
  if (recordedCgroup) {
    const mount = findCgroup2Mount();
    const r = resolveRunCgroup(recordedCgroup, runId, owner, mount);
    if ('dir' in r) {
      cgroupDir = r.dir;
      cgroupRel = '/' + path.relative(mount!, r.dir);
    } else refused.push(`cgroup: ${r.why}`);
  }

  // Before the snapshot: a member that started by then and lives on was in its group then.
  const snapTicks = uptimeTicks();
  const snap = await takeSnapshot();
  const roots: ProcKey[] = [];
  const groups: RunGroup[] = [];
  for (const s of openStages(events)) {
    let leaderOk = false;
    if (s.startTime !== null) {
      const v = verifyMember(run, { pid: s.pid, startTime: s.startTime }, cgroupRel, never);
      if (v.ok) {
        leaderOk = true;
        roots.push({ pid: s.pid, startTime: s.startTime });
      } else if (v.alive) refused.push(`task ${s.task} ${s.stage}: ${v.why}`);
    }
    if (s.pgid <= 1 || never.has(s.pgid)) continue;
    // A live group keeps its id from being reused: if it still holds a marked member of the run's
    // user (or the verified leader), it is the stage's group.
    const members = snap.processes.filter((p) => p.pgid === s.pgid && p.sid === s.pgid && p.uid === owner && !p.isKernelThread);
    const ours = members.some((p) => p.runId === runId || (leaderOk && p.pid === s.pid) || (cgroupRel !== null && inCgroup(readProcCgroup(p.pid), cgroupRel)));
    // Vouched for now: a member that already lives when teardown rescans proves the same group.
    if (ours) groups.push({ pgid: s.pgid, runId, leaderStart: leaderOk ? s.startTime : null, knownAtTicks: snapTicks });
    else if (snap.processes.some((p) => p.pgid === s.pgid)) refused.push(`process group ${s.pgid} (task ${s.task} ${s.stage}): no member of it belongs to run ${runId} by evidence`);
  }
  let found = 0;
  // backend slurm: the recorded jobs, scancelled only where squeue lists them under the name
  // reaper gave them and the run's user (an id reused for another job is left alone).
  const jobs: RunJob[] = [];
  for (const e of events) if (e.ev === 'task-start' && e.job && typeof e.job.id === 'string' && /^\d+$/.test(e.job.id) && typeof e.job.name === 'string' && e.job.name.startsWith(`reaper-${runId}-`)) jobs.push({ id: e.job.id, name: e.job.name });
  let jobsLeft = 0;
  if (jobs.length > 0) {
    const k = await cancelRunJobs(jobs, { deadlineMs: 15_000, user: owner, mode: opts.mode, waitMs: opts.mode === 'kill' ? 15_000 : opts.graceMs + 40_000, ...(opts.audit ? { audit: opts.audit } : {}) });
    if (k.error) refused.push(`Slurm jobs ${jobs.map((j) => j.id).join(',')}: ${k.error}`);
    found += k.found;
    jobsLeft = k.survived;
  }
  const audit = opts.audit ? { audit: opts.audit } : {};
  const res = await teardown({ runId, roots, groups, mode: opts.mode, graceMs: opts.graceMs, owner, ...audit });
  found += res.length;
  if (cgroupDir) {
    const k = await killCgroup(cgroupDir, { remove: false, ...audit });
    if (k.refused) refused.push(`cgroup: ${k.refused}`);
    found += k.killed;
    await removeCgroupTreeSettled(cgroupDir);
  }
  // Confirm from /proc: nothing with the marker may be left.
  const after = await takeSnapshot();
  const survivors = after.processes.filter((p) => p.runId === runId && p.uid === owner && p.state !== 'Z').length + jobsLeft;
  return { found, survivors, refused };
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
  log(`watching run ${opts.runId}`);
  await new Promise<void>((resolve) => {
    const done = (): void => resolve();
    process.stdin.on('end', done);
    process.stdin.on('close', done);
    process.stdin.on('error', done);
    process.stdin.on('data', () => undefined);
    process.stdin.resume();
  });
  let trusted: ReturnType<typeof readRunJournal>;
  try {
    trusted = readRunJournal(opts.state, opts.runId);
  } catch (e) {
    log(`refusing to act: ${(e as Error).message}`);
    return 2;
  }
  const { run, events } = trusted;
  if (events.some((e) => e.ev === 'run-end')) {
    log('launcher finished the run; nothing to do');
    return 0;
  }
  const start = events.find((e) => e.ev === 'run-start');
  const launcher = start && start.ev === 'run-start' ? start.launcher : null;
  log(`lifeline closed without an end record: launcher ${launcher ? launcher.pid : '?'} is gone; tearing the run down`);
  const grace = start && start.ev === 'run-start' ? Math.min(start.graceMs, 5000) : 2000;
  // The guardian runs as the run's user: its signals go to that user's audit log.
  const audit: AuditContext = { asked: `guardian of run ${opts.runId}: launcher ${launcher ? `${launcher.pid} ` : ''}died`, run: opts.runId, log: openAuditLog(process.env) };
  const r = await teardownRunFromJournal(events, opts.runId, { mode: 'term', graceMs: grace, owner: run.owner, audit });
  for (const p of audit.log.problems) log(`audit: ${p}`);
  for (const why of r.refused) log(`not acted on: ${why}`);
  log(`teardown: ${r.found} processes acted on, ${r.survivors} survivors`);
  if (start) {
    const wrote = appendRunEnd(
      run,
      events,
      {
        state: 'crashed',
        by: 'guardian',
        detail: `launcher ${launcher ? `pid ${launcher.pid} ` : ''}died; the guardian tore the run down (${r.found} processes)`,
        exitCode: null,
        survivors: r.survivors,
      },
      'cleaned up by the guardian (launcher gone)',
    );
    if (!wrote) log('the end was recorded by another process meanwhile');
  }
  return r.survivors === 0 ? 0 : 1;
}
