/** The one join of GPU holders to processes (model/gpu.ts), and its readers agree with it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gpuIndicesOf, RULES } from '../../src/analysis/explain.js';
import { gpuHoldings } from '../../src/cli/render/ls-model.js';
import { appMemoryByPid, gpuHolders, gpuHoldingsOf, type GpuState } from '../../src/model/index.js';
import { fakeGpuState, fakeProc, fakeSnapshot } from '../helpers/proc-fake.js';

const U = (i: number) => `GPU-0000000${i}-aaaa-bbbb-cccc-dddddddddddd`;
const apps: GpuState['apps'] = [
  { gpuUuid: U(1), pid: 20, processName: 'python3', usedMemoryMiB: 100 },
  { gpuUuid: 'GPU-unknown', pid: 20, processName: 'python3', usedMemoryMiB: null },
  { gpuUuid: U(0), pid: 77, processName: 'python3', usedMemoryMiB: 5 }, // another PID namespace: no process 77 here
  { gpuUuid: U(1), pid: 20, processName: 'python3', usedMemoryMiB: 28 },
];
const snap = fakeSnapshot([fakeProc({ pid: 10, nvidiaMinors: [0, 9] }), fakeProc({ pid: 20, nvidiaMinors: [1] }), fakeProc({ pid: 30, nvidiaMinors: null })], fakeGpuState(2, apps));

test('gpuHoldingsOf: app rows in nvidia-smi order, then device files; unknown GPUs kept with a null index', () => {
  const h = gpuHoldingsOf(snap);
  assert.deepEqual(h.get(20), [
    { via: 'app', uuid: U(1), index: 1, minor: 1, usedMemoryMiB: 100 },
    { via: 'app', uuid: 'GPU-unknown', index: null, minor: null, usedMemoryMiB: null },
    { via: 'app', uuid: U(1), index: 1, minor: 1, usedMemoryMiB: 28 },
    { via: 'device', uuid: U(1), index: 1, minor: 1, usedMemoryMiB: null },
  ]);
  assert.deepEqual(h.get(10), [
    { via: 'device', uuid: U(0), index: 0, minor: 0, usedMemoryMiB: null },
    { via: 'device', uuid: null, index: null, minor: 9, usedMemoryMiB: null },
  ]);
  assert.equal(h.get(77)!.length, 1, 'a pid nvidia-smi lists but /proc does not is kept');
  assert.equal(h.get(30), undefined);
  assert.deepEqual([...h.keys()], [20, 77, 10]);
});

test('gpuHoldingsOf is computed once per snapshot; another GPU state or process list is another join', () => {
  assert.equal(gpuHoldingsOf(snap), gpuHoldingsOf(snap));
  assert.equal(gpuHoldingsOf({ gpu: snap.gpu, processes: snap.processes }), gpuHoldingsOf(snap), 'keyed by the gpu state and the process list');
  const other = { ...snap, gpu: fakeGpuState(2, []) };
  assert.notEqual(gpuHoldingsOf(other), gpuHoldingsOf(snap));
  assert.equal(gpuHoldingsOf(other).get(20)!.length, 1);
});

test('reap --gpu and ls read the same join', () => {
  assert.deepEqual(gpuIndicesOf(snap, snap.byPid.get(20)!), [1]);
  assert.deepEqual(gpuIndicesOf(snap, snap.byPid.get(10)!), [0]);
  assert.deepEqual(gpuIndicesOf(snap, snap.byPid.get(30)!), []);
  const ls = gpuHoldings(snap);
  assert.deepEqual(ls.get(20), [
    { uuid: U(1), index: 1, usedMemoryMiB: 128, minor: 1 },
    { uuid: 'GPU-unknown', index: null, usedMemoryMiB: null, minor: null },
  ]);
  assert.deepEqual(ls.get(10), [
    { uuid: U(0), index: 0, usedMemoryMiB: null, minor: 0 },
    { uuid: null, index: null, usedMemoryMiB: null, minor: 9 },
  ]);
});

test('leftover rules: one per reason code, in verdict order; stuck and evidence roles as documented', () => {
  assert.deepEqual(RULES.map((r) => r.code), ['stopped', 'traced', 'zombie', 'uninterruptible', 'orphaned', 'ended-run', 'gpu-no-owner', 'gpu-unlisted', 'batch-pattern']);
  const role = (k: string) => RULES.filter((r) => r.role === k).map((r) => r.code);
  assert.deepEqual(role('stuck'), ['stopped', 'traced', 'zombie', 'uninterruptible']);
  assert.deepEqual(role('evidence'), ['ended-run', 'gpu-no-owner', 'batch-pattern']);
  assert.deepEqual(role('context'), ['orphaned', 'gpu-unlisted']);
});

test('the screen\'s per-GPU holders and memory from the same join', () => {
  const h = gpuHoldingsOf(snap);
  assert.deepEqual([...gpuHolders(h, U(1))], [20]);
  assert.deepEqual([...gpuHolders(h, U(0))], [77, 10]);
  assert.deepEqual([...appMemoryByPid(h)], [[20, 128], [77, 5]]);
  assert.deepEqual([...appMemoryByPid(h, U(1))], [[20, 128]]);
  assert.deepEqual([...appMemoryByPid(h, 'GPU-unknown')], [[20, 0]]);
});
