/**
 * Loop readers that survive SIGKILL (uninterruptible sleep), through the spawn seam: the
 * watchdog reports "probe stalled N s" and spawns no second GPU reader until the first exits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import { createGpuLoop } from '../../src/probe/gpu-probe.js';
import type { GpuState } from '../../src/model/gpu.js';
import { waitFor } from '../helpers/gpu-helpers.js';

let nextPid = 900_000_000;
class StuckChild extends EventEmitter {
  readonly pid = nextPid++;
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  constructor(readonly args: readonly string[]) {
    super();
  }
  unref(): void {}
  kill(): boolean {
    return true;
  }
}

test('a silent reader that survives SIGKILL: stalled, no pile of readers, restart after it exits', async (t) => {
  const children: StuckChild[] = [];
  const kills: number[] = [];
  const frames: GpuState[] = [];
  const row = '0, GPU-1f8e2a0c-6d41-4b9e-9a57-3c0de1b2a001, NVIDIA H100 80GB HBM3, 00000000:65:00.0, 87, 40123, 81559, 61, 512.34, 700.00, P0, Enabled, Disabled\n';
  const loop = createGpuLoop(
    { command: ['nvidia-smi'], simulated: false, timeoutMs: 500, disabled: false },
    100,
    (s) => frames.push(s),
    {
      spawnImpl: (_cmd, args) => {
        const c = new StuckChild(args);
        children.push(c);
        if (args.some((a) => a.startsWith('--query-gpu='))) setTimeout(() => c.stdout.write(row), 10);
        return c as unknown as ChildProcess;
      },
      killGroup: (pid) => kills.push(pid),
      readInfo: async () => [],
      backoffMs: 50,
    },
  );
  t.after(() => loop.stop());
  const gpuReaders = (): StuckChild[] => children.filter((c) => c.args.some((a) => a.startsWith('--query-gpu=')));
  await waitFor(() => frames.some((f) => f.error?.kind === 'stalled'), { timeoutMs: 15_000, what: 'a stalled report' });
  const stalled = frames.find((f) => f.error?.kind === 'stalled')!;
  assert.match(stalled.error!.message, /^probe stalled \d+ s$/);
  assert.ok(frames.some((f) => f.error?.kind === 'timeout'), 'the silence was reported before the stall');
  assert.equal(gpuReaders().length, 1, 'no second GPU reader while the first is stuck');
  assert.ok(kills.includes(gpuReaders()[0]!.pid));
  // The stuck reader finally exits: a new one starts (after the backoff).
  gpuReaders()[0]!.emit('exit', null, 'SIGKILL');
  await waitFor(() => gpuReaders().length === 2, { what: 'a restarted reader' });
  loop.stop();
});
