/**
 * The nvidia-smi simulator end to end: real formats, real errors, holders found from
 * /proc/<pid>/environ, its data through the real parser, and REAPER_NVIDIA_SMI pointing at
 * a wrapper (bin/nvidia-smi-sim shape) still reporting "simulated".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createGpuProbe, resolveGpuProbeConfig } from '../../src/probe/gpu-probe.js';
import { readSimHolders, type EnvCache, type NonHolderCache } from '../../src/probe/sim/sim-state.js';
import { cliMain, killGroupQuietly, makeTempDir, repoRoot, waitFor, writeScript } from '../helpers/gpu-helpers.js';
import { isLive } from '../helpers/reap-trees.js';

const run = promisify(execFile);

async function sim(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; code: number }> {
  try {
    const r = await run(process.execPath, [cliMain, 'sim-nvidia-smi', ...args], { env: { ...process.env, ...env }, timeout: 15_000 });
    return { stdout: r.stdout, code: 0 };
  } catch (e) {
    const x = e as { stdout: string; code: number };
    return { stdout: x.stdout, code: x.code };
  }
}

/** A sleeping "GPU job" holding simulated memory; its own process group, killed after the test. */
function spawnHolder(t: { after(fn: () => void): void }, gpu: string, mib: string): number {
  const child = spawn('sleep', ['600'], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, CUDA_VISIBLE_DEVICES: gpu, REAPER_SIM_GPU_MIB: mib },
  });
  t.after(() => killGroupQuietly(child.pid));
  return child.pid!;
}

test('simulator: the real CSV formats', async () => {
  const withHeader = await sim(['--query-gpu=index,uuid,name,pci.bus_id,memory.used,power.draw', '--format=csv'], { REAPER_SIM_GPUS: '3' });
  assert.equal(withHeader.code, 0);
  const lines = withHeader.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'index, uuid, name, pci.bus_id, memory.used [MiB], power.draw [W]');
  assert.equal(lines.length, 4);
  assert.match(lines[3]!, /^2, GPU-5eed0000-0000-4000-8000-000000000002, Simulated GPU \(reaper\), 00000000:12:00\.0, \d+ MiB, \d+\.\d\d W$/);

  const bare = await sim(['--query-gpu=memory.total,index', '--format=csv,noheader,nounits']);
  assert.equal(bare.stdout, '81559, 0\n81559, 1\n');

  const aliases = await sim(['--query-gpu=gpu_name,gpu_uuid', '--format=csv', '-i', '1']);
  assert.equal(aliases.stdout.split('\n')[0], 'name, uuid');
  assert.equal(aliases.stdout.trimEnd().split('\n').length, 2);

  const list = await sim(['-L'], { REAPER_SIM_GPUS: '1' });
  assert.equal(list.stdout, 'GPU 0: Simulated GPU (reaper) (UUID: GPU-5eed0000-0000-4000-8000-000000000000)\n');

  const help = await sim(['--help-query-gpu']);
  assert.match(help.stdout, /^List of valid properties to query for the switch "--query-gpu":/);
  assert.match(help.stdout, /"uuid" or "gpu_uuid"/);
});

test('simulator: an unknown field fails the whole call with the real text and exit 2', async () => {
  const r = await sim(['--query-gpu=index,device_minor', '--format=csv,noheader,nounits']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, 'Field "device_minor" is not a valid field to query.\n\n');
  const bad = await sim(['--bogus']);
  assert.equal(bad.code, 2);
});

test('simulator end to end: a holder of GPU 1 with 1234 MiB shows up through the probe', async (t) => {
  const pid = spawnHolder(t, '1', '1234');
  const other = spawnHolder(t, '0,1', '77'); // first entry of the list counts
  spawnHolder(t, '7', '99'); // no GPU 7 with 2 GPUs: ignored
  const probe = createGpuProbe(resolveGpuProbeConfig({ kind: 'sim', count: 2 }, process.env));
  t.after(() => probe.close());
  let s = await probe.read();
  await waitFor(
    async () => {
      s = await probe.read();
      return s.apps.some((a) => a.pid === pid) && s.apps.some((a) => a.pid === other);
    },
    { what: 'the holders to be listed' },
  );
  assert.equal(s.ok, true, s.error?.message);
  assert.equal(s.source, 'simulated');
  assert.equal(s.gpus.length, 2);
  const g1 = s.gpus.find((g) => g.index === 1)!;
  assert.equal(g1.uuid, 'GPU-5eed0000-0000-4000-8000-000000000001');
  assert.equal(g1.busId, '0000:11:00.0');
  assert.equal(g1.name, 'Simulated GPU (reaper)');
  const app = s.apps.find((a) => a.pid === pid)!;
  assert.equal(app.gpuUuid, g1.uuid);
  assert.equal(app.usedMemoryMiB, 1234);
  assert.equal(app.processName, 'sleep');
  assert.equal(s.apps.find((a) => a.pid === other)!.gpuUuid, s.gpus[0]!.uuid);
  assert.ok(!s.apps.some((a) => a.usedMemoryMiB === 99));
  // Other tests may hold simulated memory at the same time: at least ours is counted.
  assert.ok(g1.memoryUsedMiB! >= 1234 + 4);
  assert.ok(g1.temperatureC !== null && g1.powerDrawW !== null && g1.powerLimitW === 300);
});

test('REAPER_NVIDIA_SMI pointing at a simulator wrapper still says "simulated"', async (t) => {
  const { dir, cleanup } = makeTempDir();
  t.after(cleanup);
  const wrapper = writeScript(dir, 'nvidia-smi-sim', `exec "${process.execPath}" "${cliMain}" sim-nvidia-smi "$@"`);
  const cfg = resolveGpuProbeConfig({ kind: 'auto' }, { REAPER_NVIDIA_SMI: wrapper });
  assert.equal(cfg.simulated, false);
  const s = await createGpuProbe(cfg).read();
  assert.equal(s.ok, true, s.error?.message);
  assert.equal(s.source, 'simulated');
});

test('bin/nvidia-smi-sim runs the built CLI', async (t) => {
  // The wrapper runs <repo>/dist: only meaningful when this test runs from that build.
  const built = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  if (cliMain !== built) {
    t.skip('not running from dist/ (npm test builds it)');
    return;
  }
  const r = await run(join(repoRoot, 'bin', 'nvidia-smi-sim'), ['-L'], { env: { ...process.env, REAPER_SIM_GPUS: '3' } });
  assert.equal(r.stdout.trimEnd().split('\n').length, 3);
});

test('simulator failures are the real texts, classified by the probe', async () => {
  for (const [fail, kind] of [
    ['no-devices', 'no-devices'],
    ['driver-not-reachable', 'driver-not-reachable'],
    ['version-mismatch', 'version-mismatch'],
    ['gpu-lost', 'gpu-lost'],
  ] as const) {
    const cfg = resolveGpuProbeConfig({ kind: 'sim', count: 2 }, {});
    const s = await createGpuProbe({ ...cfg, env: { ...cfg.env, REAPER_SIM_FAIL: fail } }).read();
    assert.equal(s.ok, false);
    assert.equal(s.source, 'simulated');
    assert.equal(s.error?.kind, kind, s.error?.message);
  }
  const none = await createGpuProbe(resolveGpuProbeConfig({ kind: 'sim', count: 0 }, {})).read();
  assert.equal(none.error?.kind, 'no-devices');
});

test('simulator loop mode: header once, rows per tick; exits when its parent dies', async (t) => {
  const child = spawn(process.execPath, [cliMain, 'sim-nvidia-smi', '--query-gpu=index,utilization.gpu', '--format=csv', '-lms', '100'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  t.after(() => killGroupQuietly(child.pid));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  await waitFor(() => out.split('\n').length > 7, { what: 'three ticks' });
  const lines = out.split('\n').filter((l) => l !== '');
  assert.equal(lines.filter((l) => l.startsWith('index')).length, 1);
  assert.match(lines[1]!, /^0, \d+ %$/);
  killGroupQuietly(child.pid);

  // Parent gone (SIGKILL, no pipe to break: output goes to a file) → the loop stops.
  const { dir, cleanup } = makeTempDir();
  t.after(cleanup);
  const outFile = join(dir, 'out');
  const sh = spawn('/bin/sh', ['-c', `"${process.execPath}" "${cliMain}" sim-nvidia-smi --query-gpu=index --format=csv,noheader -l 1 >"${outFile}" & echo $!; wait`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  t.after(() => killGroupQuietly(sh.pid));
  let pidText = '';
  sh.stdout.setEncoding('utf8').on('data', (d: string) => (pidText += d));
  await waitFor(() => pidText.includes('\n'), { what: 'the loop pid' });
  const loopPid = Number(pidText.trim());
  t.after(() => killGroupQuietly(loopPid));
  // First output written: the simulator has recorded its parent.
  await waitFor(() => existsSync(outFile) && readFileSync(outFile, 'utf8').length > 0, { what: 'first loop output' });
  process.kill(sh.pid!, 'SIGKILL');
  await waitFor(() => !isLive(loopPid), { what: 'the orphaned loop to exit', timeoutMs: 20_000 });
});


test("simulator: GPU memory belongs to the user's command, not reaper's unshare wrapper above it", async (t) => {
  // The wrapper exactly as the launcher starts it: its own session, the run marker, the PID
  // namespace layer's argv; the marker MiB is inherited by both the wrapper and the command.
  const root = process.getuid?.() === 0;
  const prefix = root ? ['/usr/bin/unshare', '--pid', '--fork', '--kill-child'] : ['/usr/bin/unshare', '--user', '--map-current-user', '--pid', '--fork', '--kill-child'];
  if (!existsSync(prefix[0]!)) {
    t.skip('unshare (util-linux) is not installed');
    return;
  }
  const runId = `r-simwrap-${process.pid}-${Date.now()}`;
  const wrapper = spawn(prefix[0]!, [...prefix.slice(1), '--', 'sleep', '600'], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, REAPER_RUN: runId, CUDA_VISIBLE_DEVICES: '0', REAPER_SIM_GPU_MIB: '1357' },
  });
  t.after(() => killGroupQuietly(wrapper.pid));
  const childOf = (ppid: number): number | null => {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid && readFileSync(`/proc/${name}/cmdline`, 'utf8').startsWith('sleep\0')) return Number(name);
      } catch {
        // gone
      }
    }
    return null;
  };
  let user: number | null = null;
  try {
    await waitFor(() => (user = childOf(wrapper.pid!)) !== null, { what: 'the command under unshare', timeoutMs: 10_000 });
  } catch {
    t.skip(`this machine refuses ${prefix.join(' ')}`);
    return;
  }
  const probe = createGpuProbe(resolveGpuProbeConfig({ kind: 'sim', count: 2 }, process.env));
  t.after(() => probe.close());
  let apps: readonly { pid: number; usedMemoryMiB: number | null; processName: string }[] = [];
  await waitFor(
    async () => {
      apps = (await probe.read()).apps.filter((a) => a.usedMemoryMiB === 1357);
      return apps.length > 0;
    },
    { what: 'the marked holder listed' },
  );
  assert.deepEqual(
    apps.map((a) => [a.pid, a.processName]),
    [[user, 'sleep']],
    `the holder is the command (${user}), not the wrapper (${wrapper.pid})`,
  );
});

test('simulator --reaper-apps: the compute-apps rows of the same tick on fd 3, GPU rows on stdout', async (t) => {
  const holder = spawnHolder(t, '1', '777');
  const child = spawn(process.execPath, [cliMain, 'sim-nvidia-smi', '--query-gpu=index,memory.used', '--format=csv,noheader,nounits', '-lms', '200', '--reaper-apps=pid,used_memory,gpu_uuid'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore', 'pipe'],
  });
  t.after(() => killGroupQuietly(child.pid));
  let out = '';
  let apps = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  (child.stdio[3] as NodeJS.ReadableStream).setEncoding('utf8').on('data', (d: string) => (apps += d));
  await waitFor(() => apps.split('\n').filter((l) => l.startsWith(`${holder}, `)).length >= 2, { what: 'two ticks of the holder on fd 3' });
  assert.ok(apps.split('\n').filter((l) => l !== '').every((l) => /^\d+, \d+, GPU-[0-9a-f-]+$/.test(l)), apps);
  assert.match(apps, new RegExp(`^${holder}, 777, GPU-5eed0000-0000-4000-8000-000000000001$`, 'm'));
  // stdout keeps only GPU rows, which count the holder's memory on GPU 1.
  assert.ok(out.split('\n').filter((l) => l !== '').every((l) => /^[01], \d+$/.test(l)), out);
  assert.match(out, /^1, 781$/m); // 4 MiB base + 777
  killGroupQuietly(child.pid);

  // Only with a GPU query in loop mode, and only known fields: the real errors, exit 2.
  assert.equal((await sim(['--query-gpu=index', '--format=csv', '--reaper-apps=pid'])).code, 2);
  const bad = await sim(['--query-gpu=index', '--format=csv', '-l', '1', '--reaper-apps=pid,nonsense']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, 'Field "nonsense" is not a valid field to query.\n\n');
});

test('simulator loop: a tick with no new process re-reads only the marked ones; orphaned workers, exits and new holders are still seen', { timeout: 60_000 }, async (t) => {
  const nh: NonHolderCache = { tick: 0, checkedAt: new Map() };
  const cache: EnvCache = new Map();
  const tick = (): Promise<number[]> => readSimHolders(2, { cache, nonHolders: nh }).then((hs) => hs.map((h) => h.pid).sort((a, b) => a - b));
  // A marked parent with a marked worker on the same GPU: only the parent is a holder.
  const parent = spawn('sh', ['-c', 'sleep 600 & wait'], { detached: true, stdio: 'ignore', env: { ...process.env, CUDA_VISIBLE_DEVICES: '1', REAPER_SIM_GPU_MIB: '700' } });
  t.after(() => killGroupQuietly(parent.pid));
  const sh = parent.pid!;
  let worker = 0;
  await waitFor(() => {
    worker = Number(readFileSync(`/proc/${sh}/task/${sh}/children`, 'utf8').trim().split(/\s+/)[0] ?? 0);
    return worker > 0;
  }, { what: 'the worker started' });
  await waitFor(async () => (await tick()).join() === String(sh), { what: 'the parent as the one holder' });
  // Ticks with no process created meanwhile skip the /proc listing and give the same answer.
  await waitFor(async () => {
    const skipped = nh.listSkipped ?? 0;
    const got = await tick();
    return (nh.listSkipped ?? 0) > skipped && got.join() === String(sh);
  }, { what: 'a tick that skipped listing /proc' });
  // The parent dies (no new process): its worker, re-parented, holds the memory now.
  process.kill(sh, 'SIGKILL');
  await waitFor(async () => (await tick()).join() === String(worker), { what: 'the orphaned worker as the holder' });
  // A new holder is a new pid: the next tick lists /proc and finds it.
  const other = spawnHolder(t, '0', '300');
  await waitFor(async () => (await tick()).join() === [worker, other].sort((a, b) => a - b).join(), { what: 'the new holder seen' });
  process.kill(worker, 'SIGKILL');
  await waitFor(async () => (await tick()).join() === String(other), { what: 'the dead worker dropped' });
});
