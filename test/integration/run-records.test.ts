/**
 * Run records (issue 9): a run id is used once, run folders are private, `reaper stop` resumes a
 * stopped launcher instead of timing out and writing a second end record, and whoever ends a
 * run records its end, once (`reap --run` after launcher and guardian are gone; the guardian).
 */
import assert from 'node:assert/strict';
import { CLI_MAX_BUFFER } from '../helpers/wait-for.js';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { readRuns } from '../../src/launch/index.js';
import { takeSnapshot } from '../../src/probe/snapshot.js';
import { CLI, cleanupRun, ensureTestUser, killGuardianOf, markerPids, readJournalFile, startCli, tempState, type JsonEvent } from '../helpers/launch-run.js';
import { otherUserKit, prepareOtherUserKit } from '../helpers/other-user-kit.js';
import { waitFor } from '../helpers/wait-for.js';

const BATCH = `name: records
gpus: all
concurrency: 2
grace: 1s
tasks:
  - { n: a }
  - { n: b }
  - { n: c }
stages:
  s:
    cmd: [sleep, "300"]
`;

function cli(args: string[], env: NodeJS.ProcessEnv, cwd: string, timeout = 60_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { maxBuffer: CLI_MAX_BUFFER,  cwd, env: { ...process.env, REAPER_RUN: '', ...env }, encoding: 'utf8', timeout });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function setup(t: TestContext, containment: string): { state: string; batch: string; env: NodeJS.ProcessEnv; track(id: string, launcher?: number): void } {
  const state = tempState();
  const batch = path.join(state, 'records.yaml');
  writeFileSync(batch, BATCH);
  const env: NodeJS.ProcessEnv = { XDG_STATE_HOME: state, HOME: state, REAPER_CONTAINMENT: containment };
  const ids: Array<[string, number | undefined]> = [];
  t.after(() => {
    for (const [id, launcher] of ids) {
      if (launcher) {
        try {
          if (readFileSync(`/proc/${launcher}/cmdline`, 'utf8').includes(id)) process.kill(launcher, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      killGuardianOf(state, id);
      cleanupRun(null, id);
    }
    rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });
  return { state, batch, env, track: (id, launcher) => ids.push([id, launcher]) };
}

function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = pid, i = 0; p > 1 && i < 64; i++) {
    if (p === ancestor) return true;
    try {
      const st = readFileSync(`/proc/${p}/stat`, 'utf8');
      p = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return false;
    }
  }
  return false;
}

const ends = (state: string, id: string): JsonEvent[] => readJournalFile(state, id).filter((e) => e.ev === 'run-end');
const mode = (p: string): string => (lstatSync(p).mode & 0o777).toString(8);

function detach(batch: string, env: NodeJS.ProcessEnv, cwd: string): { runId: string; launcherPid: number } {
  const r = cli(['run', batch, '--gpus', 'sim:1', '--detach', '--json'], env, cwd);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { runId: string; launcherPid: number };
}

describe('run records', { concurrency: 1 }, () => {
  it('a run id in use is refused (exit 2, nothing started), and run folders are private', { timeout: 90_000 }, async (t) => {
    const { state, batch, env, track } = setup(t, '');
    const id = `20260101-000000-${randomBytes(2).toString('hex')}`;
    track(id);
    const first = startCli(['run', batch, '--gpus', 'sim:1', '--json', '--run-id', id], { env, cwd: state });
    t.after(() => cleanupRun(first, id));
    await first.waitEvent((e) => e.ev === 'run-start', 20_000, 'run-start');
    await waitFor(() => first.events.filter((e) => e.ev === 'task-start').length >= 2, { timeoutMs: 20_000, what: 'two tasks running' });
    const before = markerPids(id).sort();
    assert.ok(before.length >= 2);

    const second = cli(['run', batch, '--gpus', 'sim:1', '--json', '--run-id', id], env, state, 20_000);
    assert.equal(second.code, 2, `second run with the same id: ${second.stdout}${second.stderr}`);
    assert.match(second.stderr, new RegExp(`^reaper: run id ${id} is already in use .*; choose another --run-id`, 'm'));
    const now = markerPids(id);
    for (const pid of before) assert.ok(now.includes(pid), `task process ${pid} of the first run is untouched`);
    for (const pid of now) assert.ok(descendsFrom(pid, first.pid), `marked process ${pid} belongs to the first run's launcher`);
    assert.equal(readJournalFile(state, id).filter((e) => e.ev === 'run-start').length, 1);

    // XDG: state is private. Folders 0700, journal and logs 0600.
    const root = path.join(state, 'reaper');
    const dir = path.join(root, 'runs', id);
    for (const d of [root, path.join(root, 'runs'), dir, path.join(dir, 'logs'), path.join(dir, 'out')]) assert.equal(mode(d), '700', d);
    assert.equal(mode(path.join(dir, 'journal.jsonl')), '600');
    for (const f of readdirSync(path.join(dir, 'logs'))) assert.equal(mode(path.join(dir, 'logs', f)), '600', f);
    if (existsSync(path.join(dir, 'guardian.log'))) assert.equal(mode(path.join(dir, 'guardian.log')), '600');

    const s = cli(['stop', id], env, state);
    assert.equal(s.code, 0, s.stdout + s.stderr);
    assert.match(s.stdout, /stopped \(by launcher\)/);
    await first.exit;
    assert.equal(ends(state, id).length, 1);
  });

  it('stop resumes a stopped launcher (SIGCONT) and returns at once with one end record, by the launcher', { timeout: 90_000 }, async (t) => {
    const { state, batch, env, track } = setup(t, 'pgroup-only');
    const { runId, launcherPid } = detach(batch, env, state);
    track(runId, launcherPid);
    await waitFor(() => markerPids(runId).length >= 2, { timeoutMs: 20_000, what: 'tasks running' });
    process.kill(launcherPid, 'SIGSTOP');
    await waitFor(() => /^\S+ \(.*\) T /.test(readFileSync(`/proc/${launcherPid}/stat`, 'utf8')), { what: 'launcher stopped' });
    const t0 = Date.now();
    const s = cli(['stop', runId], env, state);
    const took = Date.now() - t0;
    assert.equal(s.code, 0, s.stdout + s.stderr);
    assert.match(s.stdout, new RegExp(`launcher ${launcherPid} is stopped \\(T\\); resuming it \\(SIGCONT\\)`));
    assert.match(s.stdout, /stopped \(by launcher\); processes left alive: 0/);
    assert.doesNotMatch(s.stdout, /launcher was gone/);
    assert.ok(took < 12_000, `stop took ${took} ms (it used to wait out grace + 15 s)`);
    await waitFor(() => markerPids(runId).length === 0, { timeoutMs: 15_000, what: 'no survivors' });
    const e = ends(state, runId);
    assert.equal(e.length, 1, JSON.stringify(e));
    assert.equal(e[0]!.by, 'launcher');
  });

  it('as an unprivileged user: stop verifies and resumes its own stopped launcher', { timeout: 120_000, skip: process.getuid?.() !== 0 && 'needs root to run as a throwaway user' }, async (t) => {
    const user = ensureTestUser();
    assert.ok(user, 'a test user is available');
    await prepareOtherUserKit();
    const state = tempState(user);
    const batch = path.join(state, 'records.yaml');
    writeFileSync(batch, BATCH, { mode: 0o644 });
    const env: NodeJS.ProcessEnv = { XDG_STATE_HOME: state, HOME: state, REAPER_CONTAINMENT: 'pgroup-only', REAPER_RUN: '' };
    const asUser = (args: string[]): { code: number | null; stdout: string; stderr: string } => {
      const r = spawnSync('setpriv', [`--reuid=${user!.uid}`, `--regid=${user!.gid}`, '--clear-groups', process.execPath, otherUserKit().cli, ...args], { cwd: state, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const r = asUser(['run', batch, '--gpus', 'sim:1', '--detach', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const { runId, launcherPid } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { runId: string; launcherPid: number };
    t.after(() => {
      try {
        if (readFileSync(`/proc/${launcherPid}/cmdline`, 'utf8').includes(runId)) process.kill(launcherPid, 'SIGKILL');
      } catch {
        /* gone */
      }
      cleanupRun(null, runId);
      rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    });
    await waitFor(() => markerPids(runId).length >= 2, { timeoutMs: 20_000, what: 'tasks running' });
    process.kill(launcherPid, 'SIGSTOP');
    const s = asUser(['stop', runId.slice(0, 15)]);
    assert.equal(s.code, 0, s.stdout + s.stderr);
    assert.match(s.stdout, /is stopped \(T\); resuming it/);
    assert.match(s.stdout, /stopped \(by launcher\); processes left alive: 0/);
    assert.equal(ends(state, runId).length, 1);
  });

  it('a launcher too slow to finish within --wait is killed, and the run still gets exactly one, truthful end record', { timeout: 90_000 }, async (t) => {
    const { state, env, track } = setup(t, 'pgroup-only');
    // Tasks that ignore SIGTERM under a 10 s grace: the launcher's own teardown outlasts --wait.
    const slow = path.join(state, 'slow.yaml');
    writeFileSync(slow, BATCH.replace('grace: 1s', 'grace: 10s').replace('cmd: [sleep, "300"]', `cmd: [sh, -c, 'trap "" TERM; sleep 300']`));
    const { runId, launcherPid } = detach(slow, env, state);
    track(runId, launcherPid);
    await waitFor(() => markerPids(runId).length >= 2, { timeoutMs: 20_000, what: 'tasks running' });
    const s = cli(['stop', runId, '--wait', '1'], env, state);
    assert.equal(s.code, 0, s.stdout + s.stderr);
    assert.match(s.stdout, new RegExp(`launcher ${launcherPid} did not finish within 1 s .*; killing it \\(SIGKILL\\)`));
    assert.match(s.stdout, /stopped \(by stop\); processes left alive: 0/);
    assert.match(s.stdout, /did not finish within 1 s and was killed/);
    assert.doesNotMatch(s.stdout, /launcher was gone/);
    await waitFor(() => !existsSync(`/proc/${launcherPid}`) || /\) Z /.test(readFileSync(`/proc/${launcherPid}/stat`, 'utf8')), { what: 'launcher gone' });
    await waitFor(() => markerPids(runId).length === 0, { timeoutMs: 15_000, what: 'no survivors' });
    const e = ends(state, runId);
    assert.equal(e.length, 1, JSON.stringify(e));
    assert.equal(e[0]!.by, 'stop');
  });

  it('reap --run on a run whose launcher and guardian are gone records the end, once, with each task killed by reap', { timeout: 90_000 }, async (t) => {
    const { state, batch, env, track } = setup(t, 'pgroup-only');
    const { runId, launcherPid } = detach(batch, env, state);
    track(runId, launcherPid);
    await waitFor(() => markerPids(runId).length >= 2, { timeoutMs: 20_000, what: 'tasks running' });
    process.kill(launcherPid, 'SIGKILL');
    await waitFor(() => !existsSync(`/proc/${launcherPid}`) || /\) Z /.test(readFileSync(`/proc/${launcherPid}/stat`, 'utf8')), { what: 'launcher gone' });
    const r = cli(['reap', '--run', runId, '--yes', '--signal', 'kill', '--gpus', 'none'], env, state);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`run ${runId}: end recorded in its journal`));
    await waitFor(() => markerPids(runId).length === 0, { timeoutMs: 15_000, what: 'reaped' });
    const e = ends(state, runId);
    assert.equal(e.length, 1);
    assert.equal(e[0]!.by, 'reap');
    const cancelled = readJournalFile(state, runId).filter((x) => x.ev === 'task-end' && x.detail === 'killed by reaper reap');
    assert.equal(cancelled.length, 2, 'the two running stages are recorded as killed by reap');
    const run = readRuns(path.join(state, 'reaper'), await takeSnapshot()).find((x) => x.id === runId)!;
    assert.equal(run.state, 'interrupted');
    assert.equal(run.endedBy, 'reap');
    assert.deepEqual(
      run.tasks.map((x) => [x.status, x.detail]),
      [
        ['cancelled', 'killed by reaper reap'],
        ['cancelled', 'killed by reaper reap'],
        ['cancelled', 'not started: killed by reaper reap'],
      ],
    );
    // A second reap has nothing to record.
    const again = cli(['reap', '--run', runId, '--yes', '--gpus', 'none'], env, state);
    assert.doesNotMatch(again.stdout, /end recorded/);
    assert.equal(ends(state, runId).length, 1);
  });

  it('the guardian records the end once, and the run reads "cleaned up by the guardian", not "launcher gone"', { timeout: 90_000 }, async (t) => {
    const { state, batch, env, track } = setup(t, 'no-cgroup,no-pidns,no-pdeathsig');
    const { runId, launcherPid } = detach(batch, env, state);
    track(runId, launcherPid);
    // Two tasks started by the journal's word (a marker count alone can be one task's wrapper and child).
    await waitFor(() => readJournalFile(state, runId).filter((e) => e.ev === 'task-start').length >= 2, { timeoutMs: 20_000, what: 'two tasks started' });
    process.kill(launcherPid, 'SIGKILL');
    await waitFor(() => ends(state, runId).length > 0, { timeoutMs: 20_000, what: 'guardian end record' });
    await waitFor(() => markerPids(runId).length === 0, { timeoutMs: 15_000, what: 'guardian teardown' });
    const run = readRuns(path.join(state, 'reaper'), await takeSnapshot()).find((x) => x.id === runId)!;
    assert.equal(run.state, 'crashed');
    assert.equal(run.endedBy, 'guardian');
    assert.match(run.endDetail ?? '', /died; the guardian tore the run down/);
    assert.deepEqual(
      run.tasks.map((x) => x.detail),
      ['cleaned up by the guardian (launcher gone)', 'cleaned up by the guardian (launcher gone)', 'not started: cleaned up by the guardian (launcher gone)'],
    );
    const s = cli(['stop', runId], env, state);
    assert.equal(s.code, 0, s.stdout + s.stderr);
    assert.match(s.stdout, /had already ended/);
    assert.equal(ends(state, runId).length, 1);
  });
});
