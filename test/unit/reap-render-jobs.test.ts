/** `reaper reap --run` on a Slurm run: the jobs in the plan text, the JSON and the result line. Pure. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { planForPids, type ReapPlan } from '../../src/analysis/index.js';
import { buildReapJson } from '../../src/cli/render/reap-json.js';
import { renderJobResultLine, renderPlanText, summarizeResults } from '../../src/cli/render/reap-text.js';
import { proc, snap } from '../helpers/reap-fake.js';

const base = planForPids(snap([proc({ pid: 10 })]), new Map(), [], { action: 'term', graceMs: 5000, allUsers: false });
const plan: ReapPlan = {
  ...base,
  jobs: [
    { id: '123', name: 'reaper-20261202-0-sample', state: 'RUNNING', nodes: 'vm', reason: null, user: 'root' },
    { id: '124', name: 'reaper-20261202-1-sample\x1b[2J', state: 'PENDING', nodes: null, reason: 'Resources', user: 'root' },
  ],
};

it('the plan lists each job (state, node or pending reason), sanitised; jobs alone are not "nothing to reap"', () => {
  const text = renderPlanText(plan, 120);
  assert.match(text, /^reap plan: term .*; 2 Slurm jobs \(scancel\), 0 targets\n/);
  assert.match(text, /\n {4}slurm job 123 reaper-20261202-0-sample RUNNING on vm\n/);
  assert.match(text, /\n {4}slurm job 124 reaper-20261202-1-sample\\x1b\[2J PENDING \(Resources\)\n/);
  assert.ok(!text.includes('nothing to reap'));
  assert.ok(!text.includes('\x1b'));
  assert.match(renderPlanText(base, 120), /nothing to reap/);
});

it('JSON: plan.jobs and jobResults', () => {
  const doc = buildReapJson(plan, [], false, [{ id: '123', name: 'reaper-20261202-0-sample', outcome: 'cancelled', why: null }]);
  assert.deepEqual(doc.plan.jobs.map((j) => j.id), ['123', '124']);
  assert.equal(doc.jobResults[0]!.outcome, 'cancelled');
  assert.deepEqual(buildReapJson(base, [], true).plan.jobs, []);
});

it('results: one line per job; the summary counts jobs and processes apart', () => {
  assert.equal(renderJobResultLine({ id: '124', name: 'n', outcome: 'survived', why: 'still in squeue after 45 s' }), '  slurm job 124  survived   n: still in squeue after 45 s');
  const jobs = [
    { id: '1', name: 'a', outcome: 'cancelled' as const, why: null },
    { id: '2', name: 'b', outcome: 'cancelled' as const, why: null },
  ];
  assert.equal(summarizeResults([], jobs), 'result: Slurm jobs: 2 cancelled');
  assert.equal(summarizeResults([{ pid: 5, startTime: 1, cmd: 'x', outcome: 'gone', why: null } as never], jobs), 'result: Slurm jobs: 2 cancelled; processes: 1 gone');
  assert.equal(summarizeResults([]), 'result: nothing done');
});
