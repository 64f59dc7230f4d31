/**
 * `--gpus auto` on a machine without nvidia-smi (the usual case without NVIDIA GPUs): the probe
 * answers "not-installed", exactly as a failed spawn would, without forking the process. Forks
 * are counted in a fresh PID namespace (its ns_last_pid moves only with our own forks), so other
 * work on the machine cannot disturb the count.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { mayBeOnPath } from '../../src/probe/gpu-probe.js';

const isRoot = process.getuid?.() === 0;
const canUnshare = isRoot && spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;

test('mayBeOnPath: false only when no PATH folder has a file of that name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reaper-path-'));
  try {
    assert.equal(mayBeOnPath('nvidia-smi', `${dir}:/nonexistent`), false);
    writeFileSync(join(dir, 'nvidia-smi'), 'not executable');
    assert.equal(mayBeOnPath('nvidia-smi', `/nonexistent:${dir}`), true, 'a file that may not run is left to the spawn');
    assert.equal(mayBeOnPath('/opt/x/nvidia-smi', dir), true, 'a path is left to the spawn');
    assert.equal(mayBeOnPath('nvidia-smi', undefined), true, 'no PATH: the spawn decides');
  } finally {
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }
});

test('auto without nvidia-smi on PATH: "not-installed" and no fork', { skip: canUnshare ? false : 'needs root and unshare (a PID namespace of its own)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'reaper-nosmi-'));
  try {
    chmodSync(dir, 0o755);
    const probe = new URL('../../src/probe/gpu-probe.js', import.meta.url).href;
    const script = join(dir, 'probe.mjs');
    writeFileSync(
      script,
      `import { readFileSync } from 'node:fs';
import { createGpuProbe, resolveGpuProbeConfig } from ${JSON.stringify(probe)};
const last = () => Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
const cfg = resolveGpuProbeConfig({ kind: 'auto' }, {});
await createGpuProbe(cfg).read(); // the first read may start helper threads, which take pids too
const before = last();
const s = await createGpuProbe(cfg).read();
const after = last();
console.log(JSON.stringify({ forked: after - before, source: s.source, ok: s.ok, error: s.error }));
`,
    );
    // PATH is only the empty folder for the probe (unshare and env are found with ours).
    const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'env', `PATH=${dir}`, process.execPath, script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { forked: number; source: string; ok: boolean; error: { kind: string; message: string } };
    assert.deepEqual(out.error, { kind: 'not-installed', message: 'nvidia-smi: not installed (nvidia-smi not found)' });
    assert.equal(out.source, 'nvidia-smi');
    assert.equal(out.ok, false);
    assert.equal(out.forked, 0, 'no process was forked to find out');
  } finally {
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }
});
