import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planForPids, type ReapPlan } from '../../src/analysis/index.js';
import type { Verdict } from '../../src/model/index.js';
import { buildReapJson } from '../../src/cli/render/reap-json.js';
import { renderPlanText, renderResultLine, summarizeResults } from '../../src/cli/render/reap-text.js';
import { proc, snap } from '../helpers/reap-fake.js';

const s = snap([
  proc({ pid: 4700, comm: 'bash', tty: 'pts/3' }),
  proc({ pid: 4711, ppid: 4700, pgid: 4711, sid: 4700, state: 'T', comm: 'python3\x1b[2J', tty: 'pts/3' }),
]);
const v = new Map<number, Verdict>([[4711, { reasons: [{ code: 'stopped', text: 'stopped (T)' }], stopCause: { kind: 'ttin', culpritPid: 4711, shellPid: 4700, tty: 'pts/3' } }]]);
const plan: ReapPlan = planForPids(s, v, [4711], { action: 'cont', graceMs: 0, allUsers: false });

describe('reap text and JSON', () => {
  it('the plan says what is signalled and warns, wrapped at the width, never cut, sanitised', () => {
    const text = renderPlanText(plan, 60);
    const lines = text.trimEnd().split('\n');
    const wrapped = lines.filter((l) => /^(  scope: |warning: |    \S)/.test(l));
    assert.ok(wrapped.length >= 4, text);
    for (const l of wrapped) assert.ok(l.length <= 60, `too wide: ${l}`);
    const joined = lines.map((l) => l.trim()).join(' ');
    assert.match(joined, /scope: sends SIGCONT only to those of this process that are stopped, plus stopped descendants found while acting; running ones are left alone/);
    assert.match(joined, /warning: resuming is pointless: 4711 \(python3\\x1b\[2J\) reads pts\/3 from a background group and will stop again; bring it to the foreground with `fg` in shell 4700 on pts\/3, or kill it/);
    assert.ok(!text.includes('\x1b'), 'no raw escape reaches the terminal');
  });

  it('a result line keeps its whole reason (wrapped, indented), whatever the width', () => {
    const why = 'not resumed: its cgroup /sys/fs/cgroup/unified/some/deep/path/of/a/job is frozen; thaw it: echo 0 > /sys/fs/cgroup/unified/some/deep/path/of/a/job/cgroup.freeze';
    const out = renderResultLine({ pid: 4711, startTime: 1, cmd: 'python3 x.py', outcome: 'survived', why }, 80);
    assert.ok(!out.includes('…'), out);
    assert.equal(out.split('\n').map((l) => l.trim()).join(' ').includes(why), true, out);
    assert.ok(out.split('\n').length > 1);
  });

  it('the summary counts only what was stopped as resumed', () => {
    const r = (pid: number, outcome: 'resumed' | 'not-stopped') => ({ pid, startTime: 1, cmd: 'x', outcome, why: null });
    assert.equal(summarizeResults([r(1, 'resumed'), r(2, 'not-stopped'), r(3, 'not-stopped')]), 'result: 1 resumed, 2 not stopped (left alone)');
  });

  it('JSON carries scope and warnings', () => {
    const doc = buildReapJson(plan, [], true);
    assert.match(doc.plan.scope!, /^sends SIGCONT only/);
    assert.equal(doc.plan.warnings.length, 1);
    assert.equal(buildReapJson({ ...plan, targets: [] }, [], true).plan.scope, null);
  });
});
