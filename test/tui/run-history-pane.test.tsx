/**
 * The details pane on a run's row shows the run's history (`reaper show`'s lines): task
 * outcomes, exit codes, reasons and the stderr tail of failed stages, ordered for a short pane
 * and cut to it ("… N more lines"), never taller than the terminal. The history comes from the
 * data source (a fake one here, with a history built from journal records), read when the pane
 * opens and at most once per refresh while it is open.
 */
import { App, createTheme, ESC, React, render } from '../helpers/tui-ink.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReactElement } from 'react';
import { waitFor } from '../helpers/wait-for.js';
import { FakeActions, FakeHistorySource, data, plain, proc, run, snapshot } from '../helpers/tui-fake.js';
import { frameMatching, press } from '../helpers/tui-fake.js';
import { buildRunHistory, type RunHistoryEntry } from '../../src/analysis/run-history.js';
import { attachStderrTails } from '../../src/launch/history.js';

const ID = '20261202-010000-ab12';
const DIR = `/state/reaper/runs/${ID}`;

const start = { ev: 'run-start', t: 1000, run: ID, name: 'sweep', host: 'gpu-07', file: '/b.yaml', launcher: { pid: 10, startTime: 1 }, guardian: null, layers: [], gpus: ['0', '1'], tasks: [{ task: 0, vars: { ckpt: 'a.pt' } }, { task: 1, vars: { ckpt: 'b.pt' } }, { task: 2, vars: {} }], stages: ['sample', 'evaluate'], graceMs: 1000, cgroup: null, detached: false };
const tstart = (task: number, stage: string): object => ({ ev: 'task-start', t: 1100, task, stage, attempt: 1, gpu: String(task % 2), pid: 100 + task, startTime: 5, pgid: 100 + task, cgroup: null, argv: ['x'], stdout: `${DIR}/logs/task${task}.${stage}.stdout.log`, stderr: `${DIR}/logs/task${task}.${stage}.stderr.log` });
const ok = (task: number, stage: string): object => ({ ev: 'task-end', t: 2000, task, stage, attempt: 1, gpu: String(task % 2), status: 'succeeded', reason: 'exit', detail: null, code: 0, signal: null, durationMs: 900, willRetry: false });
const failed = (task: number, stage: string): object => ({ ev: 'task-end', t: 2000, task, stage, attempt: 1, gpu: String(task % 2), status: 'failed', reason: 'exit', detail: 'exit 3', code: 3, signal: null, durationMs: 900, willRetry: false });
const skip = (task: number): object => ({ ev: 'task-skip', t: 2000, task, stage: 'evaluate', detail: 'skipped: sample did not succeed' });
const end = { ev: 'run-end', t: 3000, state: 'failed', by: 'launcher', detail: '1 of 3 tasks failed', exitCode: 1, survivors: 0 };

/** Task 0 succeeds, task 1 fails with exit 3 after writing to stderr (escapes included), task 2 succeeds. */
function history(extraFailed = 0): RunHistoryEntry {
  const recs: object[] = [start, tstart(0, 'sample'), ok(0, 'sample'), tstart(0, 'evaluate'), ok(0, 'evaluate'), tstart(1, 'sample'), failed(1, 'sample'), skip(1), tstart(2, 'sample'), ok(2, 'sample'), tstart(2, 'evaluate'), ok(2, 'evaluate')];
  const tasks = [...start.tasks];
  for (let i = 0; i < extraFailed; i++) {
    tasks.push({ task: 3 + i, vars: {} });
    recs.push(tstart(3 + i, 'sample'), failed(3 + i, 'sample'), skip(3 + i));
  }
  recs.push(end);
  const h = buildRunHistory([{ ...start, tasks }, ...recs.slice(1)], { id: ID, dir: DIR, live: false, nowMs: 10_000 });
  assert.equal(h.kind, 'run');
  if (h.kind !== 'run') throw new Error('unreachable');
  return attachStderrTails(h, 5, () => ({ lines: ['loading weights', `${ESC}[31mCUDA error: out of memory${ESC}[0m \u009b \u202eevil`], truncated: false, error: null }));
}

const endedRun = run(ID, {
  name: 'sweep',
  dir: DIR,
  live: false,
  state: 'failed',
  endedAtMs: 1_700_000_000_000 - 30_000,
  tasks: [0, 1, 2].map((i) => ({ task: i, gpu: String(i % 2), stage: 'sample', status: i === 1 ? ('failed' as const) : ('succeeded' as const), detail: i === 1 ? 'exit 3' : null, startedAtMs: null, endedAtMs: null, leaders: [] })),
});

type Inst = ReturnType<typeof render>;

function mount(source: FakeHistorySource, opts: { columns?: number; rows?: number; grouping?: 'gpu' | 'run' | 'all'; colors?: boolean } = {}): Inst {
  return render(
    React.createElement(App, {
      source,
      actions: new FakeActions(),
      size: { columns: opts.columns ?? 80, rows: opts.rows ?? 24 },
      theme: createTheme(opts.colors ?? true),
      initialGrouping: opts.grouping ?? 'run',
    }) as ReactElement,
  );
}

function assertFits(frame: string, columns: number, rows: number): void {
  const lines = plain(frame).split('\n');
  assert.ok(lines.length <= rows - 1, `the frame is ${lines.length} lines, the terminal ${rows}`);
  for (const l of lines) assert.ok(l.length <= columns, `a line is wider than ${columns}: ${JSON.stringify(l)}`);
}

describe('details pane: run history', () => {
  test('Enter on an ended run\'s row (g: by run) at 80x24: outcomes, exit 3, reason and the stderr tail, sanitised, within the screen', async () => {
    const src = new FakeHistorySource(data({ snapshot: snapshot([proc(1, 0, { cmd: 'init' })]), runs: [endedRun] }), () => history());
    const inst = mount(src, { colors: false });
    await frameMatching(inst, (f) => f.includes(`run ${ID} sweep (failed)`), 'the ended run as a row');
    assert.deepEqual(src.reads, [], 'nothing is read before the pane opens');
    await press(inst, '\r');
    const frame = await frameMatching(inst, (f) => f.includes('CUDA error'), 'the stderr tail in the pane');
    const p = plain(frame);
    assert.deepEqual(src.reads, [ID]);
    assert.match(p, /run 20261202-010000-ab12 "sweep": failed, exit 1; tasks 2 ok, 1 failed of 3/);
    assert.match(p, /task 1 \[ckpt=b\.pt\] gpu 1: failed \(sample: exit 3\)/, 'the failed task comes first, with its reason');
    assert.match(p, /sample\s+failed\s+exit 3/);
    assert.match(p, /\| loading weights/);
    assert.match(p, /\| .*CUDA error: out of memory/);
    assert.ok(!frame.includes('\u202e') && !frame.includes('\u009b') && !frame.includes(`${ESC}[31m`), 'log text reaches the screen sanitised');
    assertFits(frame, 80, 24);
    await press(inst, ESC);
    await frameMatching(inst, (f) => !f.includes('CUDA error'), 'the pane closed');
    inst.unmount();
  });

  test('a history taller than the pane is cut with "… N more lines"; the frame stays inside 80x24', async () => {
    const src = new FakeHistorySource(data({ snapshot: snapshot([proc(1, 0, { cmd: 'init' })]), runs: [endedRun] }), () => history(6));
    const inst = mount(src);
    await frameMatching(inst, (f) => f.includes(`run ${ID}`), 'the run row');
    await press(inst, '\r');
    const frame = await frameMatching(inst, (f) => /… \d+ more lines \(Esc closes\)/.test(f), 'the cut marker');
    assert.match(plain(frame), /exit 3/);
    assertFits(frame, 80, 24);
    inst.unmount();
  });

  test('on a process of a run: the process first, then the run with the selected task marked and first', async () => {
    const procs = [proc(1, 0, { cmd: 'init' }), proc(200, 1, { cmd: 'python3 sample.py --ckpt a.pt', runId: ID, taskId: '0' })];
    const src = new FakeHistorySource(data({ snapshot: snapshot(procs), runs: [{ ...endedRun, live: true, state: 'running', endedAtMs: null }] }), () => history());
    const inst = mount(src, { columns: 100, rows: 50, grouping: 'all' });
    await frameMatching(inst, (f) => f.includes('sample.py'), 'the process row');
    await press(inst, `${ESC}[B`, '\r');
    const p = plain(await frameMatching(inst, (f) => f.includes('▸ task 0'), 'the selected task marked'));
    assert.match(p, /details: pid 200/);
    const i0 = p.indexOf('▸ task 0');
    const i1 = p.indexOf('task 1 [ckpt=b.pt]');
    assert.ok(p.indexOf('details: pid 200') < i0 && i0 < i1, `process, then task 0, then the failed task 1:\n${p}`);
    assertFits(p, 100, 50);
    inst.unmount();
  });

  test('read when the pane opens, at most once per refresh while open, never while closed', async () => {
    const d = data({ snapshot: snapshot([proc(1, 0, { cmd: 'init' })]), runs: [endedRun] });
    const src = new FakeHistorySource(d, () => history());
    const inst = mount(src);
    await frameMatching(inst, (f) => f.includes(`run ${ID}`), 'the run row');
    src.publish({ ...d, runs: [endedRun] });
    await press(inst, 'x', 'x');
    assert.equal(src.reads.length, 0, 'closed: no reads on refresh or keys');
    await press(inst, '\r');
    await frameMatching(inst, (f) => f.includes('CUDA error'), 'the pane');
    assert.equal(src.reads.length, 1);
    await press(inst, 'x', 'x', 'x');
    assert.equal(src.reads.length, 1, 'keys that change nothing do not read again');
    src.publish({ ...d, runs: [endedRun] });
    await waitFor(() => (src.reads.length === 2 ? true : null), { timeoutMs: 5000, what: 'one read for the refresh' });
    await press(inst, ESC);
    src.publish({ ...d, runs: [endedRun] });
    await press(inst, 'x');
    assert.equal(src.reads.length, 2, 'closed again: no more reads');
    inst.unmount();
  });
});
