/**
 * runSlurmCommand with real processes (no Slurm needed): no shell, the deadline kills, the output
 * cap kills, the environment loses SQUEUE_FORMAT & co., a missing binary is an outcome.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/gpu-helpers.js';
import { classifySlurmOutcome, pingController, runSlurmCommand } from '../../src/slurm/index.js';

const node = process.execPath;
/** Gone or a zombie (the state letter after the last ")" is Z). */
const gone = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
};

test('argv reaches the program as given: no shell in between', async () => {
  const args = ['a b', '$HOME', '; echo no', "it's", '*'];
  const o = await runSlurmCommand(node, ['-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', ...args], { deadlineMs: 20_000 });
  assert.equal(o.exitCode, 0, o.stderr);
  assert.deepEqual(JSON.parse(o.stdout), args);
  assert.equal(classifySlurmOutcome(o), null);
});

test('SQUEUE_FORMAT and friends are not passed on; SLURM_CONF is', async () => {
  const env = { ...process.env, SQUEUE_FORMAT: '%j', SACCT_FORMAT: 'x', SLURM_TIME_FORMAT: 'relative', SLURM_CONF: '/x/slurm.conf' };
  const o = await runSlurmCommand(node, ['-e', 'process.stdout.write(JSON.stringify(process.env))'], { deadlineMs: 20_000, env });
  const seen = JSON.parse(o.stdout) as Record<string, string>;
  assert.equal(seen.SQUEUE_FORMAT, undefined);
  assert.equal(seen.SACCT_FORMAT, undefined);
  assert.equal(seen.SLURM_TIME_FORMAT, undefined);
  assert.equal(seen.SLURM_CONF, '/x/slurm.conf');
});

test('the deadline kills a client that hangs, and says timeout', async () => {
  const t0 = Date.now();
  const o = await runSlurmCommand(node, ['-e', 'console.log(process.pid); setInterval(() => {}, 1000)'], { deadlineMs: 1500 });
  const ms = Date.now() - t0;
  assert.equal(o.timedOut, true);
  assert.equal(o.signal, 'SIGKILL');
  assert.ok(ms >= 1400 && ms < 10_000, `${ms} ms`);
  assert.equal(classifySlurmOutcome(o)!.kind, 'timeout');
  assert.ok(gone(Number(o.stdout.trim())), 'the client is gone');
});

test('output past the cap kills the client and says so', async () => {
  const o = await runSlurmCommand(node, ['-e', 'const s = "x".repeat(65536); for (;;) process.stdout.write(s)'], { deadlineMs: 20_000, maxBytes: 100_000 });
  assert.equal(o.truncated, true);
  assert.equal(o.stdout.length, 100_000);
  assert.equal(classifySlurmOutcome(o)!.kind, 'output-too-large');
});

test('a missing binary is not-installed, at once', async () => {
  const o = await runSlurmCommand('/nonexistent/squeue', ['-h'], { deadlineMs: 5000 });
  assert.equal(o.spawnError, 'ENOENT');
  assert.ok(o.ms < 2000, `${o.ms} ms`);
  assert.deepEqual(classifySlurmOutcome(o), { kind: 'not-installed', message: 'squeue: not installed (not found in PATH)' });
});

test('a failing client keeps its exit code and stderr', async () => {
  const o = await runSlurmCommand(node, ['-e', 'process.stderr.write("slurm_load_jobs error: Invalid job id specified\\n"); process.exit(1)'], { deadlineMs: 20_000 });
  assert.deepEqual([o.exitCode, o.timedOut, o.truncated], [1, false, false]);
  assert.equal(classifySlurmOutcome(o)!.kind, 'invalid-job');
});

test('pingController: a down controller (the captured scontrol text, exit 1) is up: false, controller-unreachable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reaper-fake-scontrol-'));
  try {
    const text = join(repoRoot, 'test', 'fixtures', 'slurm', 'errors', 'scontrol-ping-down.txt');
    writeFileSync(join(dir, 'scontrol'), `#!/bin/sh\ncat '${text}'\nexit 1\n`);
    chmodSync(join(dir, 'scontrol'), 0o755);
    const r = await pingController({ deadlineMs: 10_000, binDir: dir });
    assert.equal(r.up, false);
    assert.equal(r.error?.kind, 'controller-unreachable');
    const none = await pingController({ deadlineMs: 10_000, binDir: join(dir, 'nothing-here') });
    assert.deepEqual([none.up, none.error?.kind], [false, 'not-installed']);
  } finally {
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }
});
