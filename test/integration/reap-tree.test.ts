/**
 * The reap ladder on real trees (scoped by a unique argv marker or an exact pid: other
 * engineers' root processes run on this machine too).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { executeReap, teardown } from '../../src/actions/index.js';
import { waitFor } from '../helpers/wait-for.js';
import {
  cleanup, FIXTURES, isGone, liveWithMarker, pidsWithMarker, PYTHON, runCli, spawnFixture, startTimeOf, stateOf, uniqueMarker,
} from '../helpers/reap-trees.js';

interface MixedInfo {
  root: number; stopped: number; ignorer: number; forker: number; escParent: number; escapee: number; zParent: number; zombie: number;
}
interface ReapDoc {
  plan: { targets: Array<{ pid: number; reasons: Array<{ code: string; text: string }>; viaParentOf: number | null }>; skipped: Array<{ pid: number; why: string }> };
  results: Array<{ pid: number; startTime: number; outcome: string; why: string | null }>;
}

async function mixedTree(marker: string, runId: string) {
  const t = await spawnFixture<MixedInfo>([PYTHON, FIXTURES + 'mixed_tree.py', marker, runId]);
  await waitFor(() => stateOf(t.info.stopped) === 'T', { what: 'stopped member', timeoutMs: 15_000 });
  await waitFor(() => stateOf(t.info.zombie) === 'Z', { what: 'zombie', timeoutMs: 15_000 });
  return t;
}

async function decoy(marker: string) {
  return spawnFixture<{ pid: number }>([PYTHON, '-c', 'import os, time; print(\'{"pid": %d}\' % os.getpid(), flush=True); time.sleep(3600)', `decoy-${[...marker].reverse().join('')}`]);
}

describe('reap on real trees', () => {
  it('kill: --run takes only the escapee, then stop-rescan-kill takes the whole tree; the decoy survives', async (t) => {
    const marker = uniqueMarker();
    const runId = uniqueMarker('run');
    const tree = await mixedTree(marker, runId);
    const d = await decoy(marker);
    t.after(() => cleanup({ pgids: [tree.pid, d.pid], pids: [tree.info.escapee, d.pid], marker }));
    const dStart = startTimeOf(d.pid);

    assert.equal(stateOf(tree.info.stopped), 'T');
    const escStart = startTimeOf(tree.info.escapee);
    // The escapee left the tree (setsid, parent gone): only its REAPER_RUN finds it.
    const byRun = await runCli(['reap', '--run', runId, '--signal', 'kill', '--yes', '--json', '--gpus', 'none']);
    assert.equal(byRun.code, 0, byRun.stderr);
    const runDoc = JSON.parse(byRun.stdout) as ReapDoc;
    assert.deepEqual(runDoc.results.map((r) => [r.pid, r.outcome]), [[tree.info.escapee, 'gone']]);
    assert.ok(runDoc.plan.targets[0]!.reasons.some((r) => r.code === 'ended-run'), JSON.stringify(runDoc.plan.targets[0]));
    assert.ok(isGone(tree.info.escapee, escStart));
    assert.equal(stateOf(tree.info.forker) !== null && !isGone(tree.info.forker, startTimeOf(tree.info.forker)), true, 'the rest is untouched');

    const before = liveWithMarker(marker);
    const res = await runCli(['reap', '--match', marker, '--signal', 'kill', '--yes', '--json', '--gpus', 'none']);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    const doc = JSON.parse(res.stdout) as ReapDoc;
    const zp = doc.plan.targets.find((x) => x.pid === tree.info.zParent);
    assert.equal(zp?.viaParentOf, tree.info.zombie, 'the zombie is handled through its parent');
    for (const r of doc.results) assert.equal(r.outcome, 'gone', JSON.stringify(r));
    for (const p of before) assert.ok(isGone(p.pid, p.startTime), `pid ${p.pid} (${p.state}) survived`);
    await waitFor(() => liveWithMarker(marker).length === 0, { what: 'no marked process alive', timeoutMs: 10_000 });
    assert.ok(!isGone(d.pid, dStart), 'decoy survives');
  });

  it('term: SIGTERM+SIGCONT ends the stopped Tl member; the SIGTERM-ignoring one is killed after the grace', async (t) => {
    const marker = uniqueMarker();
    const tree = await mixedTree(marker, uniqueMarker('run'));
    const d = await decoy(marker);
    t.after(() => cleanup({ pgids: [tree.pid, d.pid], pids: [tree.info.escapee, d.pid], marker }));
    const dStart = startTimeOf(d.pid);
    const before = liveWithMarker(marker);
    const res = await runCli(['reap', '--match', marker, '--signal', 'term', '--grace', '1', '--yes', '--json', '--gpus', 'none']);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    const doc = JSON.parse(res.stdout) as ReapDoc;
    const byPid = new Map(doc.results.map((r) => [r.pid, r]));
    assert.equal(byPid.get(tree.info.stopped)?.outcome, 'gone');
    assert.match(byPid.get(tree.info.stopped)!.why!, /exited after SIGTERM/);
    assert.equal(byPid.get(tree.info.ignorer)?.outcome, 'gone');
    assert.match(byPid.get(tree.info.ignorer)!.why!, /SIGKILL.*still running 1\.0 s after SIGTERM/);
    for (const p of before) assert.ok(isGone(p.pid, p.startTime), `pid ${p.pid} survived`);
    assert.ok(!isGone(d.pid, dStart), 'decoy survives');
  });

  it('cont: resumes the stopped tree member (pid selector)', async (t) => {
    const marker = uniqueMarker();
    const tree = await mixedTree(marker, uniqueMarker('run'));
    t.after(() => cleanup({ pgids: [tree.pid], pids: [tree.info.escapee], marker }));
    const res = await runCli(['reap', '--pid', String(tree.info.stopped), '--signal', 'cont', '--yes', '--json', '--gpus', 'none']);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    const doc = JSON.parse(res.stdout) as ReapDoc;
    assert.deepEqual(doc.results.map((r) => [r.pid, r.outcome]), [[tree.info.stopped, 'resumed']]);
    await waitFor(() => stateOf(tree.info.stopped) === 'S', { what: 'running again' });
    assert.equal(stateOf(tree.info.ignorer), 'S', 'siblings untouched');
  });

  it('dry-run touches nothing and lists reasons; no terminal and no --yes refuses; bad regex is exit 2', async (t) => {
    const marker = uniqueMarker();
    const tree = await mixedTree(marker, uniqueMarker('run'));
    t.after(() => cleanup({ pgids: [tree.pid], pids: [tree.info.escapee], marker }));
    const dry = await runCli(['reap', '--match', marker, '--dry-run', '--gpus', 'none']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /reap plan: term/);
    assert.match(dry.stdout, /stopped \(T\): no controlling terminal.*: stopped by a signal \(SIGSTOP, SIGTSTP or Ctrl\+Z\)/);
    const refuse = await runCli(['reap', '--match', marker, '--gpus', 'none']);
    assert.equal(refuse.code, 2);
    assert.match(refuse.stderr, /^reaper: refusing to act without a terminal/);
    assert.equal(refuse.stderr.trim().split('\n').length, 1);
    const bad = await runCli(['reap', '--match', '([', '--dry-run']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--match: bad regular expression/);
    assert.equal((await runCli(['reap', '--signal', 'hup', '--dry-run'])).code, 2);
    assert.equal((await runCli(['reap', '--grace', 'x', '--dry-run'])).code, 2);
    assert.equal(stateOf(tree.info.stopped), 'T', 'dry-run changed nothing');
    assert.ok(pidsWithMarker(marker).length >= 6);
  });
});

describe('executor directly', () => {
  it('a recorded identity whose start time no longer matches is skipped and left alive', async (t) => {
    const marker = uniqueMarker();
    const d = await decoy(marker);
    t.after(() => cleanup({ pgids: [d.pid], pids: [d.pid], marker }));
    const real = startTimeOf(d.pid);
    const results = await executeReap({
      action: 'kill',
      graceMs: 0,
      targets: [{ pid: d.pid, startTime: real - 1, uid: 0, user: 'root', stat: 'S', cmd: 'recorded', reasons: [] }],
      skipped: [],
    });
    assert.equal(results.length, 1);
    assert.equal(results[0]!.outcome, 'skipped');
    assert.match(results[0]!.why!, /identity changed/);
    assert.equal(results[0]!.reused, true, 'marked as reused: the exit code of reap reads this, not the text');
    assert.ok(!isGone(d.pid, real), 'still alive');
  });

  it('teardown by REAPER_RUN takes the whole run, escapee included; by pgid and roots too', async (t) => {
    const marker = uniqueMarker();
    const runId = uniqueMarker('run');
    const tree = await spawnFixture<MixedInfo>([PYTHON, FIXTURES + 'mixed_tree.py', marker, runId], { env: { ...process.env, REAPER_RUN: runId } });
    const d = await decoy(marker);
    t.after(() => cleanup({ pgids: [tree.pid, d.pid], pids: [tree.info.escapee, d.pid], marker }));
    await waitFor(() => stateOf(tree.info.stopped) === 'T', { what: 'stopped member' });
    const dStart = startTimeOf(d.pid);
    const before = liveWithMarker(marker);
    const results = await teardown({ runId, mode: 'term', graceMs: 500, owner: process.getuid!() });
    for (const r of results) assert.equal(r.outcome, 'gone', JSON.stringify(r));
    for (const p of before) assert.ok(isGone(p.pid, p.startTime), `pid ${p.pid} survived`);
    assert.ok(!isGone(d.pid, dStart), 'decoy survives');

    const tree2 = await mixedTree(marker, runId);
    const before2 = liveWithMarker(marker).filter((p) => p.pid !== tree2.info.escapee);
    const leader = { pid: tree2.pid, startTime: startTimeOf(tree2.pid) };
    const r2 = await teardown({ groups: [{ pgid: tree2.pid, runId, leaderStart: leader.startTime, knownAtTicks: null }], roots: [leader], mode: 'kill', graceMs: 0, owner: process.getuid!() });
    assert.ok(r2.length >= before2.length);
    for (const p of before2) assert.ok(isGone(p.pid, p.startTime), `pid ${p.pid} survived`);
    assert.ok(!isGone(tree2.info.escapee, startTimeOf(tree2.info.escapee)), 'the setsid escapee is outside group and tree');
    assert.ok(!isGone(d.pid, dStart), 'decoy survives');
  });

  it('teardown takes a recorded group id only with evidence that it is still the stage\'s: a new session that took the id is left alone', async (t) => {
    // The decoy is its own session and group (pgid = its pid) with no marker: what a new session
    // that took a dead stage's group id looks like to teardown.
    const marker = uniqueMarker();
    const d = await decoy(marker);
    t.after(() => cleanup({ pgids: [d.pid], pids: [d.pid], marker }));
    const start = startTimeOf(d.pid);
    const owner = process.getuid!();
    const stale = { pgid: d.pid, runId: uniqueMarker('run') };
    // The stage's leader had another start time, and the group was last known to be the stage's
    // before the decoy started: no member proves it, nothing is signalled.
    const none = await teardown({ groups: [{ ...stale, leaderStart: start - 1, knownAtTicks: start - 1 }], mode: 'kill', graceMs: 0, owner });
    assert.deepEqual(none, []);
    assert.ok(!isGone(d.pid, start), 'the new session survives');
    // Another user's group is never evidence either.
    assert.deepEqual(await teardown({ groups: [{ ...stale, leaderStart: start, knownAtTicks: null }], mode: 'kill', graceMs: 0, owner: owner + 1 }), []);
    assert.ok(!isGone(d.pid, start), 'still alive');
    // A member that already lived when the group was known to be the stage's proves it.
    const taken = await teardown({ groups: [{ ...stale, leaderStart: null, knownAtTicks: start }], mode: 'kill', graceMs: 0, owner });
    assert.deepEqual(taken.map((r) => [r.pid, r.outcome]), [[d.pid, 'gone']]);
    assert.ok(isGone(d.pid, start));
  });
});
