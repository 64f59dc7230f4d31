/**
 * Seeing a Slurm run on the real lab (test/lab/, `npm run lab:start`): `reaper ls --json` lists
 * its jobs (RUNNING on the node with elapsed and the job's processes, PENDING with Slurm's
 * reason), the text shows the job's process tree under it; with launcher AND guardian killed
 * (SIGKILL, this test's own processes) `ls`, `runs` and `show` flag "launcher gone, 2 jobs left:
 * reaper reap --run ID". Skips with the reason when the lab is not up. Every job is scancelled
 * by its name in the after hook.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CLI, killGuardianOf, readJournalFile, startCli, tempState, type CliRun } from '../helpers/launch-run.js';
import { slurmLab } from '../helpers/slurm-lab.js';
import { CLI_MAX_BUFFER, waitFor } from '../helpers/wait-for.js';

const check = await slurmLab();
const lab = check.lab;
const skip = check.why ?? (lab && lab.gpus < 4 ? `the lab has ${lab.gpus} GPUs; this test needs 4` : false);

// Two jobs of 3 GPUs each on the lab's 4: one runs, the other pends (Resources) behind it.
const BATCH = `name: view-slurm
backend: slurm
gpus: 2
grace: 1s
slurm: { gres: "gpu:3" }
tasks: [{}, {}]
stages:
  hang:
    cmd: [sh, -c, "sleep 600 & wait"]
    timeout: 10m
`;

interface LsJob { id: string; task: number; state: string | null; reason: string | null; nodes: string | null; elapsedSec: number | null; pids: number[]; active: boolean }
interface LsRunJson { id: string; backend: string; jobs: LsJob[]; jobsLeft: number | null; launcherGone: boolean; flag: string | null }

describe('a Slurm run in ls, runs and show (Slurm lab)', { skip }, () => {
  it('jobs with state, node, reason, elapsed and process tree; launcher and guardian gone → flagged with the jobs left', { timeout: 150_000 }, async (t) => {
    const state = tempState();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'reaper-slurm-view-'));
    const file = path.join(dir, 'batch.yaml');
    writeFileSync(file, BATCH, { mode: 0o644 });
    const env = { ...lab!.env, XDG_STATE_HOME: state, HOME: state, REAPER_RUN: '' };
    let run: CliRun | null = null;
    let runId: string | null = null;
    t.after(() => {
      if (run) {
        try {
          process.kill(-run.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      if (runId) {
        killGuardianOf(state, runId);
        for (const n of ['0-hang', '1-hang']) spawnSync('scancel', ['--full', '--signal=KILL', `--name=reaper-${runId}-${n}`], { env: lab!.env, timeout: 15_000 });
        for (const n of ['0-hang', '1-hang']) spawnSync('scancel', [`--name=reaper-${runId}-${n}`], { env: lab!.env, timeout: 15_000 });
      }
      rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    });
    const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { maxBuffer: CLI_MAX_BUFFER, env, encoding: 'utf8', timeout: 30_000 });
    const lsRun = (): LsRunJson | undefined => {
      const r = cli(['ls', '--gpus', 'none', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as { runs: LsRunJson[]; slurm: { error: string | null } };
      assert.equal(doc.slurm.error, null);
      return doc.runs.find((x) => x.id === runId);
    };

    run = startCli(['run', file, '--json'], { env, cwd: dir });
    runId = String((await run.waitEvent((e) => e.ev === 'run-start', 20_000, 'run-start')).run);
    await run.waitEvent((e) => e.ev === 'task-start' && e.task === 1, 30_000, 'both jobs submitted');

    // One job runs on the node with its processes here; the other pends with Slurm's reason.
    // (Other tests share the lab: both may pend for a while before one runs.)
    let seen: LsRunJson | undefined;
    await waitFor(
      () => {
        seen = lsRun();
        const jobs = seen?.jobs ?? [];
        return jobs.some((j) => j.state === 'RUNNING' && j.pids.length >= 2) && jobs.some((j) => j.state === 'PENDING');
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'one job RUNNING with its processes, one PENDING' },
    ).catch((e: Error) => {
      throw new Error(`${e.message}; jobs: ${JSON.stringify(seen?.jobs)}`);
    });
    const running = seen!.jobs.find((j) => j.state === 'RUNNING')!;
    const pending = seen!.jobs.find((j) => j.state === 'PENDING')!;
    assert.equal(seen!.backend, 'slurm');
    assert.equal(running.nodes, lab!.node);
    assert.equal(typeof running.elapsedSec, 'number');
    // The job's own processes: slurmstepd shares the step's devices/memory cgroups but is Slurm's.
    const comms = running.pids.map((p) => {
      try {
        return readFileSync(`/proc/${p}/comm`, 'utf8').trim();
      } catch {
        return '?';
      }
    });
    assert.ok(comms.includes('sleep') && !comms.some((c) => c.startsWith('slurmstepd')), comms.join(' '));
    assert.match(pending.reason ?? '', /^(Resources|Priority)$/);
    assert.equal(pending.nodes, null);
    assert.equal(seen!.jobsLeft, 2);
    assert.equal(seen!.flag, null, 'not flagged while the launcher lives');
    const journal = readJournalFile(state, runId);
    const ids = journal.filter((e) => e.ev === 'task-start').map((e) => (e.job as { id: string }).id).sort();
    assert.deepEqual(seen!.jobs.map((j) => j.id).sort(), ids);

    // The text: the job line and, under it, the job's process tree (the sleep under its sh).
    const text = cli(['ls', '--gpus', 'none']).stdout;
    assert.match(text, new RegExp(`\\n  job ${running.id} task ${running.task} hang: RUNNING on ${lab!.node}, [0-9:]+, \\d+ processes here\\n(?: +\\d+ .*\\n)*? +\\d+ \\S+ +[0-9:]+ +\\\\_ sleep 600\\n`));
    assert.match(text, new RegExp(`\\n  job ${pending.id} task ${pending.task} hang: PENDING \\(${pending.reason}\\)\\n`));

    // Guardian first (so it cannot scancel), then the launcher: both gone, the jobs stay.
    killGuardianOf(state, runId);
    process.kill(run.pid, 'SIGKILL');
    await run.exit;
    await waitFor(() => lsRun()?.launcherGone === true, { timeoutMs: 20_000, intervalMs: 300, what: 'ls sees the launcher gone' });
    const gone = lsRun()!;
    assert.equal(gone.jobsLeft, 2);
    const flag = `launcher gone, 2 jobs left: reaper reap --run ${runId}`;
    assert.equal(gone.flag, flag);
    assert.ok(cli(['ls', '--gpus', 'none']).stdout.includes(`: crashed, ${flag};`));
    const runs = cli(['runs']);
    assert.ok(runs.stdout.includes(`${runId}:  ${flag}`), runs.stdout);
    const show = cli(['show', runId]);
    assert.ok(show.stdout.includes(`  ${flag}\n`), show.stdout);
    assert.match(show.stdout, new RegExp(`Slurm job ${running.id}: RUNNING on ${lab!.node}`));
  });
});
