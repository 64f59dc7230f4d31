/**
 * `reaper ls` and a Slurm run, without the lab: Slurm's clients replaced by scripts in PATH that
 * record each call. No Slurm client is started when no run has an open Slurm job; a run that has
 * one asks `scontrol ping` first, and a controller that is down is one `slurm:` line and a flag
 * with the jobs unknown, at once (no ~10 s retry of squeue).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { CLI } from '../helpers/launch-run.js';
import { CLI_MAX_BUFFER } from '../helpers/wait-for.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'reaper-ls-slurm-'));
after(() => rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
const bin = path.join(tmp, 'bin');
const calls = path.join(tmp, 'calls.log');
mkdirSync(bin);
for (const name of ['scontrol', 'squeue', 'sacct', 'sinfo', 'scancel', 'sbatch']) {
  const f = path.join(bin, name);
  // A controller that is down, as 22.05's scontrol ping says it.
  writeFileSync(f, `#!/bin/sh\necho ${name} "$@" >> '${calls}'\necho 'Slurmctld(primary) at fakectl is DOWN'\nexit 1\n`);
  chmodSync(f, 0o755);
}

function plant(state: string, id: string, slurm: boolean): void {
  const dir = path.join(state, 'reaper', 'runs', id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const start = { ev: 'run-start', t: Date.now() - 60_000, run: id, name: 'planted', file: '/b.yaml', launcher: { pid: 999_999_990, startTime: 1 }, guardian: { pid: 999_999_991, startTime: 2 }, layers: [], gpus: ['0'], tasks: [{ task: 0, vars: {} }], stages: ['hang'], graceMs: 1000, cgroup: null, detached: false, ...(slurm ? { backend: 'slurm' } : {}) };
  const ts = { ev: 'task-start', t: Date.now() - 59_000, task: 0, stage: 'hang', attempt: 1, gpu: '0', pid: slurm ? 0 : 999_999_992, startTime: slurm ? null : 3, pgid: 0, cgroup: null, argv: ['x'], stdout: 'o', stderr: 'e', ...(slurm ? { job: { id: '4242', name: `reaper-${id}-0-hang` } } : {}) };
  writeFileSync(path.join(dir, 'journal.jsonl'), `${JSON.stringify(start)}\n${JSON.stringify(ts)}\n`, { mode: 0o600 });
}

function ls(state: string, args: string[] = []): { code: number | null; stdout: string; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [CLI, 'ls', '--gpus', 'none', ...args], { maxBuffer: CLI_MAX_BUFFER, env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, XDG_STATE_HOME: state, REAPER_RUN: '' }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

describe('ls and Slurm clients', () => {
  test('no run with an open Slurm job: no Slurm client is started', () => {
    const state = mkdtempSync(path.join(tmp, 'state-'));
    plant(state, '20261202-000000-0001', false);
    const r = ls(state);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(existsSync(calls), false, `a Slurm client ran: ${existsSync(calls) ? readFileSync(calls, 'utf8') : ''}`);
    assert.doesNotMatch(r.stdout, /slurm:/);
  });

  test('a Slurm run whose launcher is gone, controller down: scontrol ping only, one slurm: line, jobs unknown', () => {
    const state = mkdtempSync(path.join(tmp, 'state-'));
    const id = '20261202-000000-0002';
    plant(state, id, true);
    const r = ls(state);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(calls, 'utf8'), 'scontrol ping\n', 'asked scontrol ping and nothing that retries');
    assert.match(r.stdout, new RegExp(`run ${id} planted \\(slurm\\): crashed, launcher gone, Slurm jobs unknown, 0 processes left: reaper reap --run ${id}`));
    assert.match(r.stdout, /\n {2}job 4242 task 0 hang: not in squeue, exit \?\n/);
    assert.match(r.stdout, /\nslurm: scontrol: controller at fakectl is down/);
    const doc = JSON.parse(ls(state, ['--json']).stdout) as { runs: Array<Record<string, unknown>>; slurm: { asked: boolean; error: string } };
    assert.deepEqual(doc.slurm, { asked: true, error: 'scontrol: controller at fakectl is down (Slurmctld(primary) at fakectl is DOWN)' });
    const run = doc.runs.find((x) => x.id === id)!;
    assert.equal(run.backend, 'slurm');
    assert.equal(run.jobsLeft, null);
    assert.equal(run.launcherGone, true);
  });

  test('a controller that does not answer at all: ls ends at its Slurm deadline with one slurm: line', () => {
    const hang = path.join(tmp, 'hang-bin');
    mkdirSync(hang);
    writeFileSync(path.join(hang, 'scontrol'), '#!/bin/sh\nexec sleep 60\n');
    chmodSync(path.join(hang, 'scontrol'), 0o755);
    const state = mkdtempSync(path.join(tmp, 'state-'));
    plant(state, '20261202-000000-0004', true);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [CLI, 'ls', '--gpus', 'none'], { maxBuffer: CLI_MAX_BUFFER, env: { ...process.env, PATH: `${hang}:${process.env.PATH ?? ''}`, XDG_STATE_HOME: state, REAPER_RUN: '' }, encoding: 'utf8', timeout: 60_000 });
    const ms = Date.now() - t0;
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\nslurm: scontrol: no answer within [\d.]+ s\n/);
    assert.ok(ms < 20_000, `ls took ${ms} ms`);
  });
});
