/**
 * Run markers in big environments: environ is searched piece by piece (ENVIRON_CHUNK bytes of
 * memory whatever its size) to its end, so a marker far into a big environment is still found,
 * and only the bytes each read returned are looked at.
 */
import assert from 'node:assert/strict';
import { CLI_MAX_BUFFER } from '../helpers/wait-for.js';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseEnvMarkersBytes } from '../../src/probe/proc-cmdline.js';
import { ENVIRON_CHUNK, readEnvMarkers } from '../../src/probe/proc-read.js';
import { createProcScanner } from '../../src/probe/snapshot.js';
import { CLI, cleanupRun, killGuardianOf, tempState } from '../helpers/launch-run.js';
import { waitFor } from '../helpers/wait-for.js';

test('readEnvMarkers agrees with a whole-buffer parse for every buffer size and cut', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'reaper-env-'));
  try {
    const file = path.join(dir, 'environ');
    const texts = [
      'A=1\0REAPER_RUN=run-1\0B=2\0REAPER_TASK=7\0',
      `LONG=${'y'.repeat(300)}\0REAPER_TASK=3\0X=${'z'.repeat(50)}\0REAPER_RUN=r-20261202\0`,
      'REAPER_RUN=first\0REAPER_RUN=second\0', // getenv's rule: the first one counts
      `XREAPER_RUN=no\0${'q'.repeat(100)}REAPER_RUN=no\0REAPER_TASK=last-without-nul`,
      '',
      `${'w'.repeat(200)}\0`,
    ];
    for (const text of texts) {
      writeFileSync(file, text);
      const whole = Buffer.from(text);
      const want = { ...parseEnvMarkersBytes(whole, whole.length) };
      // From the longest marker variable here (+1) up: a longer variable than the buffer is skipped.
      for (let size = 30; size <= 90; size++) {
        // Stale marker bytes fill the buffer first: they must never be taken for the file's.
        const buf = Buffer.alloc(size, 'REAPER_RUN=stale\0');
        assert.deepEqual({ ...readEnvMarkers(file, buf) }, want, `${JSON.stringify(text.slice(0, 40))} with a ${size}-byte buffer`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }
});

test('a marker behind 1 MiB of environment is found by a scan', async (t) => {
  const env: NodeJS.ProcessEnv = {};
  for (let i = 0; i < 10; i++) env[`PAD${i}`] = 'x'.repeat(110 * 1024); // one variable holds at most 128 KiB
  env.PATH = process.env.PATH;
  env.REAPER_RUN = `envbig-${process.pid}`;
  env.REAPER_TASK = '5';
  // sleep itself, not through a shell or a shim: a shell would rewrite the environment's order.
  const child = spawn('sleep', ['600'], { env, stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await waitFor(() => readFileSync(`/proc/${child.pid}/cmdline`, 'latin1').startsWith('sleep\0'), { what: 'sleep to run' });
  const environ = readFileSync(`/proc/${child.pid}/environ`);
  const at = environ.indexOf(`REAPER_RUN=${env.REAPER_RUN}\0`);
  assert.ok(at > 1024 * 1024 && at > 16 * ENVIRON_CHUNK, `the marker sits at byte ${at}`);
  const p = createProcScanner().scanSync().byPid.get(child.pid!)!;
  assert.equal(p.runId, env.REAPER_RUN);
  assert.equal(p.taskId, '5');
});

test('a task of a run started with a 300 KiB environment is found by its run marker', { timeout: 90_000 }, async (t) => {
  const state = tempState();
  const batch = path.join(state, 'envbig.yaml');
  writeFileSync(batch, 'name: envbig\ngpus: all\ntasks:\n  - { n: 1 }\nstages:\n  s:\n    cmd: [sleep, "60"]\n');
  const big: NodeJS.ProcessEnv = {};
  for (let i = 0; i < 3; i++) big[`REAPER_TEST_PAD${i}`] = 'x'.repeat(100 * 1024);
  const env = { ...process.env, ...big, XDG_STATE_HOME: state, HOME: state };
  const r = spawnSync(process.execPath, [CLI, 'run', batch, '--gpus', 'sim:1', '--detach'], { maxBuffer: CLI_MAX_BUFFER,  env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const runId = /\d{8}-\d{6}-[0-9a-f]+/.exec(r.stdout)![0];
  t.after(() => {
    spawnSync(process.execPath, [CLI, 'stop', runId, '--kill'], { maxBuffer: CLI_MAX_BUFFER,  env, timeout: 60_000 });
    killGuardianOf(state, runId);
    cleanupRun(null, runId);
    rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });
  const task = await waitFor(
    () => createProcScanner().scanSync().processes.find((p) => p.cmd === 'sleep 60' && p.runId === runId) ?? null,
    { timeoutMs: 20_000, what: 'the task found by its run marker' },
  );
  assert.equal(task.taskId, '0');
  assert.ok(readFileSync(`/proc/${task.pid}/environ`).length > 300 * 1024);
});
