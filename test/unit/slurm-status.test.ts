/**
 * A Slurm run's jobs as `ls`, `runs`, `show` and the live screen see them, from fixture text:
 * the squeue/sacct parsers that match by id AND name, the merge of recorded jobs with what Slurm
 * printed, the journal summary's job list, and the renderers (text, JSON, the flag).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jobLine, launcherGoneText } from '../../src/analysis/run-jobs.js';
import { buildRunHistory } from '../../src/analysis/run-history.js';
import { formatRunHistoryLines } from '../../src/analysis/run-history-text.js';
import { summarizeRun, type JournalEvent } from '../../src/launch/journal.js';
import { mergeJobStatus, openJobsOf, openJobsOfHistory, type OpenJob } from '../../src/launch/slurm-status.js';
import { buildLsRuns, renderLsRunsText } from '../../src/cli/render/ls-runs.js';
import { buildRunsDocument } from '../../src/cli/render/history-json.js';
import { renderRunsText } from '../../src/cli/render/history-text.js';
import { parseSacctNamed, parseSqueueNamed, squeueNamedArgs } from '../../src/slurm/named-jobs.js';
import type { SlurmRunsStatus } from '../../src/model/run.js';
import { proc, snapshot } from '../helpers/tui-fake.js';

const RUN = '20261202-031516-5375';
const name = (task: number, stage = 'hang'): string => `reaper-${RUN}-${task}-${stage}`;

function journal(opts: { ended?: boolean; endTask0?: boolean } = {}): JournalEvent[] {
  const ts = (task: number, id: string): JournalEvent => ({ ev: 'task-start', t: 1100, task, stage: 'hang', attempt: 1, gpu: String(task), pid: 0, startTime: null, pgid: 0, cgroup: null, argv: ['x'], stdout: 'o', stderr: 'e', job: { id, name: name(task) } });
  const ev: JournalEvent[] = [
    { ev: 'run-start', t: 1000, run: RUN, name: 'sview', file: '/b.yaml', launcher: { pid: 999_999_990, startTime: 1 }, guardian: { pid: 999_999_991, startTime: 2 }, layers: [], gpus: ['0', '1', '2'], tasks: [{ task: 0, vars: {} }, { task: 1, vars: {} }, { task: 2, vars: {} }], stages: ['hang'], graceMs: 1000, cgroup: null, detached: false, backend: 'slurm' },
    ts(0, '203'),
    ts(1, '204'),
    ts(2, '205'),
  ];
  if (opts.endTask0) ev.push({ ev: 'task-end', t: 1200, task: 0, stage: 'hang', attempt: 1, gpu: '0', status: 'failed', reason: 'exit', detail: 'exit 3', code: 3, signal: null, durationMs: 100, willRetry: false });
  if (opts.ended) ev.push({ ev: 'run-end', t: 1300, state: 'interrupted', by: 'guardian', detail: null, exitCode: null, survivors: 0 });
  return ev;
}

const SQUEUE = [
  `204|RUNNING|None|root|lab|vm|1:02|${name(1)}`,
  `205|PENDING|Resources|root|lab||0:00|${name(2)}`,
  // A reused id under a name that is not this run's: never shown as ours.
  `203|RUNNING|None|root|lab|vm|0:05|someone-else`,
  // A name with "|" and a newline cannot make a line for another job: the name must be asked for.
  `999|RUNNING|None|root|lab|vm|0:05|x|y`,
].join('\n');

describe('squeue and sacct by id and name', () => {
  const names = new Set([name(0), name(1), name(2)]);
  test('a line counts only with a name asked for; the fields before it are Slurm\'s own', () => {
    const r = parseSqueueNamed(SQUEUE, names);
    assert.deepEqual(r.jobs.map((j) => [j.job.jobId, j.job.state, j.job.reason, j.job.nodes, j.job.elapsedS]), [
      ['204', 'RUNNING', null, 'vm', 62],
      ['205', 'PENDING', 'Resources', null, 0],
    ]);
    assert.equal(r.bad.length, 2);
  });

  test('an id printed twice (a forged jobcomp line) is not believed', () => {
    const text = `203|FAILED|3:0|00:00:09|vm|root(0)|lab|${name(0)}\n203|COMPLETED|0:0|00:00:09|vm|root(0)|lab|${name(0)}\n204|CANCELLED by 0|0:15|00:01:00|vm|root(0)|lab|${name(1)}\n`;
    const r = parseSacctNamed(text, names);
    assert.deepEqual(r.ambiguous, ['203']);
    assert.deepEqual(r.jobs.map((j) => [j.job.jobId, j.job.state, j.job.exit]), [['204', 'CANCELLED', { code: null, signal: 15 }]]);
  });

  test('the argv: explicit format with the name last, every state, by ids, names and user', () => {
    assert.deepEqual(squeueNamedArgs(['1', '2'], ['a', 'b'], '0'), ['--noheader', '--format=%i|%T|%r|%u|%P|%N|%M|%j', '--states=all', '--jobs=1,2', '--name=a,b', '--user=0']);
  });
});

describe('recorded jobs and what Slurm says', () => {
  test('summarizeRun records the jobs; a task-end closes its attempt; only open jobs of runs without an end are asked about', () => {
    const s = summarizeRun('/d', journal({ endTask0: true }), null)!;
    assert.equal(s.backend, 'slurm');
    assert.deepEqual(s.jobs!.map((j) => [j.id, j.name, j.task, j.open]), [['203', name(0), 0, false], ['204', name(1), 1, true], ['205', name(2), 2, true]]);
    assert.deepEqual(openJobsOf([s]).map((j) => j.id), ['204', '205']);
    assert.deepEqual(openJobsOf([summarizeRun('/d', journal({ ended: true }), null)!]), [], 'an ended run is not asked about');
    // A recorded name that is not the one reaper gives is never sent to Slurm.
    const planted = journal();
    (planted[1] as { job: { id: string; name: string } }).job = { id: '203', name: 'other,name' };
    assert.deepEqual(openJobsOf([summarizeRun('/d', planted, null)!]).map((j) => j.id), ['204', '205']);
  });

  test('merge: squeue state first, sacct exit for jobs that left the queue, else exit unknown', () => {
    const jobs: OpenJob[] = [0, 1, 2].map((t) => ({ id: String(203 + t), name: name(t), task: t, stage: 'hang', attempt: 1, open: true, runId: RUN }));
    const queue = parseSqueueNamed(SQUEUE, new Set(jobs.map((j) => j.name))).jobs;
    const merged = mergeJobStatus(jobs, queue, [], new Map([['204', [30, 10]]]));
    assert.deepEqual(merged.map((m) => [m.id, m.state, m.active, m.source, m.exit]), [
      ['203', null, false, null, null],
      ['204', 'RUNNING', true, 'squeue', null],
      ['205', 'PENDING', true, 'squeue', null],
    ]);
    assert.deepEqual(merged[1]!.pids, [10, 30]);
    assert.equal(jobLine(merged[0]!), `job 203 task 0 hang: not in squeue, exit ?`);
    assert.equal(jobLine(merged[1]!), 'job 204 task 1 hang: RUNNING on vm, 01:02, 2 processes here');
    assert.equal(jobLine(merged[2]!), 'job 205 task 2 hang: PENDING (Resources)');
    const acct = parseSacctNamed(`203|FAILED|3:0|00:00:09|vm|root(0)|lab|${name(0)}\n`, new Set([name(0)])).jobs;
    const withAcct = mergeJobStatus(jobs, queue, acct);
    assert.equal(jobLine(withAcct[0]!), 'job 203 task 0 hang: FAILED, exit 3, 00:09');
    assert.equal(withAcct[0]!.source, 'sacct');
  });

  test('Slurm\'s text is sanitised: a reason or node list with escapes cannot reach the terminal raw', () => {
    const [j] = mergeJobStatus([{ id: '7', name: name(0), task: 0, stage: 'hang', attempt: 1, open: true, runId: RUN }], [{ name: name(0), job: { jobId: '7', state: 'PENDING', stateFlags: [], stateClass: 'pending', reason: 'Bad\x1b[2J', user: null, partition: null, nodes: null, elapsedS: 0, name: null, exit: null } }], []);
    assert.equal(jobLine(j!), 'job 7 task 0 hang: PENDING (Bad\\x1b[2J)');
  });
});

describe('renderers', () => {
  const jobs: OpenJob[] = [1, 2].map((t) => ({ id: String(203 + t), name: name(t), task: t, stage: 'hang', attempt: 1, open: true, runId: RUN }));
  const status = (error: string | null = null): SlurmRunsStatus => ({
    byRun: new Map([[RUN, error ? mergeJobStatus(jobs, [], []) : mergeJobStatus(jobs, parseSqueueNamed(SQUEUE, new Set(jobs.map((j) => j.name))).jobs, [], new Map([['204', [10, 11]]]))]]),
    error,
    atMs: 0,
  });
  const snap = snapshot([proc(10, 1, { cmd: 'slurmstepd: [204.batch]' }), proc(11, 10, { cmd: 'python3 train.py\x1b]0;x\x07' })]);

  test('ls: a crashed Slurm run with jobs left is shown and flagged, its jobs and process trees under it', () => {
    const crashed = summarizeRun('/d', journal(), snap)!;
    assert.equal(crashed.state, 'crashed');
    const runs = buildLsRuns([crashed], snap, status());
    assert.equal(runs.length, 1, 'shown though no process of it carries the marker');
    assert.equal(runs[0]!.jobsLeft, 2);
    assert.equal(runs[0]!.flag, `launcher gone, 2 jobs left: reaper reap --run ${RUN}`);
    const text = renderLsRunsText(runs, { snapshot: snap });
    assert.match(text, new RegExp(`run ${RUN} sview \\(slurm\\): crashed, launcher gone, 2 jobs left: reaper reap --run ${RUN};`));
    assert.match(text, /\n {2}job 204 task 1 hang: RUNNING on vm, 01:02, 2 processes here\n +10 S +\S+ slurmstepd: \[204\.batch\]\n +11 S +\S+ {2}\\_ python3 train\.py\\x1b\]0;x\\x07\n {2}job 205 task 2 hang: PENDING \(Resources\)\n/);
    // The JSON fields.
    const j = runs[0]!.jobs[0]!;
    assert.deepEqual({ ...j }, { id: '204', name: name(1), task: 1, stage: 'hang', attempt: 1, state: 'RUNNING', active: true, reason: null, nodes: 'vm', elapsedSec: 62, exit: null, source: 'squeue', pids: [10, 11] });
  });

  test('ls: no jobs left → a crashed Slurm run is not listed; Slurm unreachable → jobs unknown and one slurm: line', () => {
    const crashed = summarizeRun('/d', journal(), snap)!;
    const none: SlurmRunsStatus = { byRun: new Map([[RUN, mergeJobStatus(jobs, [], [])]]), error: null, atMs: 0 };
    assert.deepEqual(buildLsRuns([crashed], snapshot([]), none), []);
    const down = buildLsRuns([crashed], snapshot([]), status('scontrol: controller at vm is down'));
    assert.equal(down[0]!.jobsLeft, null);
    assert.equal(down[0]!.flag, `launcher gone, Slurm jobs unknown, 0 processes left: reaper reap --run ${RUN}`);
    assert.match(renderLsRunsText(down, { slurmError: 'scontrol: controller at vm is down' }), /\nslurm: scontrol: controller at vm is down\n$/);
  });

  test('runs and show: the flag line, the job state per stage, JSON fields', () => {
    const h = buildRunHistory(journal(), { id: RUN, dir: '/d', live: false, nowMs: 2000 });
    assert.equal(h.kind, 'run');
    if (h.kind !== 'run') return;
    assert.deepEqual(openJobsOfHistory(h).map((j) => j.id), ['203', '204', '205']);
    const live = { jobs: status().byRun.get(RUN)!, error: null };
    const text = renderRunsText([h], 0, undefined, new Map([[RUN, live]]));
    assert.match(text, new RegExp(`${RUN}: +launcher gone, 2 jobs left: reaper reap --run ${RUN}\n`));
    const doc = buildRunsDocument([h], 0, new Map([[RUN, live]])) as { runs: Array<Record<string, unknown>> };
    assert.equal(doc.runs[0]!.backend, 'slurm');
    assert.equal(doc.runs[0]!.jobsLeft, 2);
    assert.equal(doc.runs[0]!.flag, `launcher gone, 2 jobs left: reaper reap --run ${RUN}`);
    const lines = formatRunHistoryLines(h, undefined, live).join('\n');
    assert.match(lines, new RegExp(`\n {2}launcher gone, 2 jobs left: reaper reap --run ${RUN}\n`));
    assert.match(lines, /Slurm job 204: RUNNING on vm, 01:02\n +processes here: 10 11\n/);
    assert.match(lines, /Slurm job 205: PENDING \(Resources\)\n/);
  });

  test('launcherGoneText wording', () => {
    assert.equal(launcherGoneText('R', { jobs: 3, processes: 0 }), 'launcher gone, 3 jobs left: reaper reap --run R');
    assert.equal(launcherGoneText('R', { jobs: 1, processes: 0 }), 'launcher gone, 1 job left: reaper reap --run R');
    assert.equal(launcherGoneText('R', { jobs: 0, processes: 2 }), 'launcher gone, 0 jobs left, 2 processes left: reaper reap --run R');
  });
});
