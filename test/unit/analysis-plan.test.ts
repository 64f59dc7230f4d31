import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyze, DEFAULT_BATCH_PATTERNS, planReap } from '../../src/analysis/index.js';
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
    // 201 is a zombie its live parent 200 never reaps: the action goes to 200 (without its tree).
    assert.deepEqual(plan.targets.map((t) => t.pid), [100, 101, 200, 102, 201]);
    assert.equal(plan.targets[2]!.viaParentOf, 201);
    assert.ok(plan.targets[0]!.reasons.some((r) => r.code === 'orphaned'));
    assert.deepEqual(plan.skipped.map((x) => x.pid), [103]);
    assert.match(plan.skipped[0]!.why, /owned by root/);
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
