/**
 * The Slurm lab really does what a Slurm executor will rely on: sbatch runs an argv with no shell
 * left over, exports REAPER_* into the job, hands out fake GPUs, answers squeue in our format
 * whatever the environment says, kills every escapee on scancel, cancels the dependent of a failed
 * job with --kill-on-invalid-dep, and puts each process in a cgroup that names its job.
 * Needs the lab (test/lab/start.sh, `npm run lab:start`); skipped with the reason otherwise.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cancelJobs,
  parseSqueueText,
  pingController,
  queryJobs,
  readSlurmCgroup,
  runSlurmCommand,
  squeueArgs,
  submitJob,
  type SlurmJob,
} from '../../src/slurm/index.js';
import { labScripts, slurmLab, type SlurmLab } from '../helpers/slurm-lab.js';
import { waitFor } from '../helpers/wait-for.js';

const check = await slurmLab();
const skip = check.why ?? false;
const tag = `t${process.pid}x${Date.now().toString(36)}`;
const work = mkdtempSync(join(tmpdir(), 'reaper-slurm-lab-'));
const submitted: string[] = [];

function lab(): SlurmLab {
  if (!check.lab) throw new Error(check.why);
  return check.lab;
}

async function sbatch(args: readonly string[], extraEnv: Record<string, string> = {}): Promise<string> {
  const r = await submitJob(args, { deadlineMs: 30_000, env: { ...lab().env, ...extraEnv }, cwd: work });
  assert.equal(r.error, null, r.error?.message);
  submitted.push(r.jobId!);
  return r.jobId!;
}

async function job(id: string): Promise<SlurmJob | null> {
  const r = await queryJobs([id], { deadlineMs: 15_000, env: lab().env });
  assert.equal(r.error, null, r.error?.message);
  assert.deepEqual(r.bad, []);
  return r.jobs.find((j) => j.jobId === id) ?? null;
}

const stateIs = (id: string, ...states: string[]) => async () => {
  const j = await job(id);
  return j && states.includes(j.state) ? j : null;
};

async function scancel(...ids: string[]): Promise<void> {
  const err = await cancelJobs(ids, { deadlineMs: 15_000, env: lab().env });
  assert.equal(err, null, err?.message);
}

/**
 * Live processes whose argv[0] starts with lab-esc-<t>- (zombies have no cmdline). `t` is this
 * file's unique tag plus a letter per test; the cleanup passes the bare tag with no dash.
 */
function escapees(t: string, prefix = `lab-esc-${t}-`): Array<{ pid: number; kind: string }> {
  const out: Array<{ pid: number; kind: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv0: string;
    try {
      argv0 = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0')[0]!;
    } catch {
      continue;
    }
    if (argv0.startsWith(prefix)) out.push({ pid: Number(name), kind: argv0.slice(prefix.length) });
  }
  return out;
}

/** Payload: prints its argv, pid, parent and a few env vars as JSON, then waits to be inspected. */
const REPORT = [
  'import json, os, sys, time',
  'e = os.environ',
  'print(json.dumps({"argv": sys.argv[1:], "pid": os.getpid(), "ppid": os.getppid(),',
  '  "cuda": e.get("CUDA_VISIBLE_DEVICES"), "job": e.get("SLURM_JOB_ID")}), flush=True)',
  'time.sleep(float(e.get("LAB_HOLD", "300")))',
].join('\n');
interface Report { argv: string[]; pid: number; ppid: number; cuda: string | null; job: string | null }

async function report(out: string): Promise<Report> {
  const text = await waitFor(() => {
    try {
      return readFileSync(out, 'utf8').includes('\n') ? readFileSync(out, 'utf8') : null;
    } catch {
      return null;
    }
  }, { timeoutMs: 30_000, what: `job output in ${out}` });
  return JSON.parse(text.split('\n')[0]!) as Report;
}

const wrapper = join(labScripts, 'exec-argv.sh');

after(async () => {
  // Everything this file started, even when a test failed: its jobs, then any process it made.
  if (check.lab) await scancel(...submitted).catch(() => undefined);
  for (const e of escapees(tag, `lab-esc-${tag}`)) {
    try {
      process.kill(e.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
});

describe(`Slurm lab (${check.lab ? `Slurm ${check.lab.version}, node ${check.lab.node}` : 'absent'})`, { skip }, () => {
  it('scontrol ping says the controller is UP', async () => {
    assert.deepEqual(await pingController({ deadlineMs: 15_000, env: lab().env }), { up: true, error: null });
  });

  it('sbatch --parsable runs the argv as given, exec\'d: no shell left between Slurm and the program', async () => {
    const out = join(work, 'argv.out');
    const args = ['a b', '$HOME', '; echo no', "it's", '*', ''];
    const id = await sbatch(['-J', `reaper-${tag}-argv`, '-o', out, wrapper, 'python3', '-c', REPORT, ...args], { LAB_HOLD: '60' });
    const r = await report(out);
    assert.deepEqual(r.argv, args);
    assert.equal(r.job, id);
    // The batch script became python3 (exec), and its parent is Slurm's step daemon.
    assert.equal(readFileSync(`/proc/${r.pid}/comm`, 'utf8').trim(), 'python3');
    assert.equal(readFileSync(`/proc/${r.ppid}/comm`, 'utf8').trim(), 'slurmstepd');
    await scancel(id);
    await waitFor(stateIs(id, 'CANCELLED'), { timeoutMs: 20_000, what: `job ${id} cancelled` });
  });

  it('REAPER_* from the submitting environment are in the job\'s /proc/PID/environ; the cgroup names the job', async () => {
    const out = join(work, 'env.out');
    const mine = { REAPER_RUN: `run-${tag}`, REAPER_TASK: 'task 1', REAPER_STAGE: 'train' };
    const id = await sbatch(['--export=ALL', '-o', out, wrapper, 'python3', '-c', REPORT], mine);
    const r = await report(out);
    const environ = readFileSync(`/proc/${r.pid}/environ`, 'utf8').split('\0');
    for (const [k, v] of Object.entries(mine)) assert.ok(environ.includes(`${k}=${v}`), `${k} missing in the job`);
    assert.ok(environ.includes(`SLURM_JOB_ID=${id}`));
    assert.deepEqual(readSlurmCgroup(r.pid), { jobId: id, step: 'batch', uid: process.getuid?.() ?? null });
    assert.equal(readSlurmCgroup(process.pid), null, 'this test runner is in no job');
    await scancel(id);
  });

  it('--gres=gpu:1 sets CUDA_VISIBLE_DEVICES; no gres leaves it unset', async (t) => {
    if (lab().gpus < 1) return t.skip('the lab has no fake GPUs (LAB_GPUS=0)');
    const withGpu = join(work, 'gpu.out');
    const without = join(work, 'nogpu.out');
    const a = await sbatch(['--gres=gpu:1', '-o', withGpu, wrapper, 'python3', '-c', REPORT], { LAB_HOLD: '0' });
    const b = await sbatch(['-o', without, wrapper, 'python3', '-c', REPORT], { LAB_HOLD: '0' });
    assert.match((await report(withGpu)).cuda ?? 'unset', /^\d+$/);
    assert.equal((await report(without)).cuda, null);
    await waitFor(stateIs(a, 'COMPLETED'), { timeoutMs: 20_000, what: `job ${a} completed` });
    await waitFor(stateIs(b, 'COMPLETED'), { timeoutMs: 20_000, what: `job ${b} completed` });
  });

  it('squeue with an explicit format answers the same whatever SQUEUE_FORMAT / SQUEUE_STATES say', async () => {
    const id = await sbatch(['-o', '/dev/null', wrapper, 'sleep', '120']);
    await waitFor(stateIs(id, 'RUNNING'), { timeoutMs: 20_000, what: `job ${id} running` });
    const hostile = { ...lab().env, SQUEUE_FORMAT: '%j', SQUEUE_FORMAT2: 'name:30', SQUEUE_STATES: 'PENDING', SLURM_TIME_FORMAT: 'relative' };
    // Control: the raw client with that environment hides the running job (SQUEUE_STATES wins over -j).
    const raw = spawnSync('squeue', squeueArgs({ jobs: [id], allStates: false }), { env: hostile, encoding: 'utf8', timeout: 15_000 });
    assert.equal(parseSqueueText(raw.stdout).jobs.length, 0, `raw squeue printed ${raw.stdout}`);
    const o = await runSlurmCommand('squeue', squeueArgs({ jobs: [id], allStates: false }), { deadlineMs: 15_000, env: hostile });
    const parsed = parseSqueueText(o.stdout);
    assert.deepEqual(parsed.bad, []);
    assert.deepEqual(parsed.jobs.map((j) => [j.jobId, j.state, j.nodes]), [[id, 'RUNNING', lab().node]]);
    await scancel(id);
  });

  it('scancel removes the job and every escapee (setsid, double fork, daemon, TERM-ignorer) is gone from /proc', async () => {
    const t = `${tag}s`;
    const id = await sbatch(['-J', `reaper-${tag}-esc`, '-o', join(work, 'esc.out'), join(labScripts, 'escapees.sh'), t]);
    const kinds = ['child', 'setsid', 'doublefork', 'ignoreterm', 'daemon'];
    const found = await waitFor(() => (escapees(t).length >= kinds.length ? escapees(t) : null), { timeoutMs: 30_000, what: 'all escapees running' });
    assert.deepEqual(found.map((e) => e.kind).sort(), [...kinds].sort());
    // Each one, the double-forked and the daemonised too, is still in the job's cgroup.
    for (const e of found) assert.equal(readSlurmCgroup(e.pid)?.jobId, id, `${e.kind} (${e.pid}) is outside job ${id}`);
    await scancel(id);
    // TERM ends the batch script, and when the step's main process is gone Slurm SIGKILLs the
    // rest of the cgroup at once (measured: ~20 ms here); KillWait only matters when the main
    // process itself ignores TERM. The deadline allows that and some load.
    await waitFor(() => escapees(t).length === 0, { timeoutMs: (lab().killWaitS + 15) * 1000, what: `escapees gone (left: ${escapees(t).map((e) => e.kind)})` });
    const j = await waitFor(stateIs(id, 'CANCELLED'), { timeoutMs: 20_000, what: `job ${id} cancelled` });
    assert.equal(j.stateClass, 'done');
  });

  it('a job whose main process ignores SIGTERM is SIGKILLed after KillWait', async () => {
    const t = `${tag}k`;
    const id = await sbatch(['-o', '/dev/null', wrapper, 'bash', '-c', `trap '' TERM; exec -a lab-esc-${t}-main sleep 300`]);
    await waitFor(() => escapees(t).length === 1, { timeoutMs: 30_000, what: 'the TERM-ignoring job running' });
    const t0 = Date.now();
    await scancel(id);
    await waitFor(() => escapees(t).length === 0, { timeoutMs: (lab().killWaitS + 15) * 1000, what: 'the TERM-ignoring job gone' });
    const ms = Date.now() - t0;
    // What a stage timeout costs on Slurm when the task ignores TERM: KillWait (5 s in the lab, 30 s by default).
    assert.ok(ms >= (lab().killWaitS - 1) * 1000, `gone after ${ms} ms, before KillWait (${lab().killWaitS} s)`);
  });

  it('a job id Slurm does not know: squeue lists nothing, scancel says nothing (confirm, never trust scancel)', async () => {
    const r = await queryJobs(['999999'], { deadlineMs: 15_000, env: lab().env });
    assert.deepEqual([r.jobs, r.error], [[], null]);
    assert.equal(await cancelJobs(['999999'], { deadlineMs: 15_000, env: lab().env }), null);
  });

  it('--kill-on-invalid-dep=yes cancels the dependent of a failed job; without it the dependent pends forever', async () => {
    const parent = await sbatch(['-o', '/dev/null', wrapper, 'false']);
    await waitFor(stateIs(parent, 'FAILED'), { timeoutMs: 20_000, what: `job ${parent} failed` });
    const killed = await sbatch(['--kill-on-invalid-dep=yes', `--dependency=afterok:${parent}`, '-o', '/dev/null', wrapper, 'true']);
    const stuck = await sbatch(['--kill-on-invalid-dep=no', `--dependency=afterok:${parent}`, '-o', '/dev/null', wrapper, 'true']);
    const k = await waitFor(stateIs(killed, 'CANCELLED'), { timeoutMs: 20_000, what: `job ${killed} cancelled` });
    assert.equal(k.reason, 'DependencyNeverSatisfied');
    const s = await waitFor(async () => {
      const j = await job(stuck);
      return j?.reason === 'DependencyNeverSatisfied' ? j : null;
    }, { timeoutMs: 20_000, what: `job ${stuck} marked DependencyNeverSatisfied` });
    assert.equal(s.state, 'PENDING');
    await scancel(stuck);
  });
});
