/**
 * Planted journals (issue 9 §1) and forged markers: a run folder is a hint, never an authority. Each journal here
 * names processes, groups and cgroups that `reaper stop` and the guardian must NOT touch: a root
 * process without the run's marker, another user's process carrying a forged marker, pid 1 (in a
 * PID namespace), a "cgroup" that is a symbolic link to a folder whose cgroup.kill links to a file
 * the test owns, a real cgroup outside reaper's, and run folders that others could write.
 * The launcher's own teardowns (the run's end, Ctrl+C) get a forged marker too: another user's
 * process carrying REAPER_RUN=<the live run's id>.
 * Every victim is a signal logger (it writes each catchable signal it receives to a file), so
 * "nothing was signalled" is read back from that file and /proc, not assumed.
 */
import assert from 'node:assert/strict';
import { CLI_MAX_BUFFER } from '../helpers/wait-for.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureStateDir, findCgroup2Mount, readRunsReport, runPaths } from '../../src/launch/index.js';
import type { JournalEvent } from '../../src/launch/index.js';
import { cleanupRun, markerPids, startCli } from '../helpers/launch-run.js';
import { asUser, CLI, createTestUser, deleteTestUser, isLive, runCli, startTimeOf, stateOf, type User } from '../helpers/reap-trees.js';
import { waitFor } from '../helpers/wait-for.js';

const isRoot = process.getuid?.() === 0;
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const LOGGER = `
import signal, sys, time
log = sys.argv[1]
def h(n, f):
    with open(log, 'a') as fh:
        fh.write(str(n) + "\\n")
for s in (signal.SIGTERM, signal.SIGCONT, signal.SIGHUP, signal.SIGINT, signal.SIGUSR1):
    signal.signal(s, h)
print("ready", flush=True)
while True:
    time.sleep(1)
`;

interface Victim {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly startTime: number;
  readonly log: string;
}

const victims: Victim[] = [];

async function startLogger(log: string, opts: { user?: User; env?: NodeJS.ProcessEnv } = {}): Promise<Victim> {
  writeFileSync(log, '', { mode: 0o666 });
  if (opts.user) chownSync(log, opts.user.uid, opts.user.gid);
  const argv = asUser(opts.user, [PY, '-c', LOGGER, log]);
  const env = { ...process.env, ...opts.env };
  if (!opts.env?.REAPER_RUN) delete env.REAPER_RUN;
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'inherit'], env });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('signal logger did not start')), 20_000);
    child.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  child.stdout!.resume();
  child.unref();
  const v = { child, pid: child.pid!, startTime: startTimeOf(child.pid!), log };
  victims.push(v);
  return v;
}

/** Alive, not stopped, and no catchable signal received. */
function untouched(v: Victim, what: string): void {
  const st = stateOf(v.pid);
  assert.ok(st !== null && st !== 'Z' && startTimeOf(v.pid) === v.startTime, `${what} (pid ${v.pid}) must be alive`);
  assert.notEqual(st, 'T', `${what} must not have been stopped`);
  assert.equal(readFileSync(v.log, 'utf8'), '', `${what} must have received no signal`);
}

function runStart(run: string, launcher: { pid: number; startTime: number }, extra: Partial<Extract<JournalEvent, { ev: 'run-start' }>> = {}): JournalEvent {
  return { ev: 'run-start', t: Date.now(), run, name: 'planted', file: '/planted.yaml', launcher, guardian: null, layers: [], gpus: ['0'], tasks: [{ task: 0, vars: {} }, { task: 1, vars: {} }], stages: ['s'], graceMs: 500, cgroup: null, detached: true, ...extra };
}

function taskStart(task: number, pid: number, startTime: number, pgid = pid): JournalEvent {
  return { ev: 'task-start', t: Date.now(), task, stage: 's', attempt: 1, gpu: '0', pid, startTime, pgid, cgroup: null, argv: ['x'], stdout: '/dev/null', stderr: '/dev/null' };
}

function newId(): string {
  return `20260101-000000-${randomBytes(2).toString('hex')}`;
}

function plant(state: string, id: string, events: JournalEvent[]): ReturnType<typeof runPaths> {
  const p = runPaths(state, id);
  mkdirSync(p.dir, { mode: 0o700 });
  writeFileSync(p.journal, events.map((e) => JSON.stringify(e)).join('\n') + '\n', { mode: 0o600 });
  return p;
}

describe('planted journals and forged markers: reaper stop, the guardian and the launcher act on nothing the run does not own', { concurrency: 1, skip: !isRoot && 'needs root (other users, cgroups, PID namespaces)' }, () => {
  let work = '';
  let xdg = '';
  let state = '';
  let user: User | null = null;
  const env = (): NodeJS.ProcessEnv => ({ XDG_STATE_HOME: xdg, HOME: xdg, REAPER_RUN: '' });
  const cgroupsToRemove: string[] = [];

  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'reaper-planted-'));
    chmodSync(work, 0o755);
    xdg = path.join(work, 'xdg');
    mkdirSync(xdg, { mode: 0o700 });
    state = path.join(xdg, 'reaper');
    ensureStateDir(state);
    user = createTestUser();
  });
  after(() => {
    for (const v of victims) {
      try {
        process.kill(v.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const dir of cgroupsToRemove) {
      for (let i = 0; i < 100; i++) {
        try {
          rmdirSync(dir);
          break;
        } catch {
          spawnSync('sleep', ['0.05']);
        }
      }
    }
    deleteTestUser(user);
    rmSync(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });

  it('a trusted folder whose journal names a root process without the marker, another user\'s process with a forged marker, and a symlinked "cgroup"', { timeout: 60_000 }, async () => {
    assert.ok(user, 'a throwaway user could be created');
    const id = newId();
    const rootProc = await startLogger(path.join(work, 'root.log'));
    const userProc = await startLogger(path.join(work, 'user.log'), { user: user!, env: { REAPER_RUN: id } });
    // A "cgroup" that is a link to a folder whose cgroup.kill links to a file the test owns.
    const precious = path.join(work, 'precious');
    writeFileSync(precious, 'precious\n', { mode: 0o600 });
    const fake = path.join(work, 'fakecg');
    mkdirSync(path.join(fake, 'sub', 'deeper'), { recursive: true });
    symlinkSync(precious, path.join(fake, 'cgroup.kill'));
    writeFileSync(path.join(fake, 'cgroup.procs'), `${rootProc.pid}\n${userProc.pid}\n`);
    writeFileSync(path.join(fake, 'cgroup.events'), 'populated 1\n');
    symlinkSync(fake, path.join(work, 'cglink'));
    plant(state, id, [
      runStart(id, { pid: rootProc.pid, startTime: rootProc.startTime }, { guardian: { pid: userProc.pid, startTime: userProc.startTime }, cgroup: path.join(work, 'cglink') }),
      taskStart(0, rootProc.pid, rootProc.startTime),
      taskStart(1, userProc.pid, userProc.startTime),
    ]);

    const g = spawnSync(process.execPath, [CLI, '__guardian', '--run', id, '--state', state], { maxBuffer: CLI_MAX_BUFFER,  stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env() } });
    assert.match(g.stdout, /not acted on: task 0 s: pid \d+ carries neither REAPER_RUN/, g.stdout + g.stderr);
    untouched(rootProc, 'root process without the marker (guardian)');
    untouched(userProc, "another user's process with a forged marker (guardian)");

    // The guardian recorded the end; a second planted run gets the same treatment from stop.
    const id2 = newId();
    plant(state, id2, [
      runStart(id2, { pid: rootProc.pid, startTime: rootProc.startTime }, { guardian: { pid: userProc.pid, startTime: userProc.startTime }, cgroup: path.join(work, 'cglink') }),
      taskStart(0, rootProc.pid, rootProc.startTime),
      taskStart(1, userProc.pid, userProc.startTime),
    ]);
    const s = await runCli(['stop', id2, '--wait', '1'], { env: env() });
    assert.equal(s.code, 0, s.stdout + s.stderr);
    assert.match(s.stdout, /recorded launcher: pid \d+ does not hold run \S+ journal open: it is not the run's launcher; not signalled/);
    assert.match(s.stdout, /recorded guardian: pid \d+ is owned by uid \d+, not by the run's user \(uid 0\)/);
    assert.match(s.stdout, /not acted on: cgroup: recorded cgroup \S+ is not under the cgroup2 mount/);
    untouched(rootProc, 'root process without the marker (stop)');
    untouched(userProc, "another user's process with a forged marker (stop)");
    assert.equal(readFileSync(precious, 'utf8'), 'precious\n', 'nothing was written through the cgroup.kill link');
    assert.ok(existsSync(path.join(fake, 'sub', 'deeper')), 'no folder of the fake tree was removed');
  });

  for (const how of ['the run\'s end', 'Ctrl+C'] as const) {
    it(`the launcher's own teardown (${how}) leaves another user's process carrying the run's marker alone`, { timeout: 90_000 }, async (t) => {
      assert.ok(user, 'a throwaway user could be created');
      const go = path.join(work, `go-${randomBytes(3).toString('hex')}`);
      // The task waits for the test: the forged member is planted while the run is live.
      const run = startCli(['run', '--gpus', 'sim:1', '--json', '--', 'sh', '-c', `while [ ! -e ${go} ]; do sleep 0.05; done`], { env: env() });
      let runId: string | null = null;
      t.after(() => cleanupRun(run, runId));
      await run.waitEvent((e) => e.ev === 'task-start', 30_000, 'task-start');
      runId = run.runId();
      assert.ok(runId, 'run-start names the run');
      const forged = await startLogger(path.join(work, `forged-${randomBytes(3).toString('hex')}.log`), { user: user!, env: { REAPER_RUN: runId } });
      assert.ok(markerPids(runId, { escapee: false }).includes(forged.pid), 'the forged process carries the live run\'s marker');
      if (how === 'Ctrl+C') process.kill(run.pid, 'SIGINT');
      else writeFileSync(go, '');
      const exit = await run.exit;
      assert.notEqual(exit.code, null, `the launcher exited by itself (${JSON.stringify(exit)})`);
      untouched(forged, `another user's process with the run's marker (${how})`);
      const left = markerPids(runId, { escapee: false }).filter((pid) => pid !== forged.pid && isLive(pid));
      assert.deepEqual(left, [], 'the run\'s own processes are gone');
      assert.ok(run.events.some((e) => e.ev === 'run-end'), `the run reported its end: ${run.stdout}${run.stderr}`);
    });
  }

  it('a journal naming a real cgroup outside reaper\'s, or a sibling run\'s cgroup: neither is killed nor removed', { timeout: 60_000 }, async (t) => {
    const mount = findCgroup2Mount();
    if (!mount) return t.skip('no cgroup2 mounted');
    const victimCg = path.join(mount, `reaper-victim-${randomBytes(3).toString('hex')}`);
    mkdirSync(victimCg);
    cgroupsToRemove.push(victimCg);
    const member = await startLogger(path.join(work, 'cg.log'));
    writeFileSync(path.join(victimCg, 'cgroup.procs'), String(member.pid));
    const id = newId();
    plant(state, id, [runStart(id, { pid: 999_999, startTime: 1 }, { cgroup: victimCg })]);
    const s = await runCli(['stop', id, '--wait', '1'], { env: env() });
    assert.equal(s.code, 0, s.stdout + s.stderr);
    assert.match(s.stdout, /not acted on: cgroup: recorded cgroup \S+ is not reaper's cgroup of run/);
    assert.ok(existsSync(victimCg), 'the foreign cgroup still exists');
    assert.ok(readFileSync(path.join(victimCg, 'cgroup.procs'), 'utf8').includes(String(member.pid)), 'its member is still in it');
    untouched(member, 'member of a foreign cgroup');
    process.kill(member.pid, 'SIGKILL');
    await waitFor(() => stateOf(member.pid) === null || stateOf(member.pid) === 'Z', { what: 'cgroup member gone' });
  });

  it('pid 1 (in a PID namespace) named as launcher and task is never signalled', { timeout: 60_000 }, async (t) => {
    if (spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status !== 0) return t.skip('unshare --pid --mount-proc refused');
    const id = newId();
    const p = runPaths(state, id);
    mkdirSync(p.dir, { mode: 0o700 });
    const log = path.join(work, 'pid1.log');
    writeFileSync(log, '');
    // Runs as pid 1 of a new PID namespace: plants a journal naming itself, then runs `reaper stop`.
    const script = `
const fs = require('fs');
const { spawnSync } = require('child_process');
const [cli, xdg, journal, runId, log] = process.argv.slice(1);
for (const s of ['SIGTERM', 'SIGCONT', 'SIGHUP', 'SIGINT', 'SIGUSR1']) process.on(s, () => fs.appendFileSync(log, s + '\\n'));
const stat = fs.readFileSync('/proc/1/stat', 'utf8');
const st = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
const ev = [
  { ev: 'run-start', t: Date.now(), run: runId, name: 'pid1', file: '/x', launcher: { pid: 1, startTime: st }, guardian: null, layers: [], gpus: ['0'], tasks: [{ task: 0, vars: {} }], stages: ['s'], graceMs: 200, cgroup: null, detached: true },
  { ev: 'task-start', t: Date.now(), task: 0, stage: 's', attempt: 1, gpu: '0', pid: 1, startTime: st, pgid: 1, cgroup: null, argv: ['x'], stdout: '/dev/null', stderr: '/dev/null' },
];
fs.writeFileSync(journal, ev.map((e) => JSON.stringify(e)).join('\\n') + '\\n', { mode: 0o600 });
const r = spawnSync(process.execPath, [cli, 'stop', runId, '--wait', '1'], { env: { ...process.env, XDG_STATE_HOME: xdg, REAPER_RUN: '' }, encoding: 'utf8', timeout: 30000 });
setTimeout(() => fs.writeFileSync(log + '.out', JSON.stringify({ code: r.status, stdout: r.stdout, stderr: r.stderr })), 300);
`;
    const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', process.execPath, '-e', script, CLI, xdg, p.journal, id, log], { encoding: 'utf8', timeout: 45_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(readFileSync(log + '.out', 'utf8')) as { code: number; stdout: string; stderr: string };
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.match(out.stdout, /recorded launcher: pid 1 is never a target; not signalled/);
    assert.equal(readFileSync(log, 'utf8'), '', 'pid 1 received no signal');
  });

  it('run folders others could write, owned by another user, or with a symlinked journal are refused with a clear message', { timeout: 90_000 }, async () => {
    assert.ok(user, 'a throwaway user could be created');
    const idW = newId();
    const idU = newId();
    const idL = newId();
    // A root process carrying the marker of the world-writable run: a real target if the folder were believed.
    const marked = await startLogger(path.join(work, 'marked.log'), { env: { REAPER_RUN: idW } });
    const key = { pid: marked.pid, startTime: marked.startTime };
    const pw = plant(state, idW, [runStart(idW, key), taskStart(0, key.pid, key.startTime)]);
    chmodSync(pw.dir, 0o777);
    const pu = plant(state, idU, [runStart(idU, key), taskStart(0, key.pid, key.startTime)]);
    chownSync(pu.dir, user!.uid, user!.gid);
    chownSync(pu.journal, user!.uid, user!.gid);
    const pl = runPaths(state, idL);
    mkdirSync(pl.dir, { mode: 0o700 });
    const elsewhere = path.join(work, 'elsewhere.jsonl');
    writeFileSync(elsewhere, [runStart(idL, key), taskStart(0, key.pid, key.startTime)].map((e) => JSON.stringify(e)).join('\n') + '\n', { mode: 0o600 });
    symlinkSync(elsewhere, pl.journal);
    const before = readFileSync(elsewhere, 'utf8');

    const cases: Array<[string, RegExp]> = [
      [idW, /run folder \S+ is writable by everyone \(mode 777; chmod go-w fixes it\); nothing was signalled/],
      [idU, /run folder \S+ is owned by uid \d+, not by you \(uid 0\) or root; nothing was signalled/],
      [idL, /journal \S+ is a symbolic link; nothing was signalled/],
    ];
    for (const [id, re] of cases) {
      const s = await runCli(['stop', id, '--wait', '1'], { env: env() });
      assert.equal(s.code, 2, `stop ${id}: ${s.stdout}${s.stderr}`);
      assert.match(s.stderr, /^reaper: run \S+: /);
      assert.match(s.stderr, re);
      const g = spawnSync(process.execPath, [CLI, '__guardian', '--run', id, '--state', state], { maxBuffer: CLI_MAX_BUFFER,  stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 30_000 });
      assert.equal(g.status, 2, g.stdout + g.stderr);
      assert.match(g.stdout, /refusing to act: /);
    }
    untouched(marked, 'marked process named by untrusted run folders');
    assert.equal(readFileSync(elsewhere, 'utf8'), before, 'nothing was appended through the journal link');

    // `ls` and `reap --run last` still see the other runs: each bad folder hides only itself.
    const report = readRunsReport(state, null);
    const skipped = new Map(report.skipped.map((s) => [s.id, s.why]));
    assert.match(skipped.get(idW) ?? '', /writable by everyone/);
    assert.match(skipped.get(idU) ?? '', /owned by uid/);
    assert.match(skipped.get(idL) ?? '', /symbolic link/);
    assert.ok(report.runs.length >= 2, 'the trusted planted runs are still listed');
  });

  it('a state folder that everyone may write is refused as a whole', { timeout: 30_000 }, async () => {
    const open = path.join(work, 'open-xdg');
    mkdirSync(path.join(open, 'reaper', 'runs'), { recursive: true });
    chmodSync(path.join(open, 'reaper'), 0o777);
    const id = newId();
    const marked = await startLogger(path.join(work, 'open.log'), { env: { REAPER_RUN: id } });
    const p = runPaths(path.join(open, 'reaper'), id);
    mkdirSync(p.dir, { mode: 0o700 });
    writeFileSync(p.journal, JSON.stringify(runStart(id, { pid: marked.pid, startTime: marked.startTime })) + '\n', { mode: 0o600 });
    const s = await runCli(['stop', id, '--wait', '1'], { env: { XDG_STATE_HOME: open, HOME: open, REAPER_RUN: '' } });
    assert.equal(s.code, 2, s.stdout + s.stderr);
    assert.match(s.stderr, /state folder \S+ is writable by everyone/);
    untouched(marked, 'marked process under a world-writable state folder');
  });
});
