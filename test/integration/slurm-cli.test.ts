/** `reaper run --backend`: bad input is one `reaper:` line, exit 2, nothing submitted (no lab needed). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI } from '../helpers/launch-run.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'reaper-slurm-cli-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));

function run(args: string[]): { status: number | null; stderr: string; stdout: string } {
  // An empty PATH for Slurm: nothing could be submitted even if a check were missing.
  const r = spawnSync(process.execPath, [CLI, 'run', ...args], { encoding: 'utf8', timeout: 30_000, cwd: dir, env: { ...process.env, XDG_STATE_HOME: dir, HOME: dir, SLURM_CONF: '/nonexistent' } });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

function oneLine(r: { status: number | null; stderr: string; stdout: string }, re: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^reaper: /);
  assert.match(lines[0]!, re);
  assert.equal(r.stdout, '');
}

describe('reaper run --backend: bad input', () => {
  const file = path.join(dir, 'gpu.yaml');
  writeFileSync(file, 'tasks: [{}]\nstages:\n  s:\n    cmd: [echo, "{gpu}"]\n');
  it('an unknown backend', () => oneLine(run([file, '--backend', 'k8s']), /--backend expects local or slurm, got "k8s"/));
  it('{gpu} with --backend slurm points to $CUDA_VISIBLE_DEVICES', () => oneLine(run([file, '--backend', 'slurm']), /gpu\.yaml:3: stages\.s: \{gpu\} is not available with backend slurm .*\$CUDA_VISIBLE_DEVICES/));
  it('an unknown key in the slurm block', () => {
    const f = path.join(dir, 'bad.yaml');
    writeFileSync(f, 'backend: slurm\nslurm: { nodes: 2 }\ntasks: [{}]\nstages:\n  s:\n    cmd: [true]\n');
    oneLine(run([f]), /bad\.yaml:2: slurm\.nodes: unknown key/);
  });
});

const hasClient = spawnSync('scontrol', ['--version'], { stdio: 'ignore' }).status === 0 && existsSync('/etc/slurm/slurm.conf');

describe('reaper run --backend slurm: a controller that does not answer', { skip: hasClient ? false : 'no scontrol or /etc/slurm/slurm.conf (the Slurm lab installs both)' }, () => {
  it('says so at once (scontrol ping, no 9 s client retries), starts nothing, leaves no run folder', () => {
    // The lab's config with a port nothing listens on: the controller is "down".
    const conf = path.join(dir, 'slurm.conf');
    const text = readFileSync('/etc/slurm/slurm.conf', 'utf8').replace(/^SlurmctldPort=.*$/m, '');
    writeFileSync(conf, `${text}\nSlurmctldPort=1\n`);
    const file = path.join(dir, 'ok.yaml');
    writeFileSync(file, 'backend: slurm\ntasks: [{}]\nstages:\n  s:\n    cmd: [sleep, "1"]\n');
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [CLI, 'run', file], { encoding: 'utf8', timeout: 30_000, cwd: dir, env: { ...process.env, XDG_STATE_HOME: dir, HOME: dir, SLURM_CONF: conf } });
    const took = Date.now() - t0;
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^reaper: cannot ask the Slurm controller of run \S+ .*: Slurm is not usable: scontrol: controller at \S+ is down .*; nothing was started$/m);
    assert.ok(took < 5000, `took ${took} ms`);
    const runs = path.join(dir, 'reaper', 'runs');
    assert.deepEqual(existsSync(runs) ? readdirSync(runs) : [], []);
  });
});
