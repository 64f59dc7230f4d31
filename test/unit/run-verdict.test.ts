import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TaskResult } from '../../src/launch/scheduler.js';
import { runVerdict, type RunFacts } from '../../src/launch/verdict.js';

const task = (status: TaskResult['status']): TaskResult => ({ task: 0, gpu: '0', status, stage: 's', detail: status === 'failed' ? 'exit 1' : null });
const facts = (f: Partial<RunFacts>): RunFacts => ({ interrupted: null, failure: null, driverExit: null, tasks: [task('succeeded'), task('succeeded')], survivors: 0, ...f });

describe('run verdict', () => {
  it('a clean run is finished, exit 0', () => {
    assert.deepEqual(runVerdict(facts({})), { state: 'finished', exitCode: 0, error: null, detail: null });
  });

  it('failed tasks or survivors make exit 1', () => {
    assert.deepEqual(runVerdict(facts({ tasks: [task('failed'), task('succeeded')] })), { state: 'failed', exitCode: 1, error: null, detail: '1 of 2 tasks failed' });
    assert.deepEqual(runVerdict(facts({ survivors: 2 })), { state: 'finished', exitCode: 1, error: null, detail: null });
  });

  it('a signal gives 128 + its number, whatever else happened', () => {
    for (const [sig, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
      ['SIGHUP', 129],
    ] as const) {
      const v = runVerdict(facts({ interrupted: sig, tasks: [task('failed')], driverExit: 0 }));
      assert.deepEqual(v, { state: 'interrupted', exitCode: code, error: null, detail: `interrupted by ${sig}` });
    }
  });

  it("reaper's own abort is exit 1 and says what it left", () => {
    const v = runVerdict(facts({ failure: 'cannot write the journal /x (ENOSPC: no space left on device)', survivors: 1 }));
    assert.equal(v.state, 'failed');
    assert.equal(v.exitCode, 1);
    assert.equal(v.error, 'cannot write the journal /x (ENOSPC: no space left on device): the run was torn down, 1 process(es) SURVIVED');
    assert.equal(v.detail, v.error);
    assert.match(runVerdict(facts({ failure: 'x' })).error!, /nothing of it is left$/);
  });

  it("a driver's exit status is the run's, unless something survived its clean exit", () => {
    assert.equal(runVerdict(facts({ driverExit: 7, tasks: [task('failed')] })).exitCode, 7);
    assert.equal(runVerdict(facts({ driverExit: 0 })).exitCode, 0);
    assert.equal(runVerdict(facts({ driverExit: 0, survivors: 1 })).exitCode, 1);
    assert.equal(runVerdict(facts({ driverExit: 124, survivors: 1 })).exitCode, 124);
  });
});
