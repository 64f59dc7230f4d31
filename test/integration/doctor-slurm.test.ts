/**
 * `reaper doctor` and Slurm: on the real lab (proctrack/cgroup) the client, the controller and
 * the process tracking are ok; with a PATH without Slurm it is one "not installed" line, not a
 * failure. The lab case skips with the reason when the lab is not up.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { CLI } from '../helpers/launch-run.js';
import { slurmLab } from '../helpers/slurm-lab.js';
import { CLI_MAX_BUFFER } from '../helpers/wait-for.js';

const check = await slurmLab();

interface Check {
  id: string;
  ok: boolean | null;
  detail: string;
  meaning: string;
  notApplicable?: boolean;
}

function doctor(args: string[], env: NodeJS.ProcessEnv): { code: number | null; stdout: string; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [CLI, 'doctor', '--gpus', 'none', ...args], { maxBuffer: CLI_MAX_BUFFER, env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

describe('reaper doctor: Slurm', () => {
  it('the lab: client found, controller answers, proctrack/cgroup ok (text and --json)', { skip: check.why ?? false, timeout: 60_000 }, () => {
    const env = { ...process.env, ...check.lab!.env };
    const j = doctor(['--json'], env);
    assert.equal(j.code, 0, j.stderr);
    const checks = (JSON.parse(j.stdout) as { checks: Check[] }).checks.filter((c) => c.id.startsWith('slurm'));
    assert.deepEqual(checks.map((c) => [c.id, c.ok]), [['slurm-client', true], ['slurm-controller', true], ['slurm-proctrack', true]]);
    assert.match(checks[0]!.detail, /squeue: \/\S+\/squeue, sbatch: \/\S+\/sbatch/);
    assert.match(checks[1]!.detail, /^answers \(scontrol ping, \d+ ms\)$/);
    assert.equal(checks[2]!.detail, 'proctrack/cgroup');
    const t = doctor([], env);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /\nSlurm \(backend: slurm\):\n {2}\[yes\] Slurm client +squeue: /);
    assert.match(t.stdout, /\[yes\] Slurm process tracking +proctrack\/cgroup\n/);
  });

  it('no Slurm on PATH: one line, "not installed (only needed for backend: slurm)", exit 0', { timeout: 60_000 }, () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: '/nonexistent-reaper-test' };
    const t = doctor([], env);
    assert.equal(t.code, 0, t.stderr);
    const slurm = t.stdout.slice(t.stdout.indexOf('\nSlurm (backend: slurm):\n'));
    assert.equal(slurm, '\nSlurm (backend: slurm):\n  [ - ] Slurm                                  not installed (only needed for backend: slurm)\n');
    const j = doctor(['--json'], env);
    assert.equal(j.code, 0, j.stderr);
    const checks = (JSON.parse(j.stdout) as { checks: Check[] }).checks.filter((c) => c.id.startsWith('slurm'));
    assert.deepEqual(checks.map((c) => [c.id, c.ok, c.detail, c.notApplicable]), [['slurm', null, 'not installed (only needed for backend: slurm)', true]]);
  });
});
