import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyze, DEFAULT_BATCH_PATTERNS, planForPids, planReap } from '../../src/analysis/index.js';
import type { Verdict } from '../../src/model/index.js';
import { proc, snap } from '../helpers/reap-fake.js';

const opts = { action: 'kill' as const, graceMs: 5000, allUsers: false };

describe('planReap', () => {
  const s = snap(
    [
      proc({ pid: 50, comm: 'bash' }),
      proc({ pid: 100, ppid: 1, pgid: 90, sid: 90, argv: ['python3', 'sample_diffusion.py', 'tokenA'] }),
      proc({ pid: 101, ppid: 100, pgid: 90, sid: 90, state: 'T', stat: 'Tl' }),
      proc({ pid: 102, ppid: 101, pgid: 90, sid: 90 }),
      proc({ pid: 103, ppid: 100, pgid: 90, sid: 90, uid: 0, user: 'root' }),
      proc({ pid: 200, ppid: 50, pgid: 200, sid: 50, argv: ['sleep', 'tokenA'] }),
      proc({ pid: 201, ppid: 200, state: 'Z', argv: [] }),
      proc({ pid: 300, ppid: 1, state: 'Z', argv: [] }),
    ],
    { selfAncestors: [50] },
  );
  const v = analyze({ snapshot: s, runs: [], patterns: DEFAULT_BATCH_PATTERNS, allUsers: false });

  it('default: leftovers with their trees, top-down, other users skipped', () => {
    const plan = planReap(s, v, {}, opts);
    // 201 is a zombie its live parent 200 never reaps. 200 is not a leftover (a user's process
    // under a shell): the default selector never reaches it for its child's sake.
    assert.deepEqual(plan.targets.map((t) => t.pid), [100, 101, 102]);
    assert.ok(plan.targets[0]!.reasons.some((r) => r.code === 'orphaned'));
    assert.deepEqual(plan.skipped.map((x) => x.pid), [103, 201]);
    assert.match(plan.skipped[0]!.why, /owned by root/);
    assert.match(plan.skipped[1]!.why, /only its parent 200 .* was not selected: act on it with --pid 200/);
    assert.match(plan.scope!, /exactly these 3 processes, plus any descendant of them found while/);
    assert.deepEqual(plan.warnings, []);
  });
  it('a zombie whose parent belongs to another user: never redirected, even with --state Z --all-users', () => {
    const s2 = snap([
      proc({ pid: 400, ppid: 1, uid: 0, user: 'root', argv: ['slurmstepd'] }),
      proc({ pid: 401, ppid: 400, state: 'Z', argv: [] }),
    ], { selfUid: 0 });
    const v2 = analyze({ snapshot: s2, runs: [], patterns: [], allUsers: true });
    const plan = planReap(s2, v2, { state: 'Z' }, { ...opts, allUsers: true });
    assert.deepEqual(plan.targets.map((t) => t.pid), []);
    assert.match(plan.skipped.find((x) => x.pid === 401)!.why, /parent 400 .* belongs to root, not to the zombie's owner/);
    // Selecting the parent itself is explicit: then it is a target (with its zombie).
    assert.deepEqual(planReap(s2, v2, { pid: 400 }, { ...opts, allUsers: true }).targets.map((t) => t.pid), [400, 401]);
  });
  it('--pid of a protected process (reaper\'s own shell): nothing below it is taken either, with a warning that says so', () => {
    const s2 = snap([
      proc({ pid: 800, ppid: 1, comm: 'bash', argv: ['-bash'] }),
      proc({ pid: 801, ppid: 800, comm: 'sleep', argv: ['sleep', '300'] }),
      proc({ pid: 802, ppid: 801, comm: 'sleep', argv: ['sleep', '301'] }),
      proc({ pid: 99_999, ppid: 800, comm: 'node', argv: ['node', 'reaper'] }),
    ], { selfAncestors: [800] });
    const v2 = analyze({ snapshot: s2, runs: [], patterns: [], allUsers: false });
    const plan = planReap(s2, v2, { pid: 800 }, opts);
    assert.deepEqual(plan.targets.map((t) => t.pid), []);
    assert.match(plan.skipped.find((x) => x.pid === 800)!.why, /an ancestor of reaper/);
    assert.deepEqual(plan.warnings, ['800 (bash) is protected (an ancestor of reaper (your shell or session)): nothing below it is taken either; name its children with --pid']);
    // Its child named directly is an ordinary tree.
    assert.deepEqual(planReap(s2, v2, { pid: 801 }, opts).targets.map((t) => t.pid), [801, 802]);
  });
  it('a plan for a run\'s user (root acting for uid 1000): only that user\'s processes, the tree included; the plan carries that uid for the executor', () => {
    const s2 = snap([
      proc({ pid: 600, ppid: 1, uid: 1000, user: 'alice', argv: ['python3', 'sample.py'] }),
      proc({ pid: 601, ppid: 600, uid: 0, user: 'root', argv: ['sudo', 'nvidia-smi'] }),
      proc({ pid: 602, ppid: 600, uid: 1000, user: 'alice', argv: ['python3', 'loader.py'] }),
      proc({ pid: 700, ppid: 1, uid: 1001, user: 'bob', argv: ['sleep', '1000'] }),
    ], { selfUid: 0 });
    const plan = planForPids(s2, new Map(), [600, 700], { ...opts, user: 1000 });
    assert.deepEqual(plan.targets.map((t) => t.pid), [600, 602]);
    assert.match(plan.skipped.find((x) => x.pid === 601)!.why, /^owned by root \(uid 0\), not by the run's user \(uid 1000\)$/);
    assert.match(plan.skipped.find((x) => x.pid === 700)!.why, /^owned by bob \(uid 1001\), not by the run's user \(uid 1000\)$/);
    assert.equal(plan.userUid, 1000);
    assert.equal(planForPids(s2, new Map(), [600], opts).userUid, 0, 'default: the caller');
  });
  it('a daemon is never signalled, even when named: --pid, --match, a key on its row, a zombie\'s parent', () => {
    const s2 = snap([
      proc({ pid: 500, ppid: 1, uid: 0, user: 'root', comm: 'sshd', argv: ['sshd: /usr/sbin/sshd -D'] }),
      proc({ pid: 501, ppid: 500, uid: 0, user: 'root', comm: 'sshd', argv: ['sshd: alice [priv]'] }),
      proc({ pid: 502, ppid: 501, uid: 0, user: 'root', comm: 'bash', argv: ['-bash'] }),
      proc({ pid: 503, ppid: 1, uid: 0, user: 'root', comm: 'slurmstepd', argv: ['slurmstepd: [7.batch]'] }),
      proc({ pid: 504, ppid: 503, uid: 0, user: 'root', state: 'Z', argv: [] }),
    ], { selfUid: 0 });
    const v2 = analyze({ snapshot: s2, runs: [], patterns: [], allUsers: true });
    const root = { ...opts, allUsers: true };
    const byPid = planReap(s2, v2, { pid: 500 }, root);
    // Its tree is not reached either: the sessions below sshd are not the caller's to take.
    assert.deepEqual(byPid.targets.map((t) => t.pid), []);
    assert.match(byPid.skipped.find((x) => x.pid === 500)!.why, /^a system daemon \(sshd\): reaper never signals daemons/);
    assert.deepEqual(planReap(s2, v2, { match: /sshd|slurmstepd/ }, root).targets.map((t) => t.pid), []);
    assert.deepEqual(planForPids(s2, v2, [503], root).targets, []);
    // A daemon inside a selected tree is skipped, the rest of the tree is not.
    assert.deepEqual(planForPids(s2, v2, [501], root).targets.map((t) => t.pid), []);
    assert.deepEqual(planForPids(s2, v2, [502], root).targets.map((t) => t.pid), [502]);
    const z = planReap(s2, v2, { state: 'Z' }, root);
    assert.deepEqual(z.targets, []);
    assert.match(z.skipped.find((x) => x.pid === 504)!.why, /parent 503 \(slurmstepd.*protected: a system daemon/);
  });
  it('--pid 1 names init, not "every process": nothing is planned below it', () => {
    const plan = planReap(s, v, { pid: 1 }, opts);
    assert.deepEqual(plan.targets, []);
    assert.match(plan.skipped.find((x) => x.pid === 1)!.why, /pid 1/);
  });
  it('planForPids (the screen: the user pointed at the zombie) still acts on its parent', () => {
    const plan = planForPids(s, v, [201], opts);
    assert.deepEqual(plan.targets.map((t) => [t.pid, t.viaParentOf ?? null, t.tree ?? true]), [[200, 201, false], [201, null, true]]);
  });
  it('--pid: that tree only', () => {
    const plan = planReap(s, v, { pid: 101 }, opts);
    assert.deepEqual(plan.targets.map((t) => t.pid), [101, 102]);
  });
  it('--match: a zombie child turns into its parent', () => {
    const plan = planReap(s, v, { match: /tokenA/ }, opts);
    const p200 = plan.targets.find((t) => t.pid === 200)!;
    assert.equal(p200.viaParentOf, 201);
    assert.ok(plan.targets.some((t) => t.pid === 201));
  });
  it('--state Z: parent becomes a target without its tree; zombie of init is skipped', () => {
    const plan = planReap(s, v, { state: 'Z' }, opts);
    const p200 = plan.targets.find((t) => t.pid === 200)!;
    assert.equal(p200.tree, false);
    assert.equal(p200.viaParentOf, 201);
    assert.match(plan.skipped.find((x) => x.pid === 300)!.why, /init/);
  });
  it('--state T intersects with --match', () => {
    assert.deepEqual(planReap(s, v, { state: 'T', match: /nothing/ }, opts).targets, []);
    assert.deepEqual(planReap(s, v, { state: 'T' }, opts).targets.map((t) => t.pid), [101, 102]);
  });
  it('--pid of a zombie acts on its parent', () => {
    assert.deepEqual(planReap(s, v, { pid: 201 }, opts).targets.map((t) => t.pid), [200, 201]);
  });
  it('cont: a group stopped by SIGTTIN carries a "resuming is pointless" warning naming the reader and the shell', () => {
    const s3 = snap([
      proc({ pid: 4700, comm: 'bash', tty: 'pts/3', pgid: 4700, sid: 4700 }),
      proc({ pid: 4710, ppid: 4700, pgid: 4710, sid: 4700, state: 'T', comm: 'python3', tty: 'pts/3' }),
      proc({ pid: 4711, ppid: 4710, pgid: 4710, sid: 4700, state: 'T', comm: 'python3', tty: 'pts/3' }),
      proc({ pid: 4800, ppid: 1, state: 'T', comm: 'sleep' }),
    ]);
    const cause = { kind: 'ttin' as const, culpritPid: 4711, shellPid: 4700, tty: 'pts/3' };
    const v3 = new Map<number, Verdict>([
      [4710, { reasons: [{ code: 'stopped', text: 'stopped' }], stopCause: cause }],
      [4711, { reasons: [{ code: 'stopped', text: 'stopped' }], stopCause: cause }],
      [4800, { reasons: [{ code: 'stopped', text: 'stopped' }], stopCause: { kind: 'signal', culpritPid: null, shellPid: null, tty: null } }],
    ]);
    const plan = planReap(s3, v3, { state: 'T' }, { ...opts, action: 'cont' });
    assert.deepEqual(plan.targets.map((t) => t.pid), [4800, 4710, 4711]);
    assert.deepEqual(plan.warnings, [
      'resuming is pointless: 4711 (python3) reads pts/3 from a background group and will stop again; bring it to the foreground with `fg` in shell 4700 on pts/3, or kill it',
    ]);
    assert.match(plan.scope!, /SIGCONT only to those of these 3 processes that are stopped/);
    // Killing it is what works: no warning there.
    assert.deepEqual(planReap(s3, v3, { state: 'T' }, opts).warnings, []);
    // ttou with the culprit unknown: still said, about the group.
    const v4 = new Map<number, Verdict>([[4710, { reasons: [], stopCause: { kind: 'ttou', culpritPid: null, shellPid: null, tty: 'pts/3' } }]]);
    assert.match(planForPids(s3, v4, [4710], { ...opts, action: 'cont' }).warnings![0]!, /^resuming is pointless: the group of 4710 \(python3\) writes to pts\/3 .*in the shell that started it/);
  });
  it('never plans an ancestor of reaper', () => {
    const plan = planReap(s, v, { pid: 50 }, opts);
    assert.ok(!plan.targets.some((t) => t.pid === 50));
    assert.match(plan.skipped.find((x) => x.pid === 50)!.why, /ancestor/);
  });
});

it('patternForScript: a batch config script name as a word, metacharacters escaped', async () => {
  const { patternForScript } = await import('../../src/analysis/patterns.js');
  const re = patternForScript('a.b+c.py');
  assert.ok(re.test('python3 /x/a.b+c.py --ckpt 1'));
  assert.ok(re.test('a.b+c.py'));
  assert.ok(!re.test('python3 a.bbbc.py'));
  assert.ok(!re.test('python3 xa.b+c.py'));
});

describe('planReap --run with the run owner (a trusted journal)', () => {
  // uid 1000 ran run R; uid 2000 forged REAPER_RUN=R on its own process; root's 30 happens to
  // have the pid + start time a journal names.
  const s = snap(
    [
      proc({ pid: 10, ppid: 1, uid: 1000, runId: 'R', startTime: 11 }),
      proc({ pid: 11, ppid: 10, uid: 1000, startTime: 12 }),
      proc({ pid: 20, ppid: 1, uid: 2000, user: 'eve', runId: 'R', startTime: 21 }),
      proc({ pid: 21, ppid: 20, uid: 2000, user: 'eve', startTime: 22 }),
      proc({ pid: 30, ppid: 1, uid: 0, user: 'root', startTime: 31 }),
      proc({ pid: 40, ppid: 1, uid: 1000, startTime: 41 }),
      proc({ pid: 50, ppid: 1, uid: 2000, startTime: 51 }),
    ],
    { selfUid: 0 },
  );
  const v = analyze({ snapshot: s, runs: [], patterns: [], allUsers: true });
  const all = { ...opts, allUsers: true };
  it('without an owner (no trusted journal) the marker alone selects, whoever carries it', () => {
    assert.deepEqual(planReap(s, v, { runId: 'R' }, all).targets.map((t) => t.pid), [10, 20, 11, 21]);
  });
  it('with the owner: another user\'s forged marker is not a member, nor a recorded leader of another uid', () => {
    const plan = planReap(s, v, { runId: 'R', runOwner: 1000, runLeaders: [{ pid: 30, startTime: 31 }, { pid: 40, startTime: 41 }] }, all);
    assert.deepEqual(plan.targets.map((t) => t.pid), [10, 40, 11]);
  });
  it('a leader must match pid and start time', () => {
    assert.deepEqual(planReap(s, v, { runId: 'R', runOwner: 1000, runLeaders: [{ pid: 40, startTime: 99 }] }, all).targets.map((t) => t.pid), [10, 11]);
  });
  it('processes in the run\'s Slurm job cgroups are members (with a note), of the owner only', () => {
    const plan = planReap(s, v, { runId: 'R', runOwner: 1000, runJobMembers: [{ pid: 40, startTime: 41, jobId: '77' }, { pid: 50, startTime: 51, jobId: '77' }] }, all);
    assert.deepEqual(plan.targets.map((t) => t.pid), [10, 40, 11]);
    assert.equal(plan.targets.find((t) => t.pid === 40)!.note, 'in Slurm job 77 (its cgroup on this node)');
  });
});
