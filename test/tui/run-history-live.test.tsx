/**
 * The details pane against a real run: `reaper run` a batch whose one task writes to stderr
 * (escape sequences, a C1 control and a bidi override included) and exits 3, then the live
 * source's own readers (run records for the jobs, history for the pane) over that state folder
 * feed the screen; Enter on the run's row must say "exit 3" and show the stderr line, sanitised.
 * A run folder planted with a symlinked journal is shown as unreadable with the reason.
 */
import { App, cleanup, createTheme, ESC, React, render } from '../helpers/tui-ink.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ReactElement } from 'react';
import { cleanupRun, markerPids, startCli } from '../helpers/launch-run.js';
import { waitFor } from '../helpers/wait-for.js';
import { FakeActions, FakeHistorySource, data, plain, proc, snapshot } from '../helpers/tui-fake.js';
import { createHistoryReader, createRunsReader, LocalSource } from '../../src/cli/commands/top.js';
import { stateDir } from '../../src/launch/index.js';

const BATCH = `name: pane-test
gpus: all
tasks:
  - { mode: fail }
stages:
  sample:
    cmd: [sh, -c, 'echo "loading weights" >&2; printf "\\033[31mCUDA error: out of memory\\033[0m \\302\\233 \\342\\200\\256evil\\n" >&2; exit 3']
`;

const PLANTED = '20000101-000001-11c0';
let tmp = '';
let state = '';
let runId = '';

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'reaper-pane-'));
  const xdg = path.join(tmp, 'state');
  state = stateDir({ XDG_STATE_HOME: xdg });
  writeFileSync(path.join(tmp, 'batch.yaml'), BATCH);
  const run = startCli(['run', 'batch.yaml', '--gpus', 'sim:1', '--json'], { env: { XDG_STATE_HOME: xdg, HOME: tmp, REAPER_CONTAINMENT: '' }, cwd: tmp });
  try {
    const start = await run.waitEvent((e) => e.ev === 'run-start', 20_000, 'run-start');
    runId = String(start.run);
    const ex = await run.exit;
    assert.equal(ex.code, 1, `the batch's task fails: ${run.stderr}`);
  } finally {
    cleanupRun(run, runId || null);
  }
  assert.deepEqual(markerPids(runId), [], 'nothing of the run is left');
  mkdirSync(path.join(state, 'runs', PLANTED));
  symlinkSync('/etc/passwd', path.join(state, 'runs', PLANTED, 'journal.jsonl'));
});

after(() => {
  cleanup();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function mount(source: FakeHistorySource): ReturnType<typeof render> {
  return render(
    React.createElement(App, { source, actions: new FakeActions(), size: { columns: 80, rows: 24 }, theme: createTheme(false), initialGrouping: 'run' }) as ReactElement,
  );
}

describe('details pane over a real run', () => {
  test('the live source reads the history: Enter on the run row shows "exit 3" and the stderr line, sanitised, inside 80x24', async () => {
    // The live source's own method, over this state folder (it reads the environment when built).
    const saved = process.env.XDG_STATE_HOME;
    process.env.XDG_STATE_HOME = path.dirname(state);
    let live: LocalSource;
    try {
      live = new LocalSource({ gpus: { kind: 'none' }, intervalMs: 1000, allUsers: false });
    } finally {
      if (saved === undefined) delete process.env.XDG_STATE_HOME;
      else process.env.XDG_STATE_HOME = saved;
    }
    const snap = snapshot([proc(1, 0, { cmd: 'init' })]);
    const runs = createRunsReader(state)(snap);
    assert.deepEqual(
      runs.map((r) => r.id),
      [runId],
      'the planted run is left out of the jobs',
    );
    const src = new FakeHistorySource(data({ snapshot: snap, runs }), live.readRunHistory);
    const inst = mount(src);
    await waitFor(() => (plain(inst.lastFrame()).includes(`run ${runId} pane-test`) ? true : null), { timeoutMs: 5000, what: 'the run row' });
    inst.stdin.write('\r');
    const frame = await waitFor(
      () => {
        const f = inst.lastFrame() ?? '';
        return plain(f).includes('CUDA error') ? f : null;
      },
      { timeoutMs: 5000, what: 'the stderr tail in the pane' },
    );
    const p = plain(frame);
    assert.deepEqual(src.reads, [runId]);
    assert.match(p, /task 0 \[mode=fail\].*: failed \(sample: exit 3\)/);
    assert.match(p, /sample\s+failed\s+exit 3/);
    assert.match(p, /\| loading weights/);
    assert.match(p, /\| \\x1b\[31mCUDA error: out of memory\\x1b\[0m \\x9b \\u202eevil/);
    // Colours are off: the frame's only escapes are SGR (bold); the log's own never get through.
    const rest = frame.replace(/\x1b\[[0-9;]*m/g, '');
    assert.ok(!rest.includes(ESC) && !frame.includes(`${ESC}[31mCUDA`) && !frame.includes('\u009b') && !frame.includes('\u202e'), 'no raw control from the log reaches the terminal');
    const lines = p.split('\n');
    assert.ok(lines.length <= 23, `frame of ${lines.length} lines`);
    for (const l of lines) assert.ok(l.length <= 80, `too wide: ${JSON.stringify(l)}`);
    inst.unmount();
  });

  test('a planted run folder (symlinked journal) reads as unreadable with the reason', () => {
    const e = createHistoryReader(state)(PLANTED);
    assert.equal(e.kind, 'unreadable');
    assert.match(e.kind === 'unreadable' ? e.reason : '', /symbolic link/);
    const bad = createHistoryReader(state)('../../etc');
    assert.equal(bad.kind, 'unreadable');
  });
});
