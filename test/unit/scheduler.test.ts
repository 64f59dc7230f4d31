import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBatchConfig, type BatchConfig } from '../../src/launch/index.js';
import { Scheduler, type EndDecision, type StageEnd, type StageStart } from '../../src/launch/scheduler.js';

const OK: StageEnd = { status: 'succeeded', reason: 'exit', detail: null };
const EXIT1: StageEnd = { status: 'failed', reason: 'exit', detail: 'exit 1' };

function batch(yaml: string): BatchConfig {
  return parseBatchConfig(yaml, '/tmp/batch.yaml');
}

const label = (s: StageStart): string => `t${s.task}.${s.stage.name}@${s.slot}#${s.attempt}`;

/**
 * Runs the scheduler to the end, one stage ending at a time (the oldest first), and returns
 * the starts in order, grouped by the `next()` call that returned them. `started`: stages the
 * test started itself and that still run.
 */
function drive(sched: Scheduler, end: (s: StageStart) => StageEnd = () => OK, onEnd?: (s: StageStart, d: EndDecision) => void, started: StageStart[] = []): string[][] {
  const waves: string[][] = [];
  const running: StageStart[] = [...started];
  for (let guard = 0; guard < 1000; guard++) {
    const started = sched.next();
    if (started.length > 0) waves.push(started.map(label));
    running.push(...started);
    const s = running.shift();
    if (!s) return waves;
    const d = sched.ended(s, end(s));
    onEnd?.(s, d);
  }
  throw new Error('the scheduler never finished');
}

const TWO_STAGES = (extra: string): string => `gpus: [0]
${extra}
tasks: [{ x: a }, { x: b }]
stages:
  prep: { cmd: [true] }
  train: { cmd: [true], after: prep }
`;

describe('scheduler', () => {
  it('pipeline: a task goes on to its next stage before the next task starts', () => {
    const sched = new Scheduler(batch(TWO_STAGES('')), [0]);
    assert.deepEqual(drive(sched).flat(), ['t0.prep@0#1', 't0.train@0#1', 't1.prep@0#1', 't1.train@0#1']);
    assert.deepEqual(
      sched.results(null).map((r) => r.status),
      ['succeeded', 'succeeded'],
    );
  });

  it('stage-by-stage: no later stage starts while an earlier one is still to run', () => {
    const sched = new Scheduler(batch(TWO_STAGES('order: stage-by-stage')), [0]);
    assert.deepEqual(drive(sched).flat(), ['t0.prep@0#1', 't1.prep@0#1', 't0.train@0#1', 't1.train@0#1']);
  });

  it('stage-by-stage waits for a running earlier stage of another slot', () => {
    const sched = new Scheduler(batch(TWO_STAGES('order: stage-by-stage')), [0, 1]);
    const first = sched.next();
    assert.deepEqual(first.map(label), ['t0.prep@0#1', 't1.prep@1#1']);
    sched.ended(first[0]!, OK);
    assert.deepEqual(sched.next(), [], 't0.train must wait for t1.prep');
    sched.ended(first[1]!, OK);
    assert.deepEqual(sched.next().map(label), ['t0.train@0#1', 't1.train@1#1']);
  });

  it('concurrency > 1 starts that many stages per slot at once, and a task keeps its slot', () => {
    const cfg = batch(`gpus: [0, 1]
concurrency: 2
tasks: [{ x: a }, { x: b }, { x: c }, { x: d }, { x: e }]
stages:
  prep: { cmd: [true] }
  train: { cmd: [true], after: prep }
`);
    const sched = new Scheduler(cfg, [0, 1]);
    const first = sched.next();
    assert.deepEqual(first.map(label), ['t0.prep@0#1', 't1.prep@0#1', 't2.prep@1#1', 't3.prep@1#1']);
    assert.deepEqual(sched.next(), [], 'every slot is full');
    sched.ended(first[2]!, OK);
    // t2 goes on on its own slot before an unplaced task is taken there.
    const second = sched.next();
    assert.deepEqual(second.map(label), ['t2.train@1#1']);
    const slots = new Map<number, Set<number>>();
    const rest = [first[0]!, first[1]!, first[3]!, ...second];
    drive(sched, () => OK, (s) => slots.set(s.task, (slots.get(s.task) ?? new Set()).add(s.slot)), rest);
    for (const [task, used] of slots) assert.equal(used.size, 1, `task ${task} ran on ${[...used].join(', ')}`);
    assert.deepEqual(
      sched.results(null).map((r) => r.status),
      ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded'],
    );
  });

  it('retries a failed stage up to its retries, then fails the task', () => {
    const cfg = batch(`gpus: [0]
tasks: [{ x: a }, { x: b }]
stages:
  train: { cmd: [true], retries: 2 }
`);
    const sched = new Scheduler(cfg, [0]);
    const decisions: string[] = [];
    // task 0 fails twice then succeeds; task 1 always fails.
    const starts = drive(
      sched,
      (s) => (s.task === 0 && s.attempt === 3 ? OK : EXIT1),
      (s, d) => decisions.push(`${label(s)} retry=${d.willRetry} finished=${d.finished}`),
    ).flat();
    assert.deepEqual(starts, ['t0.train@0#1', 't0.train@0#2', 't0.train@0#3', 't1.train@0#1', 't1.train@0#2', 't1.train@0#3']);
    assert.deepEqual(decisions, [
      't0.train@0#1 retry=true finished=null',
      't0.train@0#2 retry=true finished=null',
      't0.train@0#3 retry=false finished=succeeded',
      't1.train@0#1 retry=true finished=null',
      't1.train@0#2 retry=true finished=null',
      't1.train@0#3 retry=false finished=failed',
    ]);
    assert.deepEqual(sched.results(null)[1], { task: 1, gpu: '0', status: 'failed', stage: 'train', detail: 'exit 1' });
  });

  it('does not retry a stage that could not start, nor any stage once the run stops', () => {
    const cfg = batch(`gpus: [0]
tasks: [{ x: a }, { x: b }]
stages:
  train: { cmd: [true], retries: 3 }
`);
    const sched = new Scheduler(cfg, [0]);
    const [s0] = sched.next();
    assert.equal(sched.ended(s0!, { status: 'failed', reason: 'spawn', detail: 'cannot start: ENOENT' }).willRetry, false);
    const [s1] = sched.next();
    assert.equal(label(s1!), 't1.train@0#1');
    sched.stop();
    assert.equal(sched.ended(s1!, { status: 'failed', reason: 'timeout', detail: 'timeout 1s' }).willRetry, false);
    assert.deepEqual(sched.next(), []);
  });

  it('skips the stages after one that did not succeed, and still runs the independent ones', () => {
    const cfg = batch(`gpus: [0]
tasks: [{ x: a }]
stages:
  prep: { cmd: [true] }
  train: { cmd: [true], after: prep }
  evaluate: { cmd: [true], after: train }
  report: { cmd: [true] }
`);
    const sched = new Scheduler(cfg, [0]);
    const skips: string[] = [];
    const starts = drive(
      sched,
      (s) => (s.stage.name === 'prep' ? EXIT1 : OK),
      (s, d) => skips.push(...d.skipped.map((k) => `${s.stage.name}: ${k.stage} (${k.detail})`)),
    ).flat();
    assert.deepEqual(starts, ['t0.prep@0#1', 't0.report@0#1']);
    // the skips are decided when the task reaches them (after report), the whole chain at once
    assert.deepEqual(skips, ['report: train (skipped: prep did not succeed)', 'report: evaluate (skipped: train did not succeed)']);
    assert.deepEqual(sched.results(null), [{ task: 0, gpu: '0', status: 'failed', stage: 'report', detail: 'exit 1' }]);
  });

  it('a stopped run starts nothing more; unfinished tasks are cancelled with why', () => {
    const sched = new Scheduler(batch(TWO_STAGES('')), [0]);
    const [s0] = sched.next();
    sched.stop();
    assert.deepEqual(sched.next(), []);
    const d = sched.ended(s0!, { status: 'cancelled', reason: 'interrupted', detail: 'interrupted by SIGINT' });
    assert.deepEqual(d, { willRetry: false, skipped: [], finished: null });
    assert.deepEqual(sched.results('interrupted by SIGINT'), [
      { task: 0, gpu: '0', status: 'cancelled', stage: 'prep', detail: 'interrupted by SIGINT' },
      { task: 1, gpu: null, status: 'cancelled', stage: null, detail: 'not run: interrupted by SIGINT' },
    ]);
  });

  it('without a stop, a task still running is reported cancelled and one never started pending', () => {
    const sched = new Scheduler(batch(TWO_STAGES('')), [0]);
    sched.next();
    assert.deepEqual(
      sched.results(null).map((r) => r.status),
      ['cancelled', 'pending'],
    );
  });
});
