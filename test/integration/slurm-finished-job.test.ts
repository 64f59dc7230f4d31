/**
 * A finished job's end read back from the real Slurm lab: the jobcomp file through `sacct -c`
 * (the lab has accounting_storage/none + jobcomp/filetxt, as a site without slurmdbd), the same
 * answer through readJobEnd (scontrol still remembers the job here: MinJobAge 600 s), and a name
 * that is not the job's makes every source say "no record". Skips without the lab.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { jobExit } from '../../src/launch/executors/slurm.js';
import { jobEndSacctArgs, pickSacctJobEnd, readJobEnd, runSlurmCommand } from '../../src/slurm/index.js';
import { slurmLab } from '../helpers/slurm-lab.js';
import { waitFor } from '../helpers/wait-for.js';

const check = await slurmLab();
const lab = check.lab;

describe('finished jobs on the Slurm lab', { skip: check.why ?? false }, () => {
  it('exit 7 and SIGKILL read back from sacct -c (jobcomp) by id and name; readJobEnd agrees; a wrong name is unknown everywhere', { timeout: 90_000 }, async (t) => {
    const tag = randomBytes(4).toString('hex');
    const jobs = [
      { name: `reaper-fj${tag}-0-exit7`, wrap: 'exit 7' },
      { name: `reaper-fj${tag}-1-kill`, wrap: 'kill -9 $$' },
    ];
    t.after(() => {
      for (const j of jobs) spawnSync('scancel', [`--name=${j.name}`], { env: lab!.env, timeout: 15_000 });
    });
    const ids = jobs.map((j) => {
      const r = spawnSync('sbatch', ['--parsable', `--job-name=${j.name}`, '--output=/dev/null', '--chdir=/tmp', '--wrap', j.wrap], { env: lab!.env, encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().split(';')[0]!;
    });
    const read = async (i: number) => {
      const out = await runSlurmCommand('sacct', jobEndSacctArgs(ids[i]!, true), { deadlineMs: 10_000, env: lab!.env });
      return out.exitCode === 0 ? pickSacctJobEnd(out.stdout, ids[i]!, jobs[i]!.name) : null;
    };
    let ends: Awaited<ReturnType<typeof read>>[] = [];
    await waitFor(async () => {
      ends = [await read(0), await read(1)];
      return ends.every((e) => e !== null);
    }, { timeoutMs: 60_000, intervalMs: 300, what: 'both jobs in the jobcomp file' });
    assert.deepEqual(ends[0]!.exit, { code: 7, signal: null });
    assert.deepEqual(jobExit(ends[1]!), { code: null, signal: 'SIGKILL', error: null });

    const viaChain = await readJobEnd({ id: ids[0]!, name: jobs[0]!.name }, { deadlineMs: 20_000, env: lab!.env });
    assert.equal(viaChain.source, 'scontrol');
    assert.deepEqual(viaChain.job!.exit, { code: 7, signal: null });

    // Not this job's name: scontrol, sacct (accounting storage off here) and sacct -c all say no.
    const wrong = await readJobEnd({ id: ids[0]!, name: `reaper-fj${tag}-9-other` }, { deadlineMs: 20_000, env: lab!.env });
    assert.equal(wrong.job, null);
    assert.deepEqual(wrong.tried, [
      `scontrol: no record of job ${ids[0]} named reaper-fj${tag}-9-other`,
      'sacct: accounting storage is disabled',
      `sacct -c: no record of job ${ids[0]} named reaper-fj${tag}-9-other`,
    ]);
  });
});
