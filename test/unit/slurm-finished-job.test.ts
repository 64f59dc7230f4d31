/**
 * A finished job's end once the controller forgot it: scontrol, then sacct, then sacct -c, each
 * answer taken only for this id under this name. The chain runs on recorded client outcomes
 * (texts captured in the lab: test/fixtures/slurm/); the real sacct -c read is in
 * integration/slurm-finished-job.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { jobExit } from '../../src/launch/executors/slurm.js';
import { jobEndSacctArgs, pickSacctJobEnd, pickScontrolJobEnd, readJobEnd, type SlurmOutcome } from '../../src/slurm/index.js';
import { repoRoot } from '../helpers/gpu-helpers.js';

const fixture = (name: string): string => readFileSync(join(repoRoot, 'test', 'fixtures', 'slurm', name), 'utf8');
const JOBCOMP = fixture('sacct-c-jobend-22.05.txt');
const SCONTROL_GONE = fixture('errors/scontrol-invalid-job.txt');
const SACCT_OFF = fixture('errors/sacct-disabled.txt');
const EXIT7 = { id: '211', name: 'reaper-fx-0-exit7' };

const outcome = (argv: readonly string[], exitCode: number, stdout: string, stderr = ''): SlurmOutcome => ({ argv, exitCode, signal: null, stdout, stderr, spawnError: null, timedOut: false, truncated: false, ms: 3 });

/** A runner that answers each client by its first arguments, and records what was asked. */
function recorded(answers: Record<string, (argv: string[]) => SlurmOutcome>): { run: (bin: string, args: readonly string[]) => Promise<SlurmOutcome>; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    run: async (bin, args) => {
      const key = `${bin} ${args[0] === '-c' ? '-c' : args[0]}`;
      asked.push(`${bin} ${args.join(' ')}`);
      const f = answers[key];
      return f ? f([bin, ...args]) : outcome([bin, ...args], 1, '', `${bin}: not expected`);
    },
  };
}

test('sacct -P text: this id under this name only; -c and plain argv', () => {
  assert.deepEqual(jobEndSacctArgs('211', false), ['-X', '-P', '-n', '--format=JobID,JobName,State,ExitCode', '--jobs=211']);
  assert.deepEqual(jobEndSacctArgs('211', true), ['-c', '-X', '-P', '-n', '--format=JobID,JobName,State,ExitCode', '--jobs=211']);
  const j = pickSacctJobEnd(JOBCOMP, '211', 'reaper-fx-0-exit7')!;
  assert.equal(j.state, 'FAILED');
  assert.deepEqual(j.exit, { code: 7, signal: null });
  assert.deepEqual(pickSacctJobEnd(JOBCOMP, '212', 'reaper-fx-1-kill')!.exit, { code: null, signal: 9 });
  assert.deepEqual(jobExit(pickSacctJobEnd(JOBCOMP, '212', 'reaper-fx-1-kill')), { code: null, signal: 'SIGKILL', error: null });
  // Same id, another name (an id reused after a controller reset): not this job.
  assert.equal(pickSacctJobEnd(JOBCOMP, '211', 'reaper-fx-1-kill'), null);
  assert.equal(pickSacctJobEnd(JOBCOMP, '21', 'reaper-fx-0-exit7'), null);
  // A name with "|" shifts the fields: the line does not parse and is never taken.
  assert.equal(pickSacctJobEnd('211|reaper-fx-0|exit7|COMPLETED|0:0\n', '211', 'reaper-fx-0|exit7'), null);
  // Two records of it that disagree: unknown; that agree: that one.
  assert.equal(pickSacctJobEnd('211|n|COMPLETED|0:0\n211|n|FAILED|7:0\n', '211', 'n'), null);
  assert.deepEqual(pickSacctJobEnd('211|n|FAILED|7:0\n211|n|FAILED|7:0\n', '211', 'n')!.exit, { code: 7, signal: null });
  assert.equal(pickSacctJobEnd('211|n|CANCELLED by 0|0:15\n', '211', 'n')!.state, 'CANCELLED');
});

test('scontrol text: this id under this name', () => {
  const text = `JobId=211 JobName=reaper-fx-0-exit7 UserId=root(0) JobState=FAILED Reason=NonZeroExitCode ExitCode=7:0 RunTime=00:00:00\n`;
  assert.deepEqual(pickScontrolJobEnd(text, '211', 'reaper-fx-0-exit7')!.exit, { code: 7, signal: null });
  assert.equal(pickScontrolJobEnd(text, '211', 'reaper-other-0-s'), null);
});

test('the controller forgot the job, accounting storage is off: the jobcomp file (sacct -c) says exit 7', async () => {
  const r = recorded({
    'scontrol show': (a) => outcome(a, 1, '', SCONTROL_GONE),
    'sacct -X': (a) => outcome(a, 1, '', SACCT_OFF),
    // An older job 211 of another name comes first in the file.
    'sacct -c': (a) => outcome(a, 0, `211|reaper-old-3-x|COMPLETED|0:0\n${JOBCOMP}`),
  });
  const end = await readJobEnd(EXIT7, { deadlineMs: 30_000 }, r.run);
  assert.equal(end.source, 'jobcomp');
  assert.deepEqual(end.job!.exit, { code: 7, signal: null });
  assert.deepEqual(end.tried, ['scontrol: no such job (Invalid job id specified)', 'sacct: accounting storage is disabled']);
  assert.deepEqual(r.asked, ['scontrol show job -o 211', 'sacct -X -P -n --format=JobID,JobName,State,ExitCode --jobs=211', 'sacct -c -X -P -n --format=JobID,JobName,State,ExitCode --jobs=211']);
  assert.deepEqual(jobExit(end.job), { code: 7, signal: null, error: null });
});

test('scontrol still knows it: one call; accounting on: sacct answers, -c not asked', async () => {
  const sc = recorded({ 'scontrol show': (a) => outcome(a, 0, 'JobId=211 JobName=reaper-fx-0-exit7 JobState=FAILED ExitCode=7:0\n') });
  const a = await readJobEnd(EXIT7, { deadlineMs: 30_000 }, sc.run);
  assert.equal(a.source, 'scontrol');
  assert.equal(sc.asked.length, 1);
  const sa = recorded({ 'scontrol show': (x) => outcome(x, 1, '', SCONTROL_GONE), 'sacct -X': (x) => outcome(x, 0, '211|reaper-fx-0-exit7|FAILED|7:0\n') });
  const b = await readJobEnd(EXIT7, { deadlineMs: 30_000 }, sa.run);
  assert.equal(b.source, 'sacct');
  assert.equal(sa.asked.length, 2);
});

test('scontrol knows a job 211 of another name (id reused): not taken, the record of this one is looked for', async () => {
  const r = recorded({
    'scontrol show': (a) => outcome(a, 0, 'JobId=211 JobName=someone-else JobState=COMPLETED ExitCode=0:0\n'),
    'sacct -X': (a) => outcome(a, 1, '', SACCT_OFF),
    'sacct -c': (a) => outcome(a, 0, JOBCOMP),
  });
  const end = await readJobEnd(EXIT7, { deadlineMs: 30_000 }, r.run);
  assert.equal(end.source, 'jobcomp');
  assert.equal(end.tried[0], 'scontrol: no record of job 211 named reaper-fx-0-exit7');
});

test('every source fails: unknown (code and signal null), each failure said; a spent deadline asks nothing more', async () => {
  const r = recorded({
    'scontrol show': (a) => outcome(a, 1, '', SCONTROL_GONE),
    'sacct -X': (a) => outcome(a, 1, '', SACCT_OFF),
    'sacct -c': (a) => outcome(a, 0, ''),
  });
  const end = await readJobEnd(EXIT7, { deadlineMs: 30_000 }, r.run);
  assert.equal(end.job, null);
  assert.equal(end.tried.length, 3);
  assert.equal(end.tried[2], 'sacct -c: no record of job 211 named reaper-fx-0-exit7');
  assert.deepEqual(jobExit(end.job), { code: null, signal: null, error: null });
  const none = recorded({});
  const late = await readJobEnd(EXIT7, { deadlineMs: 50 }, none.run);
  assert.equal(late.job, null);
  assert.deepEqual(none.asked, []);
  assert.deepEqual(late.tried, ['scontrol: not asked (deadline)', 'sacct: not asked (deadline)', 'sacct: not asked (deadline)']);
});
