import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { JournalWriter, newRunId, readJournal, readRuns, resolveRunId, RUN_ID_RE, runPaths, stateDir, summarizeRun, type JournalEvent } from '../../src/launch/index.js';
import type { Snapshot } from '../../src/model/snapshot.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'reaper-launch-journal-'));
after(() => rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));

function start(run: string, launcherPid = 999_999): JournalEvent {
  return {
    ev: 'run-start',
    t: 1000,
    run,
    name: 'n',
    file: '/b.yaml',
    launcher: { pid: launcherPid, startTime: 42 },
    guardian: null,
    layers: [],
    gpus: ['0'],
    tasks: [{ task: 0, vars: {} }, { task: 1, vars: {} }],
    stages: ['sample', 'evaluate'],
    graceMs: 1000,
    cgroup: null,
    detached: false,
  };
}

function fakeSnapshot(procs: Array<{ pid: number; startTime: number }>): Snapshot {
  const processes = procs.map((p) => ({ ...p, state: 'S' })) as unknown as Snapshot['processes'];
  return { processes, byPid: new Map(processes.map((p) => [p.pid, p])) } as unknown as Snapshot;
}

describe('run ids and state dir', () => {
  it('run ids are short, sortable by time', () => {
    const a = newRunId(new Date(Date.UTC(2026, 10, 28, 22, 15, 3)));
    assert.match(a, RUN_ID_RE);
    assert.ok(a.startsWith('20261128-221503-'));
    const b = newRunId(new Date(Date.UTC(2026, 10, 28, 22, 15, 4)));
    assert.ok(a < b);
  });
  it('stateDir follows XDG_STATE_HOME, else ~/.local/state', () => {
    assert.equal(stateDir({ XDG_STATE_HOME: '/x/state', HOME: '/h' }), '/x/state/reaper');
    assert.equal(stateDir({ HOME: '/h' }), '/h/.local/state/reaper');
    assert.equal(stateDir({ XDG_STATE_HOME: 'relative', HOME: '/h' }), '/h/.local/state/reaper');
  });
});

describe('journal', () => {
  it('appends, reads back, and ignores a torn last line', () => {
    const state = path.join(tmp, 's1');
    const id = '20260101-000000-aaaa';
    const p = runPaths(state, id);
    mkdirSync(p.dir, { recursive: true });
    const j = new JournalWriter(p.journal);
    j.append(start(id));
    j.append({ ev: 'task-start', t: 1100, task: 0, stage: 'sample', attempt: 1, gpu: '0', pid: 5, startTime: 7, pgid: 5, cgroup: null, argv: ['x'], stdout: 'o', stderr: 'e' });
    j.close();
    appendFileSync(p.journal, '{"ev":"task-end","t":12'); // the launcher died mid-write
    const ev = readJournal(p.journal);
    assert.equal(ev.length, 2);
    const runs = readRuns(state, fakeSnapshot([]));
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.state, 'crashed');
    assert.equal(runs[0]!.live, false);
    assert.equal(runs[0]!.tasks[0]!.status, 'running');
    assert.deepEqual(runs[0]!.tasks[0]!.leaders, [{ pid: 5, startTime: 7 }]);
    assert.equal(runs[0]!.tasks[1]!.status, 'pending');
  });

  it('live when the launcher identity is in the snapshot with the same start time', () => {
    const ev = [start('20260101-000000-bbbb', 4242)];
    assert.equal(summarizeRun('/d', ev, fakeSnapshot([{ pid: 4242, startTime: 42 }]))!.live, true);
    assert.equal(summarizeRun('/d', ev, fakeSnapshot([{ pid: 4242, startTime: 43 }]))!.live, false);
    assert.equal(summarizeRun('/d', ev, fakeSnapshot([{ pid: 4242, startTime: 43 }]))!.state, 'crashed');
    assert.equal(summarizeRun('/d', ev, null)!.state, 'running');
  });

  it('summarises task outcomes and the end record', () => {
    const ev: JournalEvent[] = [
      start('20260101-000000-cccc'),
      { ev: 'task-end', t: 1, task: 0, stage: 'sample', attempt: 1, gpu: '0', status: 'succeeded', reason: 'exit', detail: null, code: 0, signal: null, durationMs: 1, willRetry: false },
      { ev: 'task-end', t: 2, task: 0, stage: 'evaluate', attempt: 1, gpu: '0', status: 'succeeded', reason: 'exit', detail: null, code: 0, signal: null, durationMs: 1, willRetry: false },
      { ev: 'task-end', t: 3, task: 1, stage: 'sample', attempt: 1, gpu: '0', status: 'failed', reason: 'timeout', detail: 'timeout 5s', code: null, signal: 'SIGKILL', durationMs: 1, willRetry: false },
      { ev: 'task-skip', t: 3, task: 1, stage: 'evaluate', detail: 'skipped' },
      { ev: 'run-end', t: 4, state: 'failed', by: 'launcher', detail: null, exitCode: 1, survivors: 0 },
    ];
    const s = summarizeRun('/d', ev, fakeSnapshot([]))!;
    assert.equal(s.state, 'failed');
    assert.equal(s.endedAtMs, 4);
    assert.equal(s.tasks[0]!.status, 'succeeded');
    assert.equal(s.tasks[1]!.status, 'failed');
    assert.equal(s.tasks[1]!.detail, 'timeout 5s');
  });

  it('resolveRunId: exact, last, or a unique prefix of 8+ characters; never a suffix or one letter', () => {
    const state = path.join(tmp, 's2');
    for (const id of ['20260101-000000-aaaa', '20260102-000000-bbbb', '20260102-000000-cccc']) mkdirSync(runPaths(state, id).dir, { recursive: true });
    assert.equal(resolveRunId(state, 'last'), '20260102-000000-cccc');
    assert.equal(resolveRunId(state, '20260101-000000-aaaa'), '20260101-000000-aaaa');
    assert.equal(resolveRunId(state, '20260101'), '20260101-000000-aaaa');
    // `stop c` once matched 20260102-000000-cccc by its last letter.
    assert.throws(() => resolveRunId(state, 'c'), /too short: give at least 8 characters/);
    assert.throws(() => resolveRunId(state, 'cccc'), /too short/);
    assert.throws(() => resolveRunId(state, '000000-cccc'), /no run "000000-cccc"/);
    assert.throws(() => resolveRunId(state, '20260102'), (e: Error) => /matches 2 runs: 20260102-000000-bbbb, 20260102-000000-cccc/.test(e.message) && (e as { code?: string }).code === 'USAGE');
    assert.throws(() => resolveRunId(state, '../../etc'), /not a run id/);
    assert.throws(() => resolveRunId(state, 'zzzzzzzzz'), /not a run id/);
    assert.throws(() => resolveRunId(path.join(tmp, 'none'), 'last'), /no runs recorded/);
  });
});
