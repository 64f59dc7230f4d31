/**
 * `reaper run -- COMMAND`: an existing driver (a Pool whose workers start programs) contained as
 * it is. Whether the driver exits leaving grandchildren, is interrupted, or reaper is SIGKILLed,
 * nothing carrying the run's marker survives; the exit code is the driver's.
 */
import assert from 'node:assert/strict';
import { CLI_MAX_BUFFER } from '../helpers/wait-for.js';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, type TestContext } from 'node:test';
import { CLI, cleanupRun, describePids, killGuardianOf, markerPids, readJournalFile, startCli, tempState, type CliRun } from '../helpers/launch-run.js';
import { PYTHON } from '../helpers/reap-trees.js';
import { waitFor } from '../helpers/wait-for.js';

const DRIVER = fileURLToPath(new URL('../../../test/fixtures/driver/pool_driver.py', import.meta.url));
const ROOT = process.getuid?.() === 0;

interface Started {
  run: CliRun;
  state: string;
  runId: string;
}

async function startDriver(t: TestContext, mode: 'exit3' | 'wait', containment: string): Promise<Started> {
  const state = tempState();
  const env: NodeJS.ProcessEnv = { XDG_STATE_HOME: state, HOME: state, REAPER_CONTAINMENT: containment === 'auto' ? '' : containment };
  const run = startCli(['run', '--gpus', 'sim:2', '--', PYTHON, DRIVER, mode], { env, cwd: state });
  let runId: string | null = null;
  t.after(() => {
    cleanupRun(run, runId);
    if (runId) killGuardianOf(state, runId);
    rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });
  const runs = path.join(state, 'reaper', 'runs');
  runId = await waitFor(() => (existsSync(runs) ? readdirSync(runs).find((n) => /^\d{8}-/.test(n)) : undefined), { timeoutMs: 20_000, what: 'run folder' });
  return { run, state, runId };
}

const ready = (s: Started): Promise<unknown> =>
  waitFor(() => s.run.stdout.includes('READY') && markerPids(s.runId, { escapee: false }).length >= 8, { timeoutMs: 30_000, what: `driver ready; stderr: ${s.run.stderr}` });

const noSurvivors = (id: string): void => assert.deepEqual(markerPids(id, { escapee: false }), [], `survivors: ${describePids(markerPids(id, { escapee: false }))}`);

describe('reaper run -- COMMAND: an existing driver, contained as it is', { concurrency: 1 }, () => {
  for (const containment of ['auto', 'pgroup-only']) {
    it(`(${containment}) the driver exits 3 leaving workers and grandchildren: reaper exits 3, nothing survives`, { timeout: 90_000 }, async (t) => {
      const s = await startDriver(t, 'exit3', containment);
      const ex = await s.run.exit;
      assert.equal(ex.code, 3, `exit code is the driver's; stderr: ${s.run.stderr}`);
      noSurvivors(s.runId);
      assert.match(s.run.stdout, /^READY$/m, "the driver's stdout is reaper's stdout");
      assert.match(s.run.stderr, /driver stderr line/);
      assert.match(s.run.stderr, new RegExp(`^reaper: run ${s.runId} \\(pool_driver\\) failed: driver exit 3; processes left alive: 0`, 'm'));
      const journal = readJournalFile(s.state, s.runId);
      const start = journal.find((e) => e.ev === 'task-start')!;
      assert.equal(start.stage, 'driver');
      assert.equal(start.gpu, '0,1');
      const end = journal.find((e) => e.ev === 'run-end')!;
      assert.equal(end.by, 'launcher');
      assert.equal(end.exitCode, 3);
      assert.equal(end.survivors, 0);
      assert.match(readFileSync(String(start.stdout), 'utf8'), /^READY$/m, 'the log has the output too');
      // Nothing of the driver ever reached a terminal: its stdin reader got EOF, never stopped.
      assert.ok(!journal.some((e) => e.ev === 'task-stuck'), JSON.stringify(journal.filter((e) => e.ev === 'task-stuck')));
    });

    it(`(${containment}) SIGINT to reaper: exit 130, nothing survives`, { timeout: 90_000 }, async (t) => {
      const s = await startDriver(t, 'wait', containment);
      await ready(s);
      process.kill(s.run.pid, 'SIGINT');
      const ex = await s.run.exit;
      assert.equal(ex.code, 130, `stderr: ${s.run.stderr}`);
      noSurvivors(s.runId);
      const end = readJournalFile(s.state, s.runId).find((e) => e.ev === 'run-end')!;
      assert.equal(end.state, 'interrupted');
      assert.equal(end.by, 'launcher');
    });
  }

  it('SIGKILL of reaper: the layers and the guardian leave nothing', { timeout: 90_000, skip: ROOT ? false : 'the kernel layers need root here' }, async (t) => {
    const s = await startDriver(t, 'wait', 'auto');
    await ready(s);
    process.kill(s.run.pid, 'SIGKILL');
    await s.run.exit;
    try {
      await waitFor(() => markerPids(s.runId, { escapee: false }).length === 0, { timeoutMs: 15_000, intervalMs: 100, what: 'no survivors' });
    } catch {
      assert.fail(`survivors after SIGKILL: ${describePids(markerPids(s.runId, { escapee: false }))}`);
    }
    await waitFor(() => readJournalFile(s.state, s.runId).some((e) => e.ev === 'run-end' && e.by === 'guardian'), { timeoutMs: 15_000, what: 'guardian end record' });
  });

  it('--detach: stdout is the id; stop tears the driver down; flags after -- are the driver\'s', { timeout: 90_000 }, async (t) => {
    const state = tempState();
    const env = { ...process.env, XDG_STATE_HOME: state, HOME: state, REAPER_CONTAINMENT: '', REAPER_RUN: '' };
    let runId: string | null = null;
    t.after(() => {
      if (runId) {
        killGuardianOf(state, runId);
        cleanupRun(null, runId);
      }
      rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    });
    const r = spawnSync(process.execPath, [CLI, 'run', '--detach', '--gpus', 'sim:1', '--', PYTHON, DRIVER, 'wait', '--json'], { maxBuffer: CLI_MAX_BUFFER,  cwd: state, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\d{8}-\d{6}-[0-9a-f]{4}\n$/);
    runId = r.stdout.trim();
    const id = runId;
    await waitFor(() => markerPids(id, { escapee: false }).length >= 8, { timeoutMs: 30_000, what: 'detached driver ready' });
    const start = readJournalFile(state, id).find((e) => e.ev === 'task-start')!;
    assert.deepEqual((start.argv as string[]).slice(-3), [DRIVER, 'wait', '--json']);
    const stop = spawnSync(process.execPath, [CLI, 'stop', id], { maxBuffer: CLI_MAX_BUFFER,  cwd: state, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(stop.status, 0, stop.stdout + stop.stderr);
    await waitFor(() => markerPids(id, { escapee: false }).length === 0, { timeoutMs: 15_000, what: `no survivors: ${describePids(markerPids(id, { escapee: false }))}` });
  });

  it('bad driver commands start nothing: exit 2, one line', () => {
    const state = tempState();
    try {
      const env = { ...process.env, XDG_STATE_HOME: state, REAPER_RUN: '' };
      const cli = (args: string[]): { code: number | null; stderr: string } => {
        const r = spawnSync(process.execPath, [CLI, 'run', ...args], { maxBuffer: CLI_MAX_BUFFER,  cwd: state, env, encoding: 'utf8', timeout: 30_000 });
        return { code: r.status, stderr: r.stderr };
      };
      for (const [args, re] of [
        [['--'], /run --: missing the command/],
        [['--', 'no-such-driver-xyz'], /run --: program not found or not executable: no-such-driver-xyz/],
        [['--', state], /run --: the program is a folder/],
        [['b.yaml', '--', 'true'], /a batch file or -- COMMAND, not both/],
        [['b.yaml', '--timeout', '1h'], /--timeout is for reaper run -- COMMAND/],
        [['--timeout', '400d', '--', 'true'], /--timeout: at most 365d/],
      ] as Array<[string[], RegExp]>) {
        const r = cli(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, re);
      }
      assert.ok(!existsSync(path.join(state, 'reaper', 'runs')) || readdirSync(path.join(state, 'reaper', 'runs')).length === 0);
    } finally {
      rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    }
  });
});
