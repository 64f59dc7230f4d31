/**
 * `reaper reap --run ID` on a Slurm run whose launcher and guardian are gone (both SIGKILLed by
 * the test), on the real Slurm lab (test/lab/, `npm run lab:start`): the dry run lists the jobs
 * and changes nothing; --yes leaves no job of the run in squeue and no process of it in /proc. A
 * job id planted in the journal that is not this run's (a job the test submits under another
 * name) is neither planned nor cancelled. Each scancelled job is in the audit log (one intent and
 * one outcome, found by `reaper log --run ID`). Skips with the reason when the lab is not up.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { AuditRecord } from '../../src/actions/audit.js';
import { parseSqueueText, readSlurmTaskCgroup, squeueArgs } from '../../src/slurm/index.js';
import { CLI, describePids, killGuardianOf, markerPids, readJournalFile, startCli, tempState, type CliRun } from '../helpers/launch-run.js';
import { slurmLab } from '../helpers/slurm-lab.js';
import { CLI_MAX_BUFFER, waitFor } from '../helpers/wait-for.js';

const check = await slurmLab();
const lab = check.lab;
const skip = check.why ?? false;

const HANG = `name: reap-slurm
backend: slurm
gpus: 2
grace: 1s
tasks: [{}, {}]
stages:
  hang:
    cmd: [sh, -c, "sleep 600 & sleep 600; wait"]
    timeout: 10m
`;
const NAMES = ['0-hang', '1-hang'];

function jobsByName(names: readonly string[]): Array<{ id: string; state: string; cls: string; nodes: string | null }> {
  const r = spawnSync('squeue', [...squeueArgs({}), `--name=${names.join(',')}`], { env: lab!.env, encoding: 'utf8', timeout: 15_000 });
  return parseSqueueText(r.stdout).jobs.map((j) => ({ id: j.jobId, state: j.state, cls: j.stateClass, nodes: j.nodes }));
}
const active = (names: readonly string[]): string[] => jobsByName(names).filter((j) => j.cls !== 'done').map((j) => `${j.id} ${j.state}`);

/** Pids on this node whose freezer cgroup is one of these jobs' steps (slurmstepd is not). */
function jobPids(ids: ReadonlySet<string>): number[] {
  const out: number[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    const place = readSlurmTaskCgroup(Number(n));
    if (place && ids.has(place.jobId) && place.step !== 'extern') out.push(Number(n));
  }
  return out;
}

function cli(args: string[], env: NodeJS.ProcessEnv): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { maxBuffer: CLI_MAX_BUFFER, env: { ...process.env, REAPER_RUN: '', ...lab!.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('reaper reap --run on a Slurm run (Slurm lab)', { skip }, () => {
  it('launcher and guardian SIGKILLed: --dry-run lists the jobs and changes nothing; --yes scancels them, nothing left in squeue or /proc; a foreign job id in the journal is left alone', { timeout: 180_000 }, async (t) => {
    const state = tempState();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'reaper-slurm-reap-'));
    const file = path.join(dir, 'batch.yaml');
    writeFileSync(file, HANG, { mode: 0o644 });
    const env = { XDG_STATE_HOME: state, HOME: state };
    const decoyName = `decoy-${path.basename(dir)}`;
    let run: CliRun | null = null;
    let runId: string | null = null;
    let decoy: string | null = null;
    t.after(() => {
      if (run) {
        try {
          process.kill(-run.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      // Only this test's own jobs, by their exact names.
      const names = [decoyName, ...(runId ? NAMES.map((n) => `reaper-${runId}-${n}`) : [])];
      for (const n of names) spawnSync('scancel', ['--full', '--signal=KILL', `--name=${n}`], { env: lab!.env, timeout: 15_000 });
      for (const n of names) spawnSync('scancel', [`--name=${n}`], { env: lab!.env, timeout: 15_000 });
      if (runId) killGuardianOf(state, runId);
      rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    });

    run = startCli(['run', file, '--backend', 'slurm', '--json'], { env: { ...lab!.env, ...env }, cwd: dir });
    runId = String((await run.waitEvent((e) => e.ev === 'run-start', 20_000, 'run-start')).run);
    const id = runId;
    const names = NAMES.map((n) => `reaper-${id}-${n}`);
    await waitFor(() => jobsByName(names).filter((j) => j.state === 'RUNNING').length === 2 && markerPids(id, { escapee: false }).length >= 4, { timeoutMs: 60_000, intervalMs: 200, what: 'both jobs running, their processes up' });
    const jobIds = jobsByName(names).map((j) => j.id).sort();

    // A job of the same user under another name, whose id the journal will claim for the run.
    const sub = spawnSync('sbatch', ['--parsable', `--job-name=${decoyName}`, '--output=/dev/null', `--chdir=${dir}`, '--wrap', 'sleep 600'], { env: lab!.env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(sub.status, 0, sub.stderr);
    decoy = sub.stdout.trim().split(';')[0]!;
    const decoyId = decoy;
    await waitFor(() => active([decoyName]).length === 1, { timeoutMs: 20_000, intervalMs: 200, what: 'the decoy job is queued' });

    killGuardianOf(state, id);
    process.kill(run.pid, 'SIGKILL');
    await run.exit;
    appendFileSync(
      path.join(state, 'reaper', 'runs', id, 'journal.jsonl'),
      JSON.stringify({ ev: 'task-start', t: Date.now(), task: 0, stage: 'hang', attempt: 2, gpu: '0', pid: 0, startTime: null, pgid: 0, cgroup: null, argv: [], stdout: '', stderr: '', job: { id: decoyId, name: `reaper-${id}-0-hang` } }) + '\n',
    );
    // Nobody acted: both jobs still run.
    assert.equal(active(names).length, 2);

    const dry = cli(['reap', '--run', id, '--dry-run', '--gpus', 'none'], env);
    assert.equal(dry.code, 0, dry.stderr);
    for (const n of NAMES) assert.match(dry.stdout, new RegExp(`slurm job \\d+ reaper-${id}-${n} RUNNING on ${lab!.node}`), dry.stdout);
    assert.ok(!new RegExp(`slurm job ${decoyId}\\b`).test(dry.stdout), `the decoy ${decoyId} is not planned:\n${dry.stdout}`);
    const dryJson = cli(['reap', '--run', id, '--dry-run', '--json', '--gpus', 'none'], env);
    assert.equal(dryJson.code, 0, dryJson.stderr);
    const plan = (JSON.parse(dryJson.stdout) as { plan: { jobs: Array<{ id: string; name: string; state: string; nodes: string }>; targets: Array<{ pid: number }> } }).plan;
    assert.deepEqual(plan.jobs.map((j) => j.id).sort(), jobIds);
    assert.ok(plan.jobs.every((j) => j.state === 'RUNNING' && j.nodes === lab!.node));
    // The processes inside the jobs on this node are part of the plan.
    for (const pid of jobPids(new Set(jobIds))) assert.ok(plan.targets.some((x) => x.pid === pid), `job process ${pid} planned`);
    // The dry runs changed nothing.
    assert.equal(active(names).length, 2);
    assert.equal(active([decoyName]).length, 1);

    const t0 = Date.now();
    const reap = cli(['reap', '--run', id, '--yes', '--gpus', 'none'], env);
    assert.equal(reap.code, 0, reap.stdout + reap.stderr);
    assert.match(reap.stdout, /result: Slurm jobs: 2 cancelled/);
    // Confirmed before it returned: nothing of the run in squeue, nothing in /proc.
    assert.deepEqual(active(names), []);
    assert.deepEqual(markerPids(id), [], describePids(markerPids(id)));
    assert.deepEqual(jobPids(new Set(jobIds)), []);
    assert.deepEqual(jobsByName(names).map((j) => j.state), ['CANCELLED', 'CANCELLED']);
    // The foreign job is untouched.
    assert.equal(active([decoyName]).length, 1, 'the decoy job still queued or running');
    const end = readJournalFile(state, id).find((e) => e.ev === 'run-end')!;
    assert.equal(end.by, 'reap');
    assert.equal(end.survivors, 0);
    t.diagnostic(`reap --yes: ${Date.now() - t0} ms`);

    // The audit log (the user's, in this test's state folder): one intent and one outcome per job,
    // no pid, the job's id and name, SIGTERM via scancel, gone; the decoy is not in it.
    const records = readFileSync(path.join(state, 'reaper', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    const jobRecords = records.filter((r) => r.job !== undefined);
    assert.deepEqual([...new Set(jobRecords.map((r) => r.job))].sort(), jobIds, JSON.stringify(jobRecords));
    for (const jobId of jobIds) {
      const mine = jobRecords.filter((r) => r.job === jobId);
      assert.deepEqual(mine.map((r) => r.phase), ['intent', 'outcome'], JSON.stringify(mine));
      assert.equal(mine[0]!.id, mine[1]!.id);
      const o = mine[1]!;
      assert.equal(o.pid, null);
      assert.equal(o.start, null);
      assert.equal(o.run, id);
      assert.match(o.asked, new RegExp(`^reap --run ${id}`));
      assert.match(o.cmd, new RegExp(`^reaper-${id}-\\d-hang$`));
      assert.equal(o.signal, 'SIGTERM');
      assert.equal(o.via, 'scancel');
      assert.equal(o.outcome, 'gone', JSON.stringify(o));
      assert.equal(o.owner.uid, process.getuid!());
    }
    const shown = cli(['log', '--run', id], env);
    assert.equal(shown.code, 0, shown.stderr);
    for (const jobId of jobIds) assert.match(shown.stdout, new RegExp(`\\bjob ${jobId}\\([^)]+\\) reaper-${id}-\\d-hang  SIGTERM \\(scancel\\)  gone`), shown.stdout);
    assert.ok(!shown.stdout.includes(`job ${decoyId}(`), shown.stdout);
  });
});
