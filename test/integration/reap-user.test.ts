/**
 * As a dedicated unprivileged user (created here, deleted afterwards):
 *  - acting on root's processes gets EPERM per process, nothing else is touched;
 *  - the post-mortem's shape (Pool driver SIGKILLed, its subprocess.run children and their
 *    loader workers left behind, some stopped) is found by the DEFAULT selector and reaped,
 *    while a decoy of the same user and root's own stopped process survive.
 * Running as that user scopes the default `--leftovers` to this test's processes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { otherUserKit, prepareOtherUserKit } from '../helpers/other-user-kit.js';
import { analyze, DEFAULT_BATCH_PATTERNS } from '../../src/analysis/index.js';
import { takeSnapshot } from '../../src/probe/snapshot.js';
import { waitFor } from '../helpers/wait-for.js';
import {
  cleanup, createTestUser, deleteTestUser, isGone, liveWithMarker, PYTHON, runCli, spawnFixture, startTimeOf, stateOf, uniqueMarker,
  type User,
} from '../helpers/reap-trees.js';

const SLEEPER = 'import os, sys, time; print(\'{"pid": %d}\' % os.getpid(), flush=True); time.sleep(3600)';
const canSetpriv = spawnSync('setpriv', ['--version']).status === 0;

describe('unprivileged user', { skip: process.getuid?.() !== 0 || !canSetpriv ? 'needs root and setpriv' : false }, () => {
  let user: User | null = null;
  before(async () => {
    user = createTestUser();
    await prepareOtherUserKit();
  });
  after(() => deleteTestUser(user));

  it('acting on root processes: EPERM per process, a clear result, nothing else affected', async (t) => {
    if (!user) return t.skip('useradd failed');
    const marker = uniqueMarker();
    const a = await spawnFixture<{ pid: number }>([PYTHON, '-c', SLEEPER, marker, 'a']);
    const b = await spawnFixture<{ pid: number }>([PYTHON, '-c', SLEEPER, marker, 'b']);
    const mine = await spawnFixture<{ pid: number }>([PYTHON, '-c', SLEEPER, `keep${marker.slice(3)}`], { user });
    t.after(() => cleanup({ pgids: [a.pid, b.pid, mine.pid], pids: [a.pid, b.pid, mine.pid], marker }));
    const starts = [a.pid, b.pid, mine.pid].map(startTimeOf);

    const planned = await runCli(['reap', '--match', marker, '--dry-run', '--json', '--gpus', 'none'], { user });
    assert.equal(planned.code, 0, planned.stderr);
    const pdoc = JSON.parse(planned.stdout) as { plan: { targets: unknown[]; skipped: Array<{ pid: number; why: string }> } };
    assert.equal(pdoc.plan.targets.length, 0, 'without --all-users root processes are not planned');
    assert.match(pdoc.plan.skipped.find((s) => s.pid === a.pid)!.why, /owned by root \(uid 0\)/);

    const res = await runCli(['reap', '--all-users', '--match', marker, '--signal', 'kill', '--yes', '--json', '--gpus', 'none'], { user });
    assert.equal(res.code, 1, res.stdout + res.stderr);
    const doc = JSON.parse(res.stdout) as { results: Array<{ pid: number; outcome: string; why: string }> };
    assert.deepEqual(
      doc.results.map((r) => [r.pid, r.outcome, r.why]).sort(),
      [
        [a.pid, 'skipped', 'not permitted (owned by uid 0)'],
        [b.pid, 'skipped', 'not permitted (owned by uid 0)'],
      ].sort(),
    );
    assert.equal(stateOf(a.pid), 'S', 'not even stopped');
    assert.equal(stateOf(b.pid), 'S');
    [a.pid, b.pid, mine.pid].forEach((pid, i) => assert.ok(!isGone(pid, starts[i]!), `pid ${pid} alive`));
  });

  it('post-mortem shape: default --leftovers lists every leftover with reasons and reaps them; decoys survive', async (t) => {
    if (!user) return t.skip('useradd failed');
    const marker = uniqueMarker();
    const decoyUser = await spawnFixture<{ pid: number }>([PYTHON, '-c', SLEEPER, `decoy${marker.slice(3)}`], { user });
    const decoyRoot = await spawnFixture<{ pid: number }>([PYTHON, '-c', SLEEPER, `rootdecoy${marker.slice(3)}`]);
    process.kill(decoyRoot.pid, 'SIGSTOP'); // a root leftover: not this user's business
    const driver = await spawnDriver(marker, user);
    t.after(() => cleanup({ pgids: [driver, decoyUser.pid, decoyRoot.pid], pids: [decoyUser.pid, decoyRoot.pid], marker }));
    const decoys = [decoyUser.pid, decoyRoot.pid].map((pid) => [pid, startTimeOf(pid)] as const);

    // 2 pool workers running sample_diffusion.py (2), each with 2 loaders (one stopped).
    await waitFor(() => liveWithMarker(marker).filter((p) => p.state === 'T').length >= 2 && liveWithMarker(marker).length >= 9, {
      what: 'batch shape',
      timeoutMs: 30_000,
    });
    process.kill(driver, 'SIGKILL');
    await waitFor(() => isGone(driver, 0) || stateOf(driver) === null || stateOf(driver) === 'Z', { what: 'driver dead' });
    await waitFor(() => liveWithMarker(marker).every((p) => p.pid !== driver), { what: 'driver gone' });
    const left = liveWithMarker(marker);
    assert.ok(left.length >= 8, `leftovers: ${left.length}`);

    // The analysis (as root, all users) explains every one of them.
    const snapshot = await takeSnapshot();
    const verdicts = analyze({ snapshot, runs: [], patterns: DEFAULT_BATCH_PATTERNS, allUsers: true });
    for (const p of left) {
      const v = verdicts.get(p.pid);
      assert.ok(v, `pid ${p.pid} (${snapshot.byPid.get(p.pid)?.cmd}) is not a leftover`);
      const codes = v.reasons.map((r) => r.code);
      assert.ok(codes.includes('orphaned'), `${p.pid}: ${codes}`);
      if (p.state === 'T') assert.ok(codes.includes('stopped'), `${p.pid}: ${codes}`);
      if (snapshot.byPid.get(p.pid)?.cmd.includes('sample_diffusion.py')) assert.ok(codes.includes('batch-pattern'), `${p.pid}: ${codes}`);
    }

    // `reaper ls --leftovers --json` when ls has it wired (helper "proc" / lead).
    const ls = await runCli(['ls', '--leftovers', '--json', '--gpus', 'none'], { user });
    if (ls.code === 0) {
      const lsDoc = JSON.parse(ls.stdout) as { processes: Array<{ pid: number; leftover: { reasons: Array<{ code: string }> } | null }> };
      for (const p of left) {
        const row = lsDoc.processes.find((x) => x.pid === p.pid);
        assert.ok(row?.leftover && row.leftover.reasons.length > 0, `ls --leftovers misses ${p.pid}`);
      }
      assert.ok(!lsDoc.processes.some((x) => x.pid === decoyUser.pid), 'decoy is not a leftover');
    } else {
      t.diagnostic(`ls --leftovers not available yet: ${ls.stderr.trim()}`);
    }

    const dry = await runCli(['reap', '--dry-run', '--json', '--gpus', 'none'], { user });
    assert.equal(dry.code, 0, dry.stderr);
    const plan = (JSON.parse(dry.stdout) as { plan: { targets: Array<{ pid: number }> } }).plan;
    for (const p of left) assert.ok(plan.targets.some((x) => x.pid === p.pid), `plan misses ${p.pid}`);
    assert.ok(!plan.targets.some((x) => x.pid === decoyUser.pid || x.pid === decoyRoot.pid));

    const res = await runCli(['reap', '--yes', '--grace', '2', '--gpus', 'none'], { user });
    assert.equal(res.code, 0, res.stdout + res.stderr);
    for (const p of left) assert.ok(isGone(p.pid, p.startTime), `pid ${p.pid} survived\n${res.stdout}`);
    assert.equal(liveWithMarker(marker).length, 0);
    for (const [pid, st] of decoys) assert.ok(!isGone(pid, st), `decoy ${pid} survives`);
    assert.equal(stateOf(decoyRoot.pid), 'T', "root's stopped process is untouched");
  });
});

/** The Pool driver as `user`, in its own session; returns its pid (the group leader). */
async function spawnDriver(marker: string, user: User): Promise<number> {
  const { spawn } = await import('node:child_process');
  const argv = ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', PYTHON, otherUserKit().fixtures + 'batch_driver.py', marker];
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore', cwd: '/tmp' });
  child.unref();
  return child.pid!;
}
