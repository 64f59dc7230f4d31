/**
 * `reaper run --backend slurm` on the real Slurm lab (test/lab/, `npm run lab:start`): a batch
 * end to end, a stage timeout, and the chaos batch for every interruption (stage timeouts,
 * SIGINT, SIGTERM, SIGHUP, SIGKILL of the launcher). After each: no job of the run left in
 * squeue, no process of the run in /proc. Skips with the reason when the lab
 * is not up. Every job a test submits is scancelled by name in its after hook.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { AuditRecord } from '../../src/actions/audit.js';
import { parseSqueueText, squeueArgs } from '../../src/slurm/index.js';
import { CLI, describePids, EXAMPLES, killGuardianOf, markerPids, readJournalFile, startCli, tempState, type CliRun, type JsonEvent } from '../helpers/launch-run.js';
import { slurmLab } from '../helpers/slurm-lab.js';
import { waitFor } from '../helpers/wait-for.js';

const check = await slurmLab();
const lab = check.lab;
const hasPython = spawnSync('python3', ['-c', 'import sys'], { stdio: 'ignore' }).status === 0;
const skip = check.why ?? (hasPython ? false : 'python3 not found');

/** The jobs of a run in squeue (all states), by the names reaper gives them. */
function runJobs(runId: string, names: readonly string[]): Array<{ id: string; state: string; cls: string }> {
  const r = spawnSync('squeue', [...squeueArgs({}), `--name=${names.map((n) => `reaper-${runId}-${n}`).join(',')}`], { env: lab!.env, encoding: 'utf8', timeout: 15_000 });
  return parseSqueueText(r.stdout).jobs.map((j) => ({ id: j.jobId, state: j.state, cls: j.stateClass }));
}
const activeJobs = (runId: string, names: readonly string[]): string[] => runJobs(runId, names).filter((j) => j.cls !== 'done').map((j) => `${j.id} ${j.state}`);

/**
 * The audit log of the run's user: every scancel of these jobs is an entry (intent, then outcome,
 * same id) asked as `asked` says, naming the run; the last one of each job says gone.
 */
function jobsAudited(state: string, runId: string, jobIds: readonly string[], asked: RegExp): void {
  const records = readFileSync(path.join(state, 'reaper', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord).filter((r) => r.job !== undefined);
  assert.deepEqual([...new Set(records.map((r) => r.job))].sort(), [...jobIds].sort(), JSON.stringify(records));
  for (const id of jobIds) {
    const mine = records.filter((r) => r.job === id);
    const intents = mine.filter((r) => r.phase === 'intent');
    const outcomes = mine.filter((r) => r.phase === 'outcome');
    assert.ok(intents.length > 0 && intents.every((i) => outcomes.some((o) => o.id === i.id)), `job ${id}: each intent has its outcome: ${JSON.stringify(mine)}`);
    for (const r of mine) {
      assert.match(r.asked, asked);
      assert.equal(r.run, runId);
      assert.equal(r.pid, null);
      assert.match(r.via ?? '', /^scancel/);
    }
    assert.equal(outcomes.at(-1)!.outcome, 'gone', JSON.stringify(mine));
  }
}

function scancelRun(runId: string | null, names: readonly string[]): void {
  if (!runId || !lab) return;
  for (const n of names) spawnSync('scancel', ['--full', '--signal=KILL', `--name=reaper-${runId}-${n}`], { env: lab.env, timeout: 15_000 });
  for (const n of names) spawnSync('scancel', [`--name=reaper-${runId}-${n}`], { env: lab.env, timeout: 15_000 });
}

interface Case {
  state: string;
  dir: string;
  file: string;
  run: CliRun | null;
  runId: string | null;
}

function setup(batch: string): Case {
  const state = tempState();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'reaper-slurm-'));
  symlinkSync(path.join(EXAMPLES, 'demo'), path.join(dir, 'demo'));
  const file = path.join(dir, 'batch.yaml');
  writeFileSync(file, batch, { mode: 0o644 });
  return { state, dir, file, run: null, runId: null };
}

function start(c: Case, extra: string[] = []): CliRun {
  c.run = startCli(['run', c.file, '--backend', 'slurm', '--json', ...extra], { env: { ...lab!.env, XDG_STATE_HOME: c.state, HOME: c.state, DEMO_SECONDS: '0.5' }, cwd: c.dir });
  return c.run;
}

function cleanup(c: Case, names: readonly string[]): void {
  if (c.run) {
    try {
      process.kill(-c.run.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  scancelRun(c.runId, names);
  if (c.runId) killGuardianOf(c.state, c.runId);
  rmSync(c.state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  rmSync(c.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
}

/** Nothing of the run may be left: no job in squeue, no marked process in /proc. */
async function nothingLeft(runId: string, names: readonly string[], timeoutMs: number): Promise<void> {
  await waitFor(() => activeJobs(runId, names).length === 0 && markerPids(runId, { escapee: false }).length === 0, {
    timeoutMs,
    intervalMs: 200,
    what: `no job of run ${runId} in squeue and no marked process (jobs: ${activeJobs(runId, names).join(', ')}; pids: ${describePids(markerPids(runId, { escapee: false }))})`,
  }).catch((e: Error) => {
    throw new Error(`${e.message}; jobs now: ${activeJobs(runId, names).join(', ') || 'none'}; pids now: ${describePids(markerPids(runId, { escapee: false })) || 'none'}`);
  });
}

const DEMO2 = `name: demo-slurm
backend: local
gpus: 2
grace: 2s
tasks:
  - { ckpt: ckpts/epoch10.pt }
  - { ckpt: ckpts/epoch20.pt }
stages:
  sample:
    cmd: [python3, demo/sample_diffusion.py, --ckpt, "{ckpt}", --out, "{out}/samples.pt", --behave, ok]
    timeout: 60s
  evaluate:
    cmd: [python3, demo/evaluate_pt_with_correct_reconstruct.py, --samples, "{out}/samples.pt", --behave, ok]
    timeout: 60s
    after: sample
`;
const DEMO_NAMES = ['0-sample', '1-sample', '0-evaluate', '1-evaluate'];

const HANG = (timeout: string): string => `name: hang-slurm
backend: slurm
gpus: 2
grace: 1s
tasks: [{}, {}]
stages:
  hang:
    cmd: [python3, -c, "import time; print('up', flush=True); time.sleep(600)"]
    timeout: ${timeout}
`;
const HANG_NAMES = ['0-hang', '1-hang'];

describe('reaper run --backend slurm (Slurm lab)', { skip }, () => {
  it('runs two tasks of sample → evaluate as Slurm jobs end to end; show explains it', { timeout: 120_000 }, async (t) => {
    const c = setup(DEMO2);
    t.after(() => cleanup(c, DEMO_NAMES));
    const t0 = Date.now();
    const run = start(c);
    c.runId = String((await run.waitEvent((e) => e.ev === 'run-start', 20_000, 'run-start')).run);
    const ex = await run.exit;
    const took = Date.now() - t0;
    assert.equal(ex.code, 0, `${run.stdout.slice(-2000)}\n${run.stderr}`);
    const summary = run.events.find((e) => e.ev === 'summary')!;
    assert.equal(summary.survivors, 0);
    assert.deepEqual((summary.tasks as Array<{ status: string }>).map((x) => x.status), ['succeeded', 'succeeded']);
    const journal = readJournalFile(c.state, c.runId);
    assert.equal(journal.find((e) => e.ev === 'run-start')!.backend, 'slurm');
    const starts = journal.filter((e): e is JsonEvent & { job: { id: string; name: string } } => e.ev === 'task-start');
    assert.equal(starts.length, 4);
    for (const s of starts) {
      assert.match(s.job.id, /^\d+$/);
      assert.equal(s.job.name, `reaper-${c.runId}-${String(s.task)}-${String(s.stage)}`);
    }
    // Slurm itself says they completed.
    const jobs = runJobs(c.runId, DEMO_NAMES);
    assert.deepEqual(jobs.map((j) => j.state).sort(), ['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED']);
    const show = spawnSync(process.execPath, [CLI, 'show', 'last'], { env: { ...process.env, ...lab!.env, XDG_STATE_HOME: c.state, HOME: c.state }, encoding: 'utf8' });
    assert.equal(show.status, 0, show.stderr);
    assert.match(show.stdout, /finished, exit 0; tasks 2 ok/);
    assert.match(show.stdout, /sample\s+succeeded\s+exit 0/);
    assert.match(show.stdout, /evaluate\s+succeeded\s+exit 0/);
    t.diagnostic(`4 jobs end to end in ${took} ms`);
  });

  it('a stage past its timeout is scancelled: nothing of it in squeue or /proc', { timeout: 120_000 }, async (t) => {
    const c = setup(HANG('2s'));
    t.after(() => cleanup(c, HANG_NAMES));
    const run = start(c);
    c.runId = String((await run.waitEvent((e) => e.ev === 'run-start', 20_000, 'run-start')).run);
    const ex = await run.exit;
    assert.equal(ex.code, 1, run.stderr);
    const tasks = run.events.find((e) => e.ev === 'summary')!.tasks as Array<{ status: string; detail: string }>;
    assert.deepEqual(tasks.map((x) => x.detail), ['timeout 2s', 'timeout 2s']);
    // The launcher confirmed it before exiting: right now, nothing is left.
    assert.deepEqual(activeJobs(c.runId, HANG_NAMES), []);
    assert.deepEqual(markerPids(c.runId, { escapee: false }), []);
    assert.deepEqual(runJobs(c.runId, HANG_NAMES).map((j) => j.state), ['CANCELLED', 'CANCELLED']);
    // The launcher's teardown of each timed-out stage is in the audit log, per job.
    jobsAudited(c.state, c.runId, runJobs(c.runId, HANG_NAMES).map((j) => j.id), new RegExp(`^teardown of run ${c.runId} task [01] hang: `));
  });

  it('a partition Slurm does not know: the stage fails with sbatch\'s reason, classified; nothing submitted', { timeout: 60_000 }, async (t) => {
    const c = setup(HANG('1m').replace('grace: 1s', 'grace: 1s\nslurm: { partition: nosuchpart }'));
    t.after(() => cleanup(c, HANG_NAMES));
    const run = start(c);
    c.runId = String((await run.waitEvent((e) => e.ev === 'run-start', 20_000, 'run-start')).run);
    const ex = await run.exit;
    assert.equal(ex.code, 1, run.stderr);
    const tasks = run.events.find((e) => e.ev === 'summary')!.tasks as Array<{ detail: string }>;
    for (const x of tasks) assert.match(x.detail, /^cannot submit: sbatch: invalid partition "nosuchpart"/);
    assert.deepEqual(runJobs(c.runId, HANG_NAMES), []);
  });

  it('retries and the stuck watch work on Slurm as on local (a retry is a new job; a stopped process is seen in /proc)', { timeout: 120_000 }, async (t) => {
    const c = setup(`name: retry-stuck
backend: slurm
gpus: 2
grace: 1s
stuck: { after: 2s, action: fail }
tasks: [{ mode: sigstop }, { mode: flaky }]
stages:
  s:
    cmd: [sh, -c, 'if [ "$0" = sigstop ]; then exec sh chaos/task.sh sigstop; fi; if [ -e "$1/tried" ]; then echo second; exit 0; fi; touch "$1/tried"; echo first; exit 3', "{mode}", "{out}"]
    timeout: 60s
    retries: 1
`);
    symlinkSync(path.join(EXAMPLES, 'chaos'), path.join(c.dir, 'chaos'));
    const names = ['0-s', '1-s'];
    t.after(() => cleanup(c, names));
    const run = start(c);
    c.runId = String((await run.waitEvent((e) => e.ev === 'run-start', 20_000, 'run-start')).run);
    const ex = await run.exit;
    assert.equal(ex.code, 1, run.stderr);
    const tasks = run.events.find((e) => e.ev === 'summary')!.tasks as Array<{ status: string; detail: string | null }>;
    assert.equal(tasks[1]!.status, 'succeeded');
    assert.equal(tasks[0]!.status, 'failed');
    assert.match(tasks[0]!.detail!, /^stuck: pid \d+ stopped \(T\)/);
    const journal = readJournalFile(c.state, c.runId);
    const flaky = journal.filter((e) => e.ev === 'task-start' && e.task === 1) as Array<JsonEvent & { job: { id: string } }>;
    assert.equal(flaky.length, 2, 'two attempts');
    assert.notEqual(flaky[0]!.job.id, flaky[1]!.job.id, 'each attempt is a job of its own');
    assert.ok(journal.some((e) => e.ev === 'task-stuck' && e.task === 0 && e.state === 'T'));
    // The retry appended to the same log.
    const out = readFileSync(String(flaky[0]!.stdout), 'utf8');
    assert.match(out, /first\n[\s\S]*second\n/);
    assert.deepEqual(activeJobs(c.runId, names), []);
    assert.deepEqual(markerPids(c.runId), []);
  });

  // The whole chaos batch (examples/chaos.yaml: hang, self-SIGSTOP, TERM ignored, forking,
  // setsid + double-fork and env -i escapees, exit 3, ok → evaluate) on Slurm, for every way a
  // run ends early. `gpus: 2`: two tasks are submitted at a time, the escapees' and the
  // TERM-ignoring one first, and the lab node's 2 CPUs run both (with all seven submitted at once,
  // Slurm ran whichever sbatch answered first, and the TERM-ignoring task could wait behind a
  // hang for its whole timeout). Slurm's cgroup holds every process, the env -i escapee (no
  // REAPER_RUN) included.
  const CHAOS_TASKS = ['escape', 'ignore-term', 'hang', 'sigstop', 'fork', 'fail', 'ok'];
  const CHAOS_NAMES = [...CHAOS_TASKS.map((_, i) => `${i}-sample`), ...CHAOS_TASKS.map((_, i) => `${i}-evaluate`)];
  const chaos = (timeout: string): string => `name: chaos-slurm
gpus: 2
grace: 1s
slurm: { gres: none }
stuck: { after: 60s, action: warn }
env: { CHAOS_TOKEN: "{run}" }
tasks: [${CHAOS_TASKS.map((m) => `{ mode: ${m} }`).join(', ')}]
stages:
  sample:
    cmd: [sh, chaos/task.sh, "{mode}"]
    timeout: ${timeout}
  evaluate:
    cmd: [sh, chaos/task.sh, ok]
    after: sample
    timeout: 60s
`;
  const EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  for (const how of ['timeout', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGKILL'] as const) {
    it(`chaos batch + ${how === 'timeout' ? 'stage timeouts' : `${how} to the launcher`}: no job in squeue, no process of the run (escapees included), the journal says what happened`, { timeout: 180_000 }, async (t) => {
      const c = setup(chaos(how === 'timeout' ? '6s' : '10m'));
      symlinkSync(path.join(EXAMPLES, 'chaos'), path.join(c.dir, 'chaos'));
      t.after(() => cleanup(c, CHAOS_NAMES));
      const run = start(c);
      c.runId = String((await run.waitEvent((e) => e.ev === 'run-start', 20_000, 'run-start')).run);
      const id = c.runId;
      // The escapees (the env -i one has only CHAOS_ESCAPEE) and the TERM-ignorer run; the rest pend.
      // (With 6 s timeouts the run may be over before a poll sees it: there, the task's log says it ran.)
      if (how !== 'timeout') await waitFor(() => runJobs(id, ['0-sample', '1-sample']).filter((j) => j.state === 'RUNNING').length === 2 && markerPids(id, { marker: false }).length > 0, { timeoutMs: 60_000, intervalMs: 200, what: 'escape and ignore-term running, the env -i escapee out' }).catch((e: Error) => {
        const q = spawnSync('squeue', ['-h', '-o', '%i %j %T %r %u'], { env: lab!.env, encoding: 'utf8', timeout: 15_000 }).stdout;
        throw new Error(`${e.message}; this run's jobs: ${JSON.stringify(runJobs(id, CHAOS_NAMES))}; escapee pids: ${markerPids(id, { marker: false }).length}; queue: ${q}`);
      });
      const t0 = Date.now();
      if (how !== 'timeout') process.kill(run.pid, how);
      const ex = await run.exit;
      if (how === 'timeout') assert.equal(ex.code, 1, run.stderr.slice(-500));
      else if (how === 'SIGKILL') assert.equal(ex.signal, 'SIGKILL');
      else assert.equal(ex.code, EXIT[how], run.stderr.slice(-500));
      await nothingLeft(id, CHAOS_NAMES, how === 'SIGKILL' ? 40_000 : 15_000);
      assert.deepEqual(markerPids(id), [], `escapees: ${describePids(markerPids(id))}`);
      let journal = readJournalFile(c.state, id);
      await waitFor(() => (journal = readJournalFile(c.state, id)).some((e) => e.ev === 'run-end'), { timeoutMs: 30_000, intervalMs: 200, what: 'the end record' });
      const end = journal.find((e) => e.ev === 'run-end')!;
      assert.equal(end.survivors, 0, JSON.stringify(end));
      const ends = journal.filter((e) => e.ev === 'task-end');
      if (how === 'timeout') {
        assert.equal(end.state, 'failed');
        const sample = (task: number): JsonEvent | undefined => ends.find((e) => e.task === task && e.stage === 'sample');
        for (const task of [0, 1, 2, 3, 4]) assert.equal(sample(task)?.reason, 'timeout', `task ${task} (${CHAOS_TASKS[task]}): ${JSON.stringify(sample(task))}`);
        assert.equal(sample(5)?.code, 3, 'fail exits 3');
        assert.equal(sample(6)?.status, 'succeeded');
        assert.ok(ends.some((e) => e.task === 6 && e.stage === 'evaluate' && e.status === 'succeeded'), 'ok went on to evaluate');
        assert.ok(journal.some((e) => e.ev === 'task-skip' && e.task === 5), 'evaluate of the failed task skipped');
        const escapeLog = String(journal.find((e) => e.ev === 'task-start' && e.task === 0)!.stdout);
        assert.match(readFileSync(escapeLog, 'utf8'), /chaos escape: pid/, 'the escape task ran');
      } else if (how === 'SIGKILL') {
        assert.equal(end.by, 'guardian');
        assert.equal(end.state, 'crashed');
        // The guardian's scancels are in the run user's audit log: the two running jobs among them.
        const guardian = new RegExp(`^guardian of run ${id}: launcher ${run.pid} died$`);
        const records = readFileSync(path.join(c.state, 'reaper', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord).filter((r) => r.job !== undefined && guardian.test(r.asked));
        for (const j of runJobs(id, ['0-sample', '1-sample'])) {
          const mine = records.filter((r) => r.job === j.id);
          assert.deepEqual(mine.map((r) => r.phase), ['intent', 'outcome'], `job ${j.id}: ${JSON.stringify(records)}`);
          assert.equal(mine[1]!.outcome, 'gone', JSON.stringify(mine));
          assert.equal(mine[1]!.run, id);
        }
      } else {
        assert.equal(end.by, 'launcher');
        assert.equal(end.state, 'interrupted', JSON.stringify(end));
        assert.ok(journal.some((e) => e.ev === 'signal' && e.signal === how), 'the signal is recorded');
        // The stages that had a job (running or pending) end cancelled.
        assert.ok(ends.filter((e) => e.status === 'cancelled').length >= 2, JSON.stringify(ends));
      }
      t.diagnostic(`${how}: nothing of the run left ${Date.now() - t0} ms after ${how === 'timeout' ? 'the first timeout could fire' : 'the signal'} (KillWait ${lab!.killWaitS} s for the TERM-ignoring task)`);
    });
  }

  it('SIGINT while a job is PENDING: the pending job is scancelled too (never left to start later) and audited', { timeout: 120_000 }, async (t) => {
    // Two tasks of 2 CPUs each on the lab's 2-CPU node: one runs, the other pends (Resources).
    const names = ['0-hang', '1-hang'];
    const c = setup(`name: pending-slurm
gpus: 2
grace: 1s
slurm: { gres: none, cpus: 2 }
tasks: [{}, {}]
stages:
  hang:
    cmd: [python3, -c, "import time; print('up', flush=True); time.sleep(600)"]
    timeout: 10m
`);
    t.after(() => cleanup(c, names));
    const run = start(c);
    c.runId = String((await run.waitEvent((e) => e.ev === 'run-start', 20_000, 'run-start')).run);
    const id = c.runId;
    const jobs = await waitFor(() => {
      const js = runJobs(id, names);
      return js.length === 2 && js.some((j) => j.state === 'RUNNING') && js.some((j) => j.state === 'PENDING') ? js : null;
    }, { timeoutMs: 60_000, intervalMs: 200, what: `one job running and one pending (now: ${JSON.stringify(runJobs(id, names))})` });
    process.kill(run.pid, 'SIGINT');
    const ex = await run.exit;
    assert.equal(ex.code, 130, run.stderr.slice(-500));
    await nothingLeft(id, names, 15_000);
    // Cancelled, not merely not yet started: squeue does not list it any more, in any state.
    assert.deepEqual(runJobs(id, names).filter((j) => j.state === 'PENDING'), []);
    const journal = readJournalFile(c.state, id);
    const end = journal.find((e) => e.ev === 'run-end');
    assert.equal(end?.state, 'interrupted', JSON.stringify(end));
    assert.deepEqual(journal.filter((e) => e.ev === 'task-end').map((e) => e.status).sort(), ['cancelled', 'cancelled'], JSON.stringify(journal.filter((e) => e.ev === 'task-end')));
    jobsAudited(c.state, id, jobs.map((j) => j.id), new RegExp(`^teardown of run ${id}`));
  });

  it('reaper run --backend slurm -- CMD: the command is one job; its exit code is the run\'s, its output in the log', { timeout: 60_000 }, async (t) => {
    const c = setup(HANG('1m'));
    t.after(() => cleanup(c, ['0-driver']));
    const r = spawnSync(process.execPath, [CLI, 'run', '--backend', 'slurm', '--', 'sh', '-c', 'echo "in job $SLURM_JOB_ID"; exit 7'], { env: { ...process.env, ...lab!.env, XDG_STATE_HOME: c.state, HOME: c.state }, cwd: c.dir, encoding: 'utf8', timeout: 50_000 });
    assert.equal(r.status, 7, r.stderr);
    assert.match(r.stderr, /^reaper: run (\S+): driver Slurm job (\d+) started/m);
    const [, id, job] = /^reaper: run (\S+): driver Slurm job (\d+) started/m.exec(r.stderr)!;
    c.runId = id!;
    const log = readFileSync(path.join(c.state, 'reaper', 'runs', id!, 'logs', 'task0.driver.stdout.log'), 'utf8');
    assert.equal(log, `in job ${job}\n`);
    assert.deepEqual(activeJobs(id!, ['0-driver']), []);
  });

  it('launcher and guardian both gone: reaper stop RUN scancels the jobs from the journal', { timeout: 120_000 }, async (t) => {
    const c = setup(HANG('10m'));
    t.after(() => cleanup(c, HANG_NAMES));
    const run = start(c);
    c.runId = String((await run.waitEvent((e) => e.ev === 'run-start', 20_000, 'run-start')).run);
    const id = c.runId;
    await waitFor(() => runJobs(id, HANG_NAMES).filter((j) => j.state === 'RUNNING').length === 2, { timeoutMs: 30_000, intervalMs: 200, what: 'both jobs running' });
    killGuardianOf(c.state, id);
    process.kill(run.pid, 'SIGKILL');
    await run.exit;
    // Nothing acted: the jobs still run.
    assert.equal(activeJobs(id, HANG_NAMES).length, 2);
    const stop = spawnSync(process.execPath, [CLI, 'stop', id], { env: { ...process.env, ...lab!.env, XDG_STATE_HOME: c.state, HOME: c.state }, encoding: 'utf8', timeout: 90_000 });
    assert.equal(stop.status, 0, stop.stdout + stop.stderr);
    assert.deepEqual(activeJobs(id, HANG_NAMES), []);
    await nothingLeft(id, HANG_NAMES, 10_000);
    const end = readJournalFile(c.state, id).find((e) => e.ev === 'run-end')!;
    assert.equal(end.by, 'stop');
    jobsAudited(c.state, id, runJobs(id, HANG_NAMES).map((j) => j.id), new RegExp(`^stop ${id}$`));
  });
});
