import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSimGpus, parseHolderEnv, parseVisibleDevices, SIM_BASE_MIB, type SimHolder } from '../../src/probe/sim/sim-state.js';
import { isSimUuid, simUuid } from '../../src/probe/sim/sim-constants.js';

test('simulated uuids are recognisable', () => {
  assert.equal(simUuid(1), 'GPU-5eed0000-0000-4000-8000-000000000001');
  assert.equal(simUuid(17), 'GPU-5eed0000-0000-4000-8000-000000000011');
  assert.ok(isSimUuid(simUuid(3)));
  assert.ok(!isSimUuid('GPU-1f8e2a0c-6d41-4b9e-9a57-3c0de1b2a001'));
});

test('CUDA_VISIBLE_DEVICES: the first entry, by index or uuid, within range', () => {
  assert.equal(parseVisibleDevices('1', 2), 1);
  assert.equal(parseVisibleDevices('1,0', 2), 1);
  assert.equal(parseVisibleDevices(' 0 ', 2), 0);
  assert.equal(parseVisibleDevices('2', 2), null);
  assert.equal(parseVisibleDevices('', 2), null);
  assert.equal(parseVisibleDevices(simUuid(1), 2), 1);
  assert.equal(parseVisibleDevices('MIG-xyz', 2), null);
});

test('environ: both markers are needed', () => {
  const env = (kv: string[]): Buffer => Buffer.from(kv.join('\0') + '\0');
  assert.deepEqual(parseHolderEnv(env(['PATH=/bin', 'CUDA_VISIBLE_DEVICES=1', 'REAPER_SIM_GPU_MIB=1234']), 2), { gpu: 1, mib: 1234 });
  assert.equal(parseHolderEnv(env(['CUDA_VISIBLE_DEVICES=1']), 2), null);
  assert.equal(parseHolderEnv(env(['REAPER_SIM_GPU_MIB=5']), 2), null);
  assert.equal(parseHolderEnv(env(['CUDA_VISIBLE_DEVICES=1', 'REAPER_SIM_GPU_MIB=lots']), 2), null);
  // A variable whose value merely mentions the marker does not count.
  assert.equal(parseHolderEnv(env(['X=REAPER_SIM_GPU_MIB=5', 'CUDA_VISIBLE_DEVICES=0']), 2), null);
});

test('GPU state follows the holders: memory sum + base, utilisation from CPU, plausible temperature/power', () => {
  const h = (pid: number, gpu: number, mib: number): SimHolder => ({ pid, startTime: 1, gpu, mib, processName: 'python3', cpuTicks: 0 });
  const gpus = buildSimGpus(3, [h(10, 1, 1000), h(11, 1, 234), h(12, 2, 10)], (x) => (x.pid === 10 ? 60 : x.pid === 11 ? 70 : 0));
  assert.equal(gpus.length, 3);
  assert.equal(gpus[0]!.memoryUsedMiB, SIM_BASE_MIB);
  assert.equal(gpus[0]!.utilizationGpu, 0);
  assert.equal(gpus[0]!.pstate, 'P8');
  assert.equal(gpus[1]!.memoryUsedMiB, SIM_BASE_MIB + 1234);
  assert.equal(gpus[1]!.utilizationGpu, 100, 'clamped');
  assert.equal(gpus[1]!.pstate, 'P0');
  assert.deepEqual(gpus[1]!.holders.map((x) => x.pid), [10, 11]);
  assert.ok(gpus[1]!.temperatureC > gpus[0]!.temperatureC);
  assert.ok(gpus[1]!.powerDrawW > gpus[0]!.powerDrawW && gpus[1]!.powerDrawW <= gpus[1]!.powerLimitW);
  assert.equal(gpus[2]!.busId, '00000000:12:00.0');
});

test('workers that inherited the marker are not holders while their marked parent lives', async () => {
  const { topmostHolders } = await import('../../src/probe/sim/sim-state.js');
  const h = (pid: number, ppid: number, gpu: number) => ({ pid, ppid, gpu, startTime: pid, mib: 100, processName: 'python3', cpuTicks: 0 });
  const main = h(10, 1, 0);
  const worker = h(11, 10, 0);
  const otherGpuChild = h(12, 10, 1);
  assert.deepEqual(topmostHolders([main, worker, otherGpuChild]).map((x) => x.pid), [10, 12]);
  // The parent died: the orphaned worker (re-parented to init) holds the memory now.
  assert.deepEqual(topmostHolders([h(11, 1, 0)]).map((x) => x.pid), [11]);
});
