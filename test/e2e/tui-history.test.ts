/**
 * The run history in the live screen, in a real terminal (tmux, 80x24): a batch whose task
 * writes to stderr and exits 3 has ended; `reaper` grouped by run keeps the run's row, and Enter
 * on it shows why the task failed ("exit 3") and the stderr line, inside the screen. Nothing is
 * signalled here: the batch has ended before the screen starts (checked through its marker).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupRun, markerPids, startCli } from '../helpers/launch-run.js';
import { PROMPT, TmuxSession, terminalEnv, tmuxAvailable } from '../helpers/tmux-session.js';
import { waitFor } from '../helpers/wait-for.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const BATCH = `name: e2e-history
gpus: all
tasks:
  - { mode: fail }
stages:
  sample:
    cmd: [sh, -c, 'echo "CUDA error: out of memory" >&2; exit 3']
`;

const skip = !tmuxAvailable() ? 'tmux is not installed' : false;

describe('run history in the live screen (tmux)', { skip }, () => {
  let dir = '';
  let xdg = '';
  let runId = '';
  let tm: TmuxSession | null = null;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'reaper-tui-history-'));
    xdg = path.join(dir, 'state');
    writeFileSync(path.join(dir, 'batch.yaml'), BATCH);
    const run = startCli(['run', 'batch.yaml', '--gpus', 'sim:1', '--json'], { env: { XDG_STATE_HOME: xdg, HOME: dir, REAPER_CONTAINMENT: '' }, cwd: dir });
    try {
      runId = String((await run.waitEvent((e) => e.ev === 'run-start', 20_000, 'run-start')).run);
      assert.equal((await run.exit).code, 1);
    } finally {
      cleanupRun(run, runId || null);
    }
    assert.deepEqual(markerPids(runId), [], 'the run has ended');
  });

  after(() => {
    tm?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });

  async function waitScreen(pred: (screen: string) => boolean, what: string, timeoutMs = 20_000): Promise<string> {
    try {
      return await waitFor(
        () => {
          const c = tm!.capture();
          return pred(c) ? c : null;
        },
        { timeoutMs, intervalMs: 100, what },
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}; screen was:\n${tm!.capture()}`);
    }
  }

  test('g (by run), Enter on the ended run: "exit 3" and the stderr line, 80x24, Esc closes, q quits', async () => {
    tm = TmuxSession.start({ width: 80, height: 24, env: terminalEnv({ XDG_STATE_HOME: xdg }), vars: { XDG_STATE_HOME: xdg }, cwd: dir });
    await waitScreen((c) => c.includes(PROMPT.trimEnd()), 'shell prompt');
    tm.type(`node ${MAIN} --gpus none --readonly --interval 1`);
    tm.keys('Enter');
    await waitScreen((c) => c.includes('COMMAND') && /procs: [\d,]+ · \d+ ms/.test(c), 'first frame', 30_000);
    tm.keys('g');
    // The run's row comes first in the by-run view (runs before leftovers in no run), under the cursor.
    await waitScreen((c) => c.includes('[by run]') && c.includes(`run ${runId} e2e-history (failed)`), 'the ended run as a row');
    tm.keys('Enter');
    const screen = await waitScreen((c) => c.includes('CUDA error: out of memory') && /sample\s+failed\s+exit 3/.test(c), 'the history in the pane');
    assert.match(screen, /task 0 \[mode=fail\].*: failed \(sample: exit 3\)/);
    const lines = tm.lines();
    assert.equal(lines.length, 24);
    assert.equal(lines[23]!.trim(), '', 'the frame stays rows-1 tall');
    for (const l of lines) assert.ok(l.length <= 80, l);
    tm.keys('Escape');
    await waitScreen((c) => !c.includes('CUDA error'), 'pane closed');
    tm.keys('q');
    await waitFor(() => tm!.display('#{alternate_on}') === '0', { timeoutMs: 10_000, what: 'alternate screen off' });
  });
});
