import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SLURM } from '../../src/launch/config.js';
import { jobExit, sbatchArgs, slurmTimeMinutes } from '../../src/launch/executors/slurm.js';
import { slurmJobName } from '../../src/launch/slurm-jobs.js';

describe('slurm executor (pure parts)', () => {
  it('names a job so a human finds it and squeue can check it', () => {
    assert.equal(slurmJobName('20261202-020420-aaf4', 3, 'evaluate'), 'reaper-20261202-020420-aaf4-3-evaluate');
  });

  it('--time: the stage timeout plus a margin (1 min + grace), whole minutes; slurm.time wins; none without a timeout', () => {
    assert.equal(slurmTimeMinutes(DEFAULT_SLURM, 8_000, 2_000), 2);
    assert.equal(slurmTimeMinutes(DEFAULT_SLURM, 3_600_000, 5_000), 62);
    assert.equal(slurmTimeMinutes({ ...DEFAULT_SLURM, timeMs: 90_000 }, 8_000, 2_000), 2);
    assert.equal(slurmTimeMinutes(DEFAULT_SLURM, null, 2_000), null);
  });

  it("sbatch arguments: reaper's own first, the block's after, extra last", () => {
    const a = sbatchArgs({
      runId: 'R',
      task: 0,
      stage: 's',
      cwd: '/w',
      logs: { stdout: '/l/o', stderr: '/l/e' },
      slurm: { partition: 'lab', account: 'a', qos: 'q', gres: 'gpu:2', cpus: 4, mem: '8G', timeMs: null, extra: ['--constraint=x'] },
      timeMin: 3,
    });
    assert.deepEqual(a, [
      '--job-name=reaper-R-0-s',
      '--comment=reaper-run=R',
      '--output=/l/o',
      '--error=/l/e',
      '--open-mode=append',
      '--export=ALL',
      '--chdir=/w',
      '--gres=gpu:2',
      '--time=3',
      '--partition=lab',
      '--account=a',
      '--qos=q',
      '--cpus-per-task=4',
      '--mem=8G',
      '--constraint=x',
    ]);
    assert.ok(!sbatchArgs({ runId: 'R', task: 0, stage: 's', cwd: '/w', logs: { stdout: 'o', stderr: 'e' }, slurm: { ...DEFAULT_SLURM, gres: null }, timeMin: null }).some((x) => x.startsWith('--gres') || x.startsWith('--time')));
  });

  it("a finished job's end: exit code, signal name, or unknown (never a made-up 0)", () => {
    const job = (exit: { code: number | null; signal: number | null } | null) =>
      ({ jobId: '1', state: 'X', stateFlags: [], stateClass: 'done', reason: null, user: null, partition: null, nodes: null, elapsedS: null, name: null, exit }) as const;
    assert.deepEqual(jobExit(job({ code: 7, signal: null })), { code: 7, signal: null, error: null });
    assert.deepEqual(jobExit(job({ code: null, signal: 9 })), { code: null, signal: 'SIGKILL', error: null });
    assert.deepEqual(jobExit(job(null)), { code: null, signal: null, error: null });
    assert.deepEqual(jobExit(null), { code: null, signal: null, error: null });
  });
});
