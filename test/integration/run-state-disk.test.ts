/**
 * A full state disk (a small tmpfs as XDG_STATE_HOME, root only): full before the start, reaper
 * says so in one line and starts nothing; filled mid-run, the launcher tears the run down (the
 * containment does not depend on the journal), leaves no process of the run and says what happened.
 */
import assert from 'node:assert/strict';
import { CLI_MAX_BUFFER } from '../helpers/wait-for.js';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { chaosBatch, CLI, cleanupRun, describePids, killGuardianOf, markerPids, startCli, tempState } from '../helpers/launch-run.js';

/** Mounts a tmpfs of `size` on a fresh folder; null when this machine does not allow it. */
function smallDisk(t: TestContext, size: string): string | null {
  if (process.getuid?.() !== 0) return null;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'reaper-fulldisk-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    return null;
  }
  t.after(() => {
    spawnSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });
  return dir;
}

/** Writes zeros until the file system has not one byte left. */
function fill(dir: string): void {
  const fd = openSync(path.join(dir, 'filler'), 'a');
  try {
    for (const size of [64 * 1024, 4096, 1]) {
      const chunk = Buffer.alloc(size);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (e) {
        assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
      }
    }
  } finally {
    closeSync(fd);
  }
}

const canMount = (): boolean => {
  if (process.getuid?.() !== 0) return false;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'reaper-mountprobe-'));
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]).status === 0;
  if (ok) spawnSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  return ok;
};
const SKIP = canMount() ? false : 'needs root and mount -t tmpfs';

// Two tasks that never end (one ignores SIGTERM) and a stream of short ones whose start and end
// records (long argv) soon need more than the slack left in the journal's last page.
const PAD = 'p'.repeat(450);
const BATCH = `name: fulldisk
gpus: all
concurrency: 3
grace: 1s
tasks:
  - { mode: ignore-term, secs: 0 }
  - { mode: hang, secs: 0 }
${Array.from({ length: 12 }, () => '  - { mode: ok, secs: 0.5 }').join('\n')}
stages:
  sample:
    cmd: [sh, -c, 'CHAOS_SECONDS={secs} exec sh chaos/task.sh {mode}', ${PAD}]
`;

describe('reaper run on a full state disk', { concurrency: 1, skip: SKIP }, () => {
  it('full before the start: one clear line, exit 1, nothing started, no run recorded', { timeout: 60_000 }, (t) => {
    const disk = smallDisk(t, '2m')!;
    fill(disk);
    const work = tempState();
    t.after(() => rmSync(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
    const batch = path.join(work, 'b.yaml');
    writeFileSync(batch, `tasks: [{}]\nstages:\n  sample:\n    cmd: [touch, ${path.join(work, 'started')}]\n`);
    for (const extra of [[], ['--detach']]) {
      const r = spawnSync(process.execPath, [CLI, 'run', batch, '--gpus', 'sim:1', ...extra], { maxBuffer: CLI_MAX_BUFFER,  cwd: work, env: { ...process.env, XDG_STATE_HOME: disk, REAPER_RUN: '' }, encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 1, `exit 1 ${extra.join(' ')}; stderr: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line: ${r.stderr}`);
      assert.match(lines[0]!, /^reaper: state folder .*\/reaper\/runs: full \(\d+ KiB free; a run needs 4 MiB .*\); nothing was started/);
      assert.equal(r.stdout, '');
      assert.ok(!existsSync(path.join(work, 'started')), 'no task ran');
      const runs = path.join(disk, 'reaper', 'runs');
      assert.deepEqual(existsSync(runs) ? readdirSync(runs) : [], [], 'no run recorded');
    }
  });

  for (const containment of ['auto', 'pgroup-only']) {
    it(`fills mid-run (${containment}): torn down, nothing of the run left, a clear message, no stack trace`, { timeout: 90_000 }, async (t) => {
      const disk = smallDisk(t, '8m')!;
      const work = tempState();
      const batch = chaosBatch(work, () => BATCH);
      const env: NodeJS.ProcessEnv = { XDG_STATE_HOME: disk, HOME: work, REAPER_CONTAINMENT: containment === 'auto' ? '' : containment };
      const run = startCli(['run', batch, '--gpus', 'sim:1', '--json'], { env, cwd: work });
      let runId: string | null = null;
      t.after(() => {
        cleanupRun(run, runId);
        if (runId) killGuardianOf(disk, runId);
        rmSync(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
      });
      const start = await run.waitEvent((e) => e.ev === 'run-start', 20_000, 'run-start');
      runId = String(start.run);
      const id = runId;
      await run.waitEvent((e) => e.ev === 'task-start', 20_000, 'first task-start');
      fill(disk);
      const ex = await run.exit;
      assert.equal(ex.code, 1, `exit 1; stderr: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace');
      assert.match(run.stderr, new RegExp(`^reaper: cannot write the journal .*journal\\.jsonl \\(ENOSPC: no space left on device\\): the run was torn down, nothing of it is left$`, 'm'));
      const summary = run.events.find((e) => e.ev === 'summary');
      assert.ok(summary, run.stdout.slice(-1000));
      assert.equal(summary.state, 'failed');
      assert.equal(summary.survivors, 0);
      assert.deepEqual(markerPids(id, { escapee: false }), [], `survivors: ${describePids(markerPids(id, { escapee: false }))}`);
    });
  }
});
