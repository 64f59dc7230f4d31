/**
 * A job's tasks, never its slurmstepd: /proc/PID/cgroup texts captured in the lab (22.05, cgroup
 * v1 with multiple-slurmd) for job 2's slurmstepd and its batch script.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSlurmCgroup, parseSlurmTaskCgroup } from '../../src/slurm/index.js';

const STEPD = `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/slurm_vm/uid_0/job_2
5:devices:/slurm_vm/uid_0/job_2/step_batch
4:memory:/slurm_vm/uid_0/job_2/step_batch
3:cpuset:/slurm_vm/uid_0/job_2/step_batch
2:cpuacct:/
1:cpu:/
0::/
`;
const TASK = `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/slurm_vm/uid_0/job_2/step_batch
5:devices:/slurm_vm/uid_0/job_2/step_batch/task_0
4:memory:/slurm_vm/uid_0/job_2/step_batch/task_0
3:cpuset:/slurm_vm/uid_0/job_2/step_batch
2:cpuacct:/slurm_vm/uid_0/job_2/step_batch/task_0
1:cpu:/
0::/
`;

test('cgroup v1: the freezer (what proctrack/cgroup tracks) decides; slurmstepd sits in the job folder', () => {
  // The plain mapping puts slurmstepd in the batch step (its memory cgroup): not enough to signal by.
  assert.deepEqual(parseSlurmCgroup(STEPD), { jobId: '2', step: 'batch', uid: 0 });
  assert.equal(parseSlurmTaskCgroup(STEPD), null);
  assert.deepEqual(parseSlurmTaskCgroup(TASK), { jobId: '2', step: 'batch', uid: 0 });
  assert.deepEqual(parseSlurmTaskCgroup(TASK.replace(/step_batch/g, 'step_0')), { jobId: '2', step: '0', uid: 0 });
  assert.equal(parseSlurmTaskCgroup('6:freezer:/user.slice\n4:memory:/\n'), null);
});

test('no Slurm freezer (proctrack linuxproc/pgid): the other controllers; cgroup v2: slurmstepd in …/slurm is not a task', () => {
  assert.deepEqual(parseSlurmTaskCgroup(TASK.replace('6:freezer:/slurm_vm/uid_0/job_2/step_batch', '6:freezer:/')), { jobId: '2', step: 'batch', uid: 0 });
  assert.equal(parseSlurmTaskCgroup('0::/system.slice/slurmstepd.scope/job_27/step_batch/slurm\n'), null);
  assert.deepEqual(parseSlurmTaskCgroup('0::/system.slice/slurmstepd.scope/job_27/step_batch/user/task_0\n'), { jobId: '27', step: 'batch', uid: null });
  assert.equal(parseSlurmTaskCgroup(''), null);
});
