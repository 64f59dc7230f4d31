import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingReason, parseCsvWithHeader, parseHeaderCell, splitRow, looksLikeCsvHeader } from '../../src/probe/nvidia-csv.js';
import {
  APP_FIELDS,
  GPU_BASE_FIELDS,
  GPU_OPTIONAL_FIELDS,
  normalizeBusId,
  parseComputeApps,
  parseComputeAppsWithHeader,
  parseListGpus,
  parseQueryGpu,
  parseQueryGpuWithHeader,
} from '../../src/probe/nvidia-parse.js';
import { readOwnFixture } from '../helpers/gpu-helpers.js';

const FIELDS = [...GPU_BASE_FIELDS, ...GPU_OPTIONAL_FIELDS];

test('splitRow keeps fixed columns from both ends and gives the rest to the name column', () => {
  assert.deepEqual(splitRow('a, b, c', 3, 1), ['a', 'b', 'c']);
  assert.deepEqual(splitRow('a, x, y, z, c', 3, 1), ['a', 'x, y, z', 'c']);
  assert.deepEqual(splitRow('g, 1, n, with, commas', 3, 2), ['g', '1', 'n, with, commas']);
  assert.equal(splitRow('a, b', 3, 1), null);
  assert.equal(splitRow('a, b, c, d', 3, -1), null);
});

test('missingReason: every bracketed token is missing, numbers are not', () => {
  for (const tok of ['[N/A]', '[Not Supported]', '[Unknown Error]', '[GPU requires reset]', '[Function Not Found]', '[Insufficient Permissions]', '[Not Available]']) {
    assert.equal(missingReason(tok), tok);
  }
  assert.equal(missingReason('N/A'), '[N/A]');
  assert.equal(missingReason('0'), null);
  assert.equal(missingReason('P0'), null);
});

test('header cells carry units; values lose them', () => {
  assert.deepEqual(parseHeaderCell('memory.used [MiB]'), { name: 'memory.used', unit: 'MiB' });
  assert.deepEqual(parseHeaderCell('temperature.gpu'), { name: 'temperature.gpu', unit: null });
  assert.ok(looksLikeCsvHeader('index, uuid, utilization.gpu [%]'));
  assert.ok(!looksLikeCsvHeader('0, GPU-1, NVIDIA H100'));
});

test('normalizeBusId: case and domain width as /proc prints them', () => {
  assert.equal(normalizeBusId('00000000:65:00.0'), '0000:65:00.0');
  assert.equal(normalizeBusId('0000:65:00.0'), '0000:65:00.0');
  assert.equal(normalizeBusId('00000000:C1:00.0'), '0000:c1:00.0');
  assert.equal(normalizeBusId('0000000A:B3:00.1'), '000a:b3:00.1');
  assert.equal(normalizeBusId('00010000:01:00.0'), '10000:01:00.0');
  assert.equal(normalizeBusId('65:00.0'), '0000:65:00.0');
  assert.equal(normalizeBusId('garbage'), null);
});

test('query-gpu noheader/nounits: two GPUs, a comma in a name, [N/A] power, MIG mode', () => {
  const { gpus, skipped } = parseQueryGpu(readOwnFixture('query-gpu-2gpus-noheader-nounits.txt'), FIELDS);
  assert.deepEqual(skipped, []);
  assert.equal(gpus.length, 2);
  const [a, b] = gpus;
  assert.equal(a!.index, 0);
  assert.equal(a!.uuid, 'GPU-1f8e2a0c-6d41-4b9e-9a57-3c0de1b2a001');
  assert.equal(a!.name, 'NVIDIA H100 80GB HBM3');
  assert.equal(a!.busId, '0000:65:00.0');
  assert.equal(a!.utilizationGpu, 87);
  assert.equal(a!.memoryUsedMiB, 40123);
  assert.equal(a!.memoryTotalMiB, 81559);
  assert.equal(a!.temperatureC, 61);
  assert.equal(a!.powerDrawW, 512.34);
  assert.equal(a!.powerLimitW, 700);
  assert.equal(a!.pstate, 'P0');
  assert.equal(a!.persistenceMode, true);
  assert.equal(a!.migMode, 'Disabled');
  assert.deepEqual(a!.missing, {});
  assert.equal(a!.minor, null);

  assert.equal(b!.name, 'NVIDIA A100, PCIe 40GB (lab, spare)');
  assert.equal(b!.busId, '000a:b3:00.0');
  assert.equal(b!.utilizationGpu, null);
  assert.equal(b!.powerDrawW, null);
  assert.equal(b!.missing['utilization.gpu'], '[N/A]');
  assert.equal(b!.missing['power.draw'], '[N/A]');
  assert.equal(b!.persistenceMode, false);
  assert.equal(b!.migMode, 'Enabled');
});

test('query-gpu with header and units maps columns by name and gives the same result', () => {
  const plain = parseQueryGpu(readOwnFixture('query-gpu-2gpus-noheader-nounits.txt'), FIELDS).gpus;
  const withHeader = parseQueryGpuWithHeader(readOwnFixture('query-gpu-2gpus-header-units.txt')).gpus;
  assert.deepEqual(withHeader, plain);
});

test('without the optional field the parser still reads the base fields', () => {
  const text = readOwnFixture('query-gpu-2gpus-noheader-nounits.txt')
    .split('\n')
    .map((l) => l.replace(/, (Disabled|Enabled)$/, ''))
    .join('\n');
  const { gpus } = parseQueryGpu(text, [...GPU_BASE_FIELDS]);
  assert.equal(gpus.length, 2);
  assert.equal(gpus[0]!.migMode, null);
  assert.equal(gpus[0]!.missing['mig.mode.current'], '[not queried]');
  assert.equal(gpus[1]!.name, 'NVIDIA A100, PCIe 40GB (lab, spare)');
});

test('every bracket value becomes null with its reason, never 0', () => {
  const { gpus } = parseQueryGpu(readOwnFixture('query-gpu-every-bracket-noheader-nounits.txt'), FIELDS);
  const g = gpus[0]!;
  assert.equal(g.utilizationGpu, null);
  assert.equal(g.missing['utilization.gpu'], '[N/A]');
  assert.equal(g.memoryUsedMiB, null);
  assert.equal(g.missing['memory.used'], '[Not Supported]');
  assert.equal(g.memoryTotalMiB, 15360);
  assert.equal(g.temperatureC, null);
  assert.equal(g.missing['temperature.gpu'], '[Unknown Error]');
  assert.equal(g.powerDrawW, null);
  assert.equal(g.missing['power.draw'], '[GPU requires reset]');
  assert.equal(g.missing['power.limit'], '[Function Not Found]');
  assert.equal(g.missing['pstate'], '[Insufficient Permissions]');
  assert.equal(g.persistenceMode, null);
  assert.equal(g.missing['persistence_mode'], '[Not Available]');
  assert.equal(g.missing['mig.mode.current'], '[No Permission]');
});

test('a GPU that requires a reset: its 0 readings are not believed, its healthy neighbour is', () => {
  const { gpus } = parseQueryGpu(readOwnFixture('query-gpu-requires-reset-noheader-nounits.txt'), FIELDS);
  assert.equal(gpus[0]!.memoryUsedMiB, null);
  assert.equal(gpus[0]!.missing['memory.used'], '[GPU requires reset]');
  assert.equal(gpus[0]!.memoryTotalMiB, 81559);
  assert.equal(gpus[1]!.memoryUsedMiB, 0);
  assert.equal(gpus[1]!.utilizationGpu, 0);
});

test('loop output: driver event lines between rows are skipped', () => {
  const { gpus, skipped } = parseQueryGpu(readOwnFixture('query-gpu-loop-2gpus-with-event-lines.txt'), FIELDS);
  assert.equal(gpus.length, 4);
  assert.equal(skipped.length, 2);
  assert.match(skipped[1]!, /^Xid/);
});

test('compute apps: commas in process names, [N/A] memory, the same pid on two GPUs', () => {
  const { apps, skipped } = parseComputeApps(readOwnFixture('query-compute-apps-noheader-nounits.txt'), APP_FIELDS);
  assert.deepEqual(skipped, []);
  assert.deepEqual(apps, [
    { gpuUuid: 'GPU-1f8e2a0c-6d41-4b9e-9a57-3c0de1b2a001', pid: 41022, processName: 'python3', usedMemoryMiB: 30112 },
    { gpuUuid: 'GPU-1f8e2a0c-6d41-4b9e-9a57-3c0de1b2a001', pid: 41107, processName: '/opt/app/bin/worker --mode=train, --shards=4', usedMemoryMiB: 9911 },
    { gpuUuid: 'GPU-1f8e2a0c-6d41-4b9e-9a57-3c0de1b2a002', pid: 41022, processName: 'python3', usedMemoryMiB: null },
  ]);
  assert.deepEqual(parseComputeAppsWithHeader(readOwnFixture('query-compute-apps-header-units.txt')).apps, apps);
  assert.deepEqual(parseComputeApps(readOwnFixture('query-compute-apps-empty.txt')).apps, []);
});

test('untrusted names are sanitised', () => {
  const { apps } = parseComputeApps('GPU-x, 12, evil\x1b[2Jname, 5\n');
  assert.equal(apps[0]!.processName, 'evil\\x1b[2Jname');
});

test('header parsing skips blank lines and maps aliases (gpu_name → name)', () => {
  const r = parseCsvWithHeader('gpu_name, utilization.gpu [%]\n\nTesla, x, 100 %\n', 'gpu');
  assert.deepEqual(r.fields, ['name', 'utilization.gpu']);
  assert.deepEqual(r.rows, [{ name: 'Tesla, x', 'utilization.gpu': '100' }]);
});

test('nvidia-smi -L with MIG devices', () => {
  const l = parseListGpus(readOwnFixture('list-gpus-2-mig.txt'));
  assert.equal(l.length, 2);
  assert.equal(l[1]!.name, 'NVIDIA A100, PCIe 40GB (lab, spare)');
  assert.equal(l[1]!.mig.length, 1);
  assert.equal(l[1]!.mig[0]!.profile, '3g.20gb');
});
