/**
 * nvidia-smi loop mode (createGpuLoop): frames from the simulator, frame grouping with
 * driver event lines, the watchdog restarting a silent reader, and stop() leaving nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGpuLoop, resolveGpuProbeConfig, type GpuProbeConfig } from '../../src/probe/gpu-probe.js';
import type { GpuState } from '../../src/model/gpu.js';
import type { SpawnFn } from '../../src/probe/nvidia-runner.js';
import { readStatSync } from '../../src/probe/proc-stat.js';
import { killGroupQuietly, killMarked, makeTempDir, ownFixtures, pidsWithMarker, waitFor, writeScript } from '../helpers/gpu-helpers.js';
import { isLive } from '../helpers/reap-trees.js';

/** Records every reader the loop spawns, so the test can check (and clean) exactly those. */
function recordingSpawn(): { spawnImpl: SpawnFn; pids: number[] } {
  const pids: number[] = [];
  const spawnImpl: SpawnFn = (cmd, args, opts) => {
    const c: ChildProcess = spawn(cmd, args as string[], opts!);
    if (c.pid !== undefined) pids.push(c.pid);
    return c;
  };
  return { spawnImpl, pids };
}

/**
 * No handle of any kind beyond what was held before (process.getActiveResourcesInfo() lists one
 * entry per handle: Timeout, ProcessWrap, PipeWrap …; the test runner's own come and go).
 */
function sameResources(now: readonly string[], before: readonly string[]): boolean {
  const count = (l: readonly string[], k: string): number => l.filter((x) => x === k).length;
  return now.every((k) => count(now, k) <= count(before, k));
}


test('loop with the simulator: frames arrive with the holder; stop() leaves no reader alive', async (t) => {
  const holder = spawn('sleep', ['600'], { detached: true, stdio: 'ignore', env: { ...process.env, CUDA_VISIBLE_DEVICES: '1', REAPER_SIM_GPU_MIB: '2048' } });
  t.after(() => killGroupQuietly(holder.pid));
  const { spawnImpl, pids } = recordingSpawn();
  t.after(() => pids.forEach((p) => killGroupQuietly(p)));
  const frames: GpuState[] = [];
  const before = process.getActiveResourcesInfo();
  const loop = createGpuLoop(resolveGpuProbeConfig({ kind: 'sim', count: 2 }, process.env), 500, (s) => frames.push(s), { spawnImpl, readInfo: async () => [] });
  t.after(() => loop.stop());
  await waitFor(() => frames.filter((f) => f.ok).length >= 3 && frames.some((f) => f.apps.some((a) => a.pid === holder.pid)), {
    timeoutMs: 20_000,
    what: 'three frames and the holder',
  });
  const good = frames.filter((f) => f.ok);
  for (const f of good) {
    assert.equal(f.source, 'simulated');
    assert.deepEqual(
      f.gpus.map((g) => g.index),
      [0, 1],
    );
  }
  const last = frames[frames.length - 1]!;
  const app = last.apps.find((a) => a.pid === holder.pid)!;
  assert.equal(app.usedMemoryMiB, 2048);
  assert.equal(app.gpuUuid, last.gpus[1]!.uuid);
  // The simulator is one reader for both streams (--reaper-apps on fd 3): one process, and one
  // more only if a loaded machine tripped the watchdog and restarted it.
  assert.ok(pids.length >= 1);
  assert.equal(pids.filter(isLive).length, 1, `one live reader: ${pids.filter(isLive).join(',')}`);
  assert.match(readFileSync(`/proc/${pids.find(isLive)!}/cmdline`, 'utf8').split('\0').join(' '), /sim-nvidia-smi --query-gpu=\S+ .*--reaper-apps=\S+/);
  loop.stop();
  await waitFor(() => pids.every((p) => !isLive(p)), { what: 'readers gone after stop()' });
  // Nothing of the loop is left to call back: no timer, no child, no pipe beyond what the test
  // process held before the loop started (a pending timer would be a later update).
  await waitFor(() => sameResources(process.getActiveResourcesInfo(), before), { what: `the loop's timers and readers gone (now: ${process.getActiveResourcesInfo().join(',')}; before: ${before.join(',')})` });
  const n = frames.length;
  await new Promise((r) => setImmediate(r));
  assert.equal(frames.length, n, 'no updates after stop()');
});

test('frames are grouped by the index column; event lines between rows are ignored', async (t) => {
  const { dir, cleanup } = makeTempDir();
  t.after(() => {
    killMarked(dir);
    cleanup();
  });
  copyFileSync(join(ownFixtures, 'query-gpu-loop-2gpus-with-event-lines.txt'), join(dir, 'gpu.txt'));
  // Prints two ticks back to back (with a date and an Xid line), then a third row pair later.
  const bin = writeScript(
    dir,
    'nvidia-smi',
    `case "$*" in
  *--query-gpu=*) cat "${dir}/gpu.txt"; sleep 0.5; tail -n 2 "${dir}/gpu.txt"; sleep 1000;;
  *) sleep 1000;;
esac`,
  );
  const cfg: GpuProbeConfig = { command: [bin], simulated: false, timeoutMs: 10_000, disabled: false };
  const frames: GpuState[] = [];
  const loop = createGpuLoop(cfg, 400, (s) => frames.push(s), { readInfo: async () => [] });
  t.after(() => loop.stop());
  await waitFor(() => frames.filter((f) => f.ok).length >= 3, { what: 'three frames' });
  const good = frames.filter((f) => f.ok);
  for (const f of good.slice(0, 3)) {
    assert.deepEqual(
      f.gpus.map((g) => g.index),
      [0, 1],
    );
    assert.equal(f.gpus[1]!.name, 'NVIDIA A100, PCIe 40GB (lab, spare)');
    assert.equal(f.source, 'nvidia-smi');
  }
  assert.equal(good[0]!.gpus[0]!.utilizationGpu, 87);
  assert.equal(good[1]!.gpus[0]!.utilizationGpu, 90);
  loop.stop();
  await waitFor(() => pidsWithMarker(dir).length === 0, { what: 'fake readers gone' });
});

test('watchdog: a reader that goes silent is killed and restarted, one at a time', async (t) => {
  const { dir, cleanup } = makeTempDir('reaper-gpu-watchdog-');
  t.after(() => {
    killMarked(dir);
    cleanup();
  });
  const row = '0, GPU-1f8e2a0c-6d41-4b9e-9a57-3c0de1b2a001, NVIDIA H100 80GB HBM3, 00000000:65:00.0, 87, 40123, 81559, 61, 512.34, 700.00, P0, Enabled, Disabled';
  // One row, then silence (sh stays alive as the parent of sleep, so its cmdline carries the marker).
  const bin = writeScript(
    dir,
    'nvidia-smi',
    `case "$*" in
  *--query-gpu=*) echo $$ >> "${dir}/starts"; echo "${row}"; sleep 1000;;
  *) sleep 1000;;
esac`,
  );
  const cfg: GpuProbeConfig = { command: [bin], simulated: false, timeoutMs: 10_000, disabled: false };
  const frames: GpuState[] = [];
  let maxAlive = 0;
  // A reader is its own process group; counted by group, because the script's shell forks to
  // run `sleep`, and until that child execs it shows the same command line (seen once in CI).
  const sampler = setInterval(() => {
    const gpuReaders = new Set<number>();
    for (const p of pidsWithMarker(join(dir, 'nvidia-smi'))) {
      try {
        if (!readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('--query-gpu')) continue;
      } catch {
        continue; // gone meanwhile
      }
      const st = readStatSync(p);
      if (st) gpuReaders.add(st.pgid);
    }
    maxAlive = Math.max(maxAlive, gpuReaders.size);
  }, 50);
  t.after(() => clearInterval(sampler));
  const loop = createGpuLoop(cfg, 200, (s) => frames.push(s), { readInfo: async () => [], backoffMs: 200 });
  t.after(() => loop.stop());
  const starts = (): number => {
    try {
      return readFileSync(join(dir, 'starts'), 'utf8').trim().split('\n').length;
    } catch {
      return 0;
    }
  };
  await waitFor(() => starts() >= 3, { timeoutMs: 20_000, what: 'two restarts' });
  const errors = frames.filter((f) => !f.ok);
  assert.ok(errors.some((f) => f.error?.kind === 'timeout' && /no output for \d+ s, restarting/.test(f.error.message)), JSON.stringify(errors.map((e) => e.error)));
  assert.ok(frames.some((f) => f.ok && f.gpus.length === 1), 'the row before the silence became a frame');
  assert.ok(maxAlive <= 1, `one GPU reader at a time, saw ${maxAlive}`);
  loop.stop();
  clearInterval(sampler);
  await waitFor(() => pidsWithMarker(dir).length === 0, { what: 'readers gone after stop()' });
});

test('loop with a missing binary reports not-installed and keeps retrying quietly until stop()', async (t) => {
  const frames: GpuState[] = [];
  const cfg: GpuProbeConfig = { command: ['/nonexistent/reaper-loop/nvidia-smi'], simulated: false, timeoutMs: 10_000, disabled: false };
  const loop = createGpuLoop(cfg, 200, (s) => frames.push(s), { readInfo: async () => [], backoffMs: 100 });
  t.after(() => loop.stop());
  await waitFor(() => frames.length >= 2, { what: 'error updates' });
  assert.ok(frames.every((f) => !f.ok && f.error?.kind === 'not-installed'));
  loop.stop();
});

test('loop disabled (--gpus none) reports NO_GPU_STATE once', async () => {
  const frames: GpuState[] = [];
  const before = process.getActiveResourcesInfo();
  const loop = createGpuLoop(resolveGpuProbeConfig({ kind: 'none' }, {}), 200, (s) => frames.push(s));
  await waitFor(() => frames.length >= 1, { what: 'the one NO_GPU_STATE update' });
  // Disabled: it holds nothing that could report again.
  assert.ok(sameResources(process.getActiveResourcesInfo(), before), `resources held: ${process.getActiveResourcesInfo().join(',')}`);
  loop.stop();
  assert.equal(frames.length, 1);
  assert.equal(frames[0]!.source, 'none');
});
