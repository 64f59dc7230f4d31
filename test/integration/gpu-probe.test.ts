/**
 * The one-shot probe against fake nvidia-smi binaries (sh scripts written at test time):
 * missing, each error, a hang (deadline, at most one child), a stall (a child that survives
 * SIGKILL, injected), the invalid-field retry, and a clean answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { readFileSync, existsSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createGpuProbe, resolveGpuProbeConfig, type GpuProbeConfig } from '../../src/probe/gpu-probe.js';
import { NO_GPU_STATE } from '../../src/model/gpu.js';
import { killMarked, makeTempDir, ownFixtures, pidsWithMarker, readOwnFixture, waitFor, writeScript } from '../helpers/gpu-helpers.js';

const cfgFor = (bin: string, timeoutMs = 10_000): GpuProbeConfig => ({ command: [bin], simulated: false, timeoutMs, disabled: false });
const noInfo = async () => [];

test('resolveGpuProbeConfig: auto, REAPER_NVIDIA_SMI, none, sim', () => {
  assert.deepEqual(resolveGpuProbeConfig({ kind: 'auto' }, {}).command, ['nvidia-smi']);
  assert.deepEqual(resolveGpuProbeConfig({ kind: 'auto' }, { REAPER_NVIDIA_SMI: '/opt/x/nvidia-smi' }).command, ['/opt/x/nvidia-smi']);
  assert.equal(resolveGpuProbeConfig({ kind: 'none' }, {}).disabled, true);
  const sim = resolveGpuProbeConfig({ kind: 'sim', count: 4 }, {});
  assert.equal(sim.simulated, true);
  assert.equal(sim.command[0], process.execPath);
  assert.ok(existsSync(sim.command[1]!), sim.command[1]);
  assert.equal(sim.command[2], 'sim-nvidia-smi');
  assert.deepEqual(sim.env, { REAPER_SIM_GPUS: '4' });
  assert.equal(sim.timeoutMs, 10_000);
});

test('--gpus none: NO_GPU_STATE', async () => {
  const s = await createGpuProbe(resolveGpuProbeConfig({ kind: 'none' }, {})).read();
  assert.deepEqual(s, NO_GPU_STATE);
});

test('a missing binary is "not-installed", not a throw', async () => {
  const s = await createGpuProbe(cfgFor('/nonexistent/reaper-test/nvidia-smi'), { readInfo: noInfo }).read();
  assert.equal(s.ok, false);
  assert.equal(s.error?.kind, 'not-installed');
  assert.equal(s.source, 'nvidia-smi');
  const onPath = await createGpuProbe(resolveGpuProbeConfig({ kind: 'auto' }, { REAPER_NVIDIA_SMI: 'reaper-test-no-such-nvidia-smi' }), { readInfo: noInfo }).read();
  assert.equal(onPath.error?.kind, 'not-installed');
});

test('each failure of a fake nvidia-smi is classified', async (t) => {
  const { dir, cleanup } = makeTempDir();
  t.after(cleanup);
  const index = JSON.parse(readOwnFixture('errors.json')) as Record<string, { exitCode: number; stream: string; kind: string }>;
  for (const [file, spec] of Object.entries(index)) {
    copyFileSync(join(ownFixtures, file), join(dir, file));
    const redirect = spec.stream === 'stderr' ? ' >&2' : '';
    const bin = writeScript(dir, `fake-${file}.sh`, `cat "${join(dir, file)}"${redirect}\nexit ${spec.exitCode}`);
    const s = await createGpuProbe(cfgFor(bin), { readInfo: noInfo }).read();
    assert.equal(s.ok, false, file);
    assert.equal(s.error?.kind, spec.kind, `${file}: ${s.error?.message}`);
    assert.deepEqual(s.gpus, []);
    assert.ok(s.sampledAtMs !== null);
  }
});

test('a clean answer: GPUs keyed by uuid, apps, minors from the information files', async (t) => {
  const { dir, cleanup } = makeTempDir();
  t.after(cleanup);
  copyFileSync(join(ownFixtures, 'query-gpu-2gpus-noheader-nounits.txt'), join(dir, 'gpu.txt'));
  copyFileSync(join(ownFixtures, 'query-compute-apps-noheader-nounits.txt'), join(dir, 'apps.txt'));
  const bin = writeScript(
    dir,
    'nvidia-smi',
    `case "$*" in *--query-gpu=*) cat "${dir}/gpu.txt";; *--query-compute-apps=*) cat "${dir}/apps.txt";; *) exit 2;; esac`,
  );
  const s = await createGpuProbe(cfgFor(bin), {
    readInfo: async () => [{ busId: '0000:65:00.0', uuid: null, model: null, minor: 3 }],
  }).read();
  assert.equal(s.ok, true, s.error?.message);
  assert.equal(s.error, null);
  assert.equal(s.source, 'nvidia-smi');
  assert.equal(s.gpus.length, 2);
  assert.equal(s.gpus[0]!.minor, 3);
  assert.equal(s.gpus[1]!.minor, null);
  assert.equal(s.apps.length, 3);
  assert.equal(s.apps[1]!.processName, '/opt/app/bin/worker --mode=train, --shards=4');
});

test('an unknown optional field: one retry without it, remembered afterwards', async (t) => {
  const { dir, cleanup } = makeTempDir();
  t.after(cleanup);
  const base = readOwnFixture('query-gpu-2gpus-noheader-nounits.txt')
    .split('\n')
    .map((l) => l.replace(/, (Disabled|Enabled)$/, ''))
    .join('\n');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'gpu.txt'), base);
  const bin = writeScript(
    dir,
    'nvidia-smi',
    `echo "$*" >> "${dir}/calls"
case "$*" in
  *mig.mode.current*) printf 'Field "mig.mode.current" is not a valid field to query.\\n\\n'; exit 2;;
  *--query-gpu=*) cat "${dir}/gpu.txt";;
  *--query-compute-apps=*) ;;
esac`,
  );
  const probe = createGpuProbe(cfgFor(bin), { readInfo: noInfo });
  const s = await probe.read();
  assert.equal(s.ok, true, s.error?.message);
  assert.equal(s.gpus.length, 2);
  assert.equal(s.gpus[0]!.migMode, null);
  await probe.read();
  const calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n');
  assert.equal(calls.filter((c) => c.includes('mig.mode.current')).length, 1, calls.join('\n'));
  assert.equal(calls.length, 5); // bad, good, apps; then good, apps
});

test('a hung nvidia-smi: read() resolves at the deadline, one child at a time, none left', async (t) => {
  const { dir, cleanup } = makeTempDir('reaper-gpu-hang-');
  t.after(() => {
    killMarked(dir);
    cleanup();
  });
  // sh stays the parent (no exec) so its cmdline carries the marker; the background
  // sleep holds the stdout pipe too, which the group kill must handle.
  const bin = writeScript(dir, 'nvidia-smi', `echo $$ >> "${dir}/starts"\nsleep 1000 &\nsleep 1000\n`);
  const probe = createGpuProbe(cfgFor(bin, 1500), { readInfo: noInfo });
  t.after(() => probe.close());
  let maxAlive = 0;
  const sampler = setInterval(() => {
    maxAlive = Math.max(maxAlive, pidsWithMarker(join(dir, 'nvidia-smi')).length);
  }, 50);
  t.after(() => clearInterval(sampler));
  const started = Date.now();
  const [a, b, c] = await Promise.all([probe.read(), probe.read(), probe.read()]);
  const took = Date.now() - started;
  assert.equal(a, b, 'concurrent reads share one call');
  assert.equal(b, c);
  assert.equal(a.ok, false);
  assert.ok(a.error && (a.error.kind === 'timeout' || a.error.kind === 'stalled'), JSON.stringify(a.error));
  assert.ok(took < 1500 + 1000 + 2000, `took ${took} ms`);
  assert.ok(maxAlive <= 1, `at most one nvidia-smi alive, saw ${maxAlive}`);
  await waitFor(() => pidsWithMarker(dir).length === 0, { what: 'hung children to be gone' });
  assert.equal(readFileSync(join(dir, 'starts'), 'utf8').trim().split('\n').length, 1);
  clearInterval(sampler);
});

/** A child that survives SIGKILL (uninterruptible sleep), simulated through the spawn seam. */
class StuckChild extends EventEmitter {
  readonly pid = 999_999_999;
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  unref(): void {}
  kill(): boolean {
    return true;
  }
}

test('a child that survives SIGKILL: "probe stalled", nothing else spawned until it exits', async () => {
  let spawned = 0;
  const kills: Array<[number, string]> = [];
  let stuck: StuckChild | null = null;
  let nowMs = 1_000_000;
  const probe = createGpuProbe(cfgFor('nvidia-smi', 200), {
    spawnImpl: () => {
      spawned++;
      stuck = new StuckChild();
      return stuck as unknown as ChildProcess;
    },
    killGroup: (pid, sig) => kills.push([pid, sig]),
    killGraceMs: 100,
    now: () => nowMs,
    readInfo: noInfo,
  });
  const first = await probe.read();
  assert.equal(first.error?.kind, 'stalled');
  assert.match(first.error!.message, /^probe stalled \d+ s$/);
  assert.deepEqual(kills, [[999_999_999, 'SIGKILL']]);
  nowMs += 12_000;
  const second = await probe.read();
  assert.equal(second.error?.kind, 'stalled');
  assert.equal(second.error?.message, 'probe stalled 12 s');
  assert.equal(spawned, 1, 'no second nvidia-smi while the first is stuck');
  // It finally exits: the next read spawns again.
  stuck!.emit('exit', null, 'SIGKILL');
  const third = probe.read();
  assert.equal(spawned, 1); // spawning happens asynchronously, after the queue
  await waitFor(() => spawned === 2, { what: 'the next read spawns nvidia-smi again' });
  await third;
});
