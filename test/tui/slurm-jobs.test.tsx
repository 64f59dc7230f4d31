/**
 * The live screen's jobs panel for a Slurm run: each task's job with state, node or reason,
 * elapsed, exit, and the launcher-gone flag with the jobs left, from the source's Slurm read.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReactElement } from 'react';
import { FakeActions, FakeSource, data, frameMatching, plain, proc, run, snapshot } from '../helpers/tui-fake.js';
import type { SlurmJobStatus, SlurmRunsStatus } from '../../src/model/index.js';

delete process.env.NO_COLOR;
const React = (await import('react')).default;
const { render, cleanup } = await import('ink-testing-library');
const { App } = await import('../../src/tui/App.js');
const { createTheme } = await import('../../src/tui/theme.js');

after(() => cleanup());

const job = (task: number, over: Partial<SlurmJobStatus>): SlurmJobStatus => ({
  id: String(300 + task),
  name: `reaper-r1-${task}-train`,
  task,
  stage: 'train',
  attempt: 1,
  open: true,
  runId: 'r1',
  state: 'RUNNING',
  active: true,
  reason: null,
  nodes: 'vm',
  elapsedS: 75,
  exit: null,
  source: 'squeue',
  pids: [],
  ...over,
});

const slurmRun = (over: Parameters<typeof run>[1] = {}) =>
  run('r1', {
    backend: 'slurm',
    jobs: [0, 1, 2].map((t) => ({ id: String(300 + t), name: `reaper-r1-${t}-train`, task: t, stage: 'train', attempt: 1, open: true })),
    tasks: [0, 1, 2].map((t) => ({ task: t, gpu: '', stage: 'train', status: 'running' as const, detail: null, startedAtMs: 1_700_000_000_000 - 30_000, endedAtMs: null, leaders: [] })),
    ...over,
  });

function mount(source: FakeSource) {
  return render(React.createElement(App, { source, actions: new FakeActions(), size: { columns: 120, rows: 30 }, theme: createTheme(false), initialGrouping: 'run' }) as ReactElement);
}

describe('jobs panel: Slurm jobs', () => {
  test('each task shows its job: RUNNING on its node with elapsed, PENDING with its reason, an ended one with its exit', async () => {
    const slurm: SlurmRunsStatus = {
      byRun: new Map([['r1', [job(0, { pids: [40, 41] }), job(1, { state: 'PENDING', nodes: null, reason: 'Resources', elapsedS: 0 }), job(2, { state: 'FAILED', active: false, exit: { code: 3, signal: null }, elapsedS: 9 })]]]),
      error: null,
      atMs: 0,
    };
    const source = new FakeSource(data({ snapshot: snapshot([proc(40, 1)]), runs: [slurmRun()], slurm }));
    const inst = mount(source);
    const f = plain(await frameMatching(inst, (p) => p.includes('job 300'), 'the job rows'));
    assert.match(f, /#0 .*train +running +30s +job 300: RUNNING on vm, 01:15, 2 processes here/);
    assert.match(f, /#1 .*job 301: PENDING \(Resources\)/);
    assert.match(f, /#2 .*job 302: FAILED, exit 3, 00:09/);
    // The launcher and guardian die: the flag says how many jobs are left and what to run.
    source.publish(data({ snapshot: snapshot([proc(40, 1)]), runs: [slurmRun({ live: false, state: 'crashed' })], slurm }));
    const g = plain(await frameMatching(inst, (p) => p.includes('LAUNCHER GONE, 2 jobs left'), 'the flag'));
    assert.match(g, /Job r1 demo crashed LAUNCHER GONE, 2 jobs left: reaper reap --run r1/);
    // Slurm could not be asked: one line says why, the count is unknown.
    source.publish(data({ snapshot: snapshot([proc(40, 1)]), runs: [slurmRun({ live: false, state: 'crashed' })], slurm: { byRun: new Map([['r1', [job(0, { state: null, active: false, nodes: null, elapsedS: null, source: null })]]]), error: 'scontrol: controller at vm is down', atMs: 1 } }));
    const h = plain(await frameMatching(inst, (p) => p.includes('slurm: scontrol'), 'the error line'));
    assert.match(h, /LAUNCHER GONE, Slurm jobs unknown/);
    assert.match(h, /job 300: not in squeue, exit \?/);
    inst.unmount();
  });
});
