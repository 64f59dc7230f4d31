/** The Slurm text and JSON parsers against our own lab captures (22.05.8) and the 23.11 shape. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/gpu-helpers.js';
import {
  classifyState,
  decodeWaitStatus,
  parseExitCodeText,
  parseSacctText,
  parseScontrolJobs,
  parseSlurmCgroup,
  parseSlurmDuration,
  parseSqueueJson,
  parseSbatchParsable,
  parseSqueueText,
  slurmClientEnv,
  squeueArgs,
  SQUEUE_FORMAT,
  type SlurmJob,
} from '../../src/slurm/index.js';

const fixture = (name: string): string => readFileSync(join(repoRoot, 'test', 'fixtures', 'slurm', name), 'utf8');
// JOBS-22.05.txt: "ok=15 exit7=16 …": the case → job id of the last capture.
const ids = Object.fromEntries(
  fixture('JOBS-22.05.txt').split('\n')[0]!.split(' ').map((kv) => kv.split('=') as [string, string]),
);
const byId = (jobs: readonly SlurmJob[], id: string): SlurmJob => {
  const j = jobs.find((x) => x.jobId === id);
  assert.ok(j, `job ${id} not parsed`);
  return j;
};

test('wait statuses: 1792 is exit 7, 9 is SIGKILL, 256 is exit 1, 15 SIGTERM; stopped and junk are null', () => {
  assert.deepEqual(decodeWaitStatus(1792), { code: 7, signal: null });
  assert.deepEqual(decodeWaitStatus(0), { code: 0, signal: null });
  assert.deepEqual(decodeWaitStatus(256), { code: 1, signal: null });
  assert.deepEqual(decodeWaitStatus(9), { code: null, signal: 9, coreDumped: false });
  assert.deepEqual(decodeWaitStatus(15), { code: null, signal: 15, coreDumped: false });
  assert.deepEqual(decodeWaitStatus(134), { code: null, signal: 6, coreDumped: true });
  assert.equal(decodeWaitStatus(0x137f), null);
  assert.equal(decodeWaitStatus(-1), null);
  assert.equal(decodeWaitStatus(1.5), null);
  assert.equal(decodeWaitStatus(0x10000), null);
});

test('ExitCode text: "7:0" is exit 7, "0:9" is SIGKILL, junk is null', () => {
  assert.deepEqual(parseExitCodeText('7:0'), { code: 7, signal: null });
  assert.deepEqual(parseExitCodeText('0:9'), { code: null, signal: 9 });
  assert.deepEqual(parseExitCodeText('0:0'), { code: 0, signal: null });
  assert.equal(parseExitCodeText(''), null);
  assert.equal(parseExitCodeText('7'), null);
});

test('durations and state classes', () => {
  assert.equal(parseSlurmDuration('0:03'), 3);
  assert.equal(parseSlurmDuration('00:00:33'), 33);
  assert.equal(parseSlurmDuration('1:02:03'), 3723);
  assert.equal(parseSlurmDuration('2-03:04:05'), 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
  for (const t of ['INVALID', 'UNLIMITED', 'N/A', '', '1:2:3:4']) assert.equal(parseSlurmDuration(t), null, t);
  assert.equal(classifyState('PENDING'), 'pending');
  assert.equal(classifyState('RUNNING'), 'running');
  assert.equal(classifyState('COMPLETING'), 'ending');
  assert.equal(classifyState('CANCELLED by 0'), 'done');
  assert.equal(classifyState('OUT_OF_MEMORY'), 'done');
  assert.equal(classifyState('WHATEVER'), 'unknown');
});

test('squeue -o text (22.05 capture): every line parsed, states, reasons, nodes, elapsed', () => {
  const { jobs, bad } = parseSqueueText(fixture('squeue-o-22.05.txt'));
  assert.deepEqual(bad, []);
  assert.equal(jobs.length, 24);
  const run = byId(jobs, ids.running!);
  assert.equal(run.state, 'RUNNING');
  assert.equal(run.stateClass, 'running');
  assert.equal(run.nodes, 'vm');
  assert.equal(run.reason, null);
  assert.equal(run.user, 'root');
  assert.equal(run.partition, 'lab');
  assert.equal(run.elapsedS, 3);
  const dep = byId(jobs, ids.dependent!);
  assert.deepEqual([dep.state, dep.reason, dep.nodes], ['PENDING', 'Dependency', null]);
  assert.equal(byId(jobs, ids.held!).reason, 'JobHeldUser');
  assert.deepEqual([byId(jobs, ids.exit7!).state, byId(jobs, ids.exit7!).reason], ['FAILED', 'NonZeroExitCode']);
  const kid = byId(jobs, ids.killdep!);
  assert.deepEqual([kid.state, kid.reason], ['CANCELLED', 'DependencyNeverSatisfied']);
});

test('squeue -o text: a name with "|" and a newline breaks a line-based format (why reaper leaves %j out)', () => {
  const { jobs, bad } = parseSqueueText(fixture('squeue-o-name-newline-22.05.txt'));
  // 8 fields where 7 are expected, and a stray second line: both refused, nothing guessed.
  assert.deepEqual(jobs, []);
  assert.equal(bad.length, 3);
});

test('squeue -o text: forged or odd lines are refused, array and het ids kept as text', () => {
  const text = ['5_3|RUNNING|None|bob|gpu|n1|1:00', '7_[1-4%2]|PENDING|JobArrayTaskLimit|bob|gpu||0:00', '9+1|RUNNING|None|bob|gpu|n2|0:01',
    'x|RUNNING|None|bob|gpu|n1|0:01', '12|running|None|bob|gpu|n1|0:01', '13|RUNNING|None|bob|gpu|n1', ''].join('\n');
  const { jobs, bad } = parseSqueueText(text);
  assert.deepEqual(jobs.map((j) => j.jobId), ['5_3', '7_[1-4%2]', '9+1']);
  assert.equal(bad.length, 3);
});

test('squeueArgs: an explicit format, all states, named jobs', () => {
  assert.deepEqual(squeueArgs({ jobs: ['1', '2'] }), ['--noheader', `--format=${SQUEUE_FORMAT}`, '--states=all', '--jobs=1,2']);
  assert.ok(!SQUEUE_FORMAT.includes('%j') && !SQUEUE_FORMAT.includes('%k'));
});

test('squeue --json 22.05 capture: raw wait statuses decoded, names intact, elapsed from the clock', () => {
  const r = parseSqueueJson(fixture('squeue-json-22.05.json'), 1796174813);
  assert.equal(r.unreadable, false);
  assert.equal(r.release, '22.05.8');
  assert.equal(r.bad, 0);
  assert.equal(r.jobs.length, 24);
  assert.deepEqual(byId(r.jobs, ids.exit7!).exit, { code: 7, signal: null });
  assert.deepEqual(byId(r.jobs, ids.ok!).exit, { code: 0, signal: null });
  assert.equal(byId(r.jobs, ids.sigkill!).exit?.signal, 9);
  assert.equal(byId(r.jobs, ids.cancelled!).exit?.signal, 15);
  assert.equal(byId(r.jobs, ids.badparent!).exit?.code, 1);
  const run = byId(r.jobs, ids.running!);
  assert.deepEqual([run.state, run.nodes, run.exit, run.elapsedS], ['RUNNING', 'vm', null, 3]);
  const pend = byId(r.jobs, ids.dependent!);
  assert.deepEqual([pend.state, pend.reason, pend.nodes, pend.elapsedS], ['PENDING', 'Dependency', null, null]);
  assert.equal(byId(r.jobs, ids.odd!).name, 'odd|name with\nnewline');
});

test('squeue --json 23.11 shape: state lists, {set, number} values, verbose exit codes, array tasks', () => {
  const r = parseSqueueJson(fixture('squeue-json-23.11-handwritten.json'), 1700000100);
  assert.equal(r.release, '23.11.5');
  assert.equal(r.bad, 1);
  const j = (id: string) => byId(r.jobs, id);
  assert.deepEqual([j('101').state, j('101').stateClass, j('101').elapsedS, j('101').exit], ['RUNNING', 'running', 100, null]);
  assert.deepEqual([j('102').state, j('102').reason, j('102').nodes, j('102').elapsedS], ['PENDING', 'Dependency', null, null]);
  assert.deepEqual(j('103').exit, { code: 7, signal: null });
  assert.equal(j('103').elapsedS, 42);
  assert.deepEqual(j('104').exit, { code: null, signal: 15, coreDumped: false });
  assert.deepEqual(j('105').exit, { code: 0, signal: null });
  assert.deepEqual([j('200_3').state, j('200_3').stateFlags, j('200_3').user], ['PENDING', ['REQUEUED'], 'bob']);
});

test('squeue --json: not JSON, no jobs list, odd members: unreadable or bad, never a throw', () => {
  assert.equal(parseSqueueJson('slurm_load_jobs error: Unable to contact slurm controller', 0).unreadable, true);
  assert.equal(parseSqueueJson('{"meta": {}}', 0).unreadable, true);
  assert.equal(parseSqueueJson('[]', 0).unreadable, true);
  const r = parseSqueueJson('{"jobs": [null, 3, {"job_id": "7", "job_state": "RUNNING"}, {"job_id": 8, "job_state": []}, {"job_id": 9, "job_state": ["NEW_STATE"]}], "errors": [{"error": "e1", "description": "went wrong"}]}', 0);
  assert.equal(r.bad, 4);
  assert.deepEqual(r.jobs.map((x) => [x.jobId, x.state, x.stateClass]), [['9', 'NEW_STATE', 'unknown']]);
  assert.deepEqual(r.errors, ['went wrong']);
});

test('scontrol show job -o capture: names with newlines stay in their record, exit codes read', () => {
  const r = parseScontrolJobs(fixture('scontrol-show-job-o-22.05.txt'));
  assert.deepEqual(r.bad, []);
  assert.equal(r.jobs.length, 24);
  assert.equal(r.ambiguous, false);
  const odd = byId(r.jobs, ids.odd!);
  assert.deepEqual([odd.name, odd.state, odd.reason, odd.user], ['odd|name with\nnewline', 'PENDING', 'JobHeldUser', 'root']);
  assert.deepEqual(byId(r.jobs, ids.exit7!).exit, { code: 7, signal: null });
  assert.deepEqual(byId(r.jobs, ids.sigkill!).exit, { code: null, signal: 9 });
  assert.deepEqual([byId(r.jobs, ids.running!).nodes, byId(r.jobs, ids.running!).elapsedS], ['vm', 3]);
});

test('scontrol show job -o: a name that imitates fields makes the answer ambiguous', () => {
  const forged = 'JobId=5 JobName=x JobState=COMPLETED UserId=bob(1000) GroupId=bob(1000) JobState=RUNNING Reason=None ExitCode=0:0 RunTime=00:01:00 NodeList=n1';
  const r = parseScontrolJobs(forged);
  assert.equal(r.ambiguous, true);
  const twice = parseScontrolJobs('JobId=5 JobName=a\nJobId=5 JobName=b UserId=x(1) JobState=RUNNING\nJobId=5 JobName=c UserId=x(1) JobState=RUNNING');
  assert.equal(twice.ambiguous, true);
  assert.equal(twice.bad.length, 1);
});

test('sacct -P text: the jobcomp capture keeps its good lines and refuses the broken ones', () => {
  const r = parseSacctText(fixture('sacct-c-22.05.txt'), ['JobID', 'State', 'ExitCode', 'Elapsed', 'NodeList']);
  assert.ok(r.bad.length >= 3, r.bad.join('\n'));
  assert.deepEqual(byId(r.jobs, ids.exit7!).exit, { code: 7, signal: null });
  assert.deepEqual(byId(r.jobs, ids.sigkill!).exit, { code: null, signal: 9 });
  assert.equal(byId(r.jobs, ids.cancelled!).state, 'CANCELLED');
  assert.equal(byId(r.jobs, ids.killdep!).nodes, null);
});

test('sacct -X -P -n (slurmdbd shape): "CANCELLED by 0", array ids, wrong field counts', () => {
  const text = '41|COMPLETED|0:0|00:00:05|n1|alice|gpu\n42|CANCELLED by 0|0:15|00:01:00|n1|alice|gpu\n43_2|FAILED|7:0|00:00:01|n2|alice|gpu\n44|RUNNING|0:0|00:00:09\n';
  const r = parseSacctText(text);
  assert.deepEqual(r.jobs.map((j) => [j.jobId, j.state, j.stateClass]), [['41', 'COMPLETED', 'done'], ['42', 'CANCELLED', 'done'], ['43_2', 'FAILED', 'done']]);
  assert.deepEqual(r.jobs[1]!.stateFlags, ['by uid 0']);
  assert.deepEqual(r.jobs[2]!.exit, { code: 7, signal: null });
  assert.equal(r.bad.length, 1);
});

test('/proc/PID/cgroup → job and step (v1 with and without the node suffix, v2), else null', () => {
  const v1 = '12:pids:/slurm_vm/uid_0/job_27/step_batch\n6:freezer:/slurm_vm/uid_0/job_27/step_batch\n1:name=systemd:/\n0::/\n';
  assert.deepEqual(parseSlurmCgroup(v1), { jobId: '27', step: 'batch', uid: 0 });
  assert.deepEqual(parseSlurmCgroup('4:memory:/slurm/uid_1000/job_5/step_0/task_0\n'), { jobId: '5', step: '0', uid: 1000 });
  assert.deepEqual(parseSlurmCgroup('0::/system.slice/slurmstepd.scope/job_9/step_extern/user/task_0\n'), { jobId: '9', step: 'extern', uid: null });
  assert.equal(parseSlurmCgroup('0::/user.slice/user-0.slice/session-1.scope\n'), null);
  assert.equal(parseSlurmCgroup('4:memory:/slurm_vm/uid_0/job_27\n'), null);
});

test('client env: output overrides are removed, everything else kept', () => {
  const env = slurmClientEnv({ SQUEUE_FORMAT: '%i', SQUEUE_FORMAT2: 'x', SQUEUE_STATES: 'all', SACCT_FORMAT: 'x', SINFO_FORMAT: 'x',
    SLURM_TIME_FORMAT: 'relative', SLURM_CONF: '/etc/slurm/slurm.conf', SBATCH_ACCOUNT: 'a', PATH: '/bin', SLURM_JOB_ID: '4', U: undefined });
  assert.deepEqual(env, { SLURM_CONF: '/etc/slurm/slurm.conf', SBATCH_ACCOUNT: 'a', PATH: '/bin', SLURM_JOB_ID: '4' });
});

test('sbatch --parsable answers: "id" or "id;cluster", anything else refused', () => {
  assert.deepEqual(parseSbatchParsable('42\n'), { jobId: '42', cluster: null });
  assert.deepEqual(parseSbatchParsable('42;lab\n'), { jobId: '42', cluster: 'lab' });
  for (const t of ['', 'Submitted batch job 42', '42 43', '-1']) assert.equal(parseSbatchParsable(t), null, t);
});
