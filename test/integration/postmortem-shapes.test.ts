/**
 * The two post-mortem shapes get the same reasons for the same roles: a Pool driver whose workers
 * subprocess.run sample_diffusion.py (each holding simulated GPU 0) is SIGKILLed
 *  1. in a terminal that stays open, while a subshell still leads the job's process group;
 *  2. started with nohup, then the SSH connection drops (the terminal hangs up).
 * Workers of the dead driver: orphaned + batch-pattern. GPU holders: + gpu-no-owner.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';
import { waitFor } from '../helpers/wait-for.js';
import { cleanup, FIXTURES, isGone, liveWithMarker, PYTHON, runCli, spawnFixture, startTimeOf, uniqueMarker } from '../helpers/reap-trees.js';

const hasBash = spawnSync('bash', ['--version']).status === 0;
const DRIVER = FIXTURES + 'postmortem/batch_sampleandeval_parallel.py';

function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

interface Roles {
  readonly driver: number;
  readonly workers: number[];
  readonly samples: number[];
}

/** The driver (parent is not a driver), its 2 pool workers, their 2 samples. */
async function roles(marker: string): Promise<Roles> {
  return waitFor(() => {
    const live = liveWithMarker(marker);
    const isDriverArgv = (pid: number) => argvOf(pid)[1] === DRIVER;
    const drivers = live.filter((p) => isDriverArgv(p.pid));
    const driver = drivers.find((p) => !isDriverArgv(p.ppid));
    const samples = live.filter((p) => argvOf(p.pid)[1]?.endsWith('/sample_diffusion.py'));
    if (!driver || samples.length < 2) return null;
    const workers = drivers.filter((p) => p.ppid === driver.pid);
    if (workers.length < 2 || !samples.every((s) => workers.some((w) => w.pid === s.ppid))) return null;
    return { driver: driver.pid, workers: workers.map((w) => w.pid), samples: samples.map((s) => s.pid) };
  }, { what: 'driver, 2 pool workers, 2 samples', timeoutMs: 30_000 });
}

async function killDriver(r: Roles, marker: string): Promise<void> {
  const st = startTimeOf(r.driver);
  process.kill(r.driver, 'SIGKILL');
  await waitFor(() => isGone(r.driver, st), { what: 'driver gone' });
  await waitFor(() => r.workers.every((w) => liveWithMarker(marker).find((p) => p.pid === w)?.ppid === 1), { what: 'workers adopted by init' });
}

async function codesOf(pids: number[]): Promise<Map<number, string[]>> {
  const ls = await runCli(['ls', '--json', '--gpus', 'sim:1']);
  assert.equal(ls.code, 0, ls.stderr);
  const doc = JSON.parse(ls.stdout) as { processes: Array<{ pid: number; gpus: unknown[]; leftover: { reasons: Array<{ code: string }> } | null }> };
  const out = new Map<number, string[]>();
  for (const pid of pids) {
    const row = doc.processes.find((p) => p.pid === pid);
    out.set(pid, row?.leftover?.reasons.map((r) => r.code) ?? []);
  }
  return out;
}

function assertRoles(shape: string, r: Roles, codes: Map<number, string[]>): void {
  for (const w of r.workers) assert.deepEqual(codes.get(w), ['orphaned', 'batch-pattern'], `${shape}: pool worker ${w}`);
  for (const s of r.samples) assert.deepEqual(codes.get(s), ['orphaned', 'gpu-no-owner', 'batch-pattern'], `${shape}: GPU-holding sample ${s}`);
}

it('driver SIGKILLed in a terminal that stays open (a subshell leads the group)', { skip: hasBash ? false : 'bash not installed' }, async (t) => {
  const marker = uniqueMarker();
  const f = await spawnFixture<{ shell: number }>([PYTHON, FIXTURES + 'pty_shell.py', `sh -c '${PYTHON} ${DRIVER} ${marker}; sleep 600; true' ${marker} &`]);
  const pgids = [f.pid, f.info.shell];
  t.after(() => cleanup({ pgids, pids: [f.info.shell, f.pid], marker }));
  const r = await roles(marker);
  const sub = liveWithMarker(marker).find((p) => argvOf(p.pid)[0] === 'sh')!;
  pgids.push(sub.pid);
  await killDriver(r, marker);
  const codes = await codesOf([...r.workers, ...r.samples, sub.pid, f.info.shell]);
  assertRoles('terminal open', r, codes);
  assert.deepEqual(codes.get(sub.pid), [], 'the live subshell is not a leftover');
  assert.deepEqual(codes.get(f.info.shell), [], 'the interactive shell is not a leftover');
});

it('nohup driver SIGKILLed after the SSH connection dropped', { skip: hasBash ? false : 'bash not installed' }, async (t) => {
  const marker = uniqueMarker();
  const f = await spawnFixture<{ shell: number }>([PYTHON, FIXTURES + 'pty_shell.py', `nohup ${PYTHON} ${DRIVER} ${marker} >/dev/null 2>&1 &`]);
  const shell = f.info.shell;
  t.after(() => cleanup({ pgids: [f.pid, shell], pids: [shell, f.pid], marker }));
  const r = await roles(marker);
  // The connection drops: the terminal's master closes, the login shell gets SIGHUP and exits.
  const shellStart = startTimeOf(shell);
  process.kill(f.pid, 'SIGKILL');
  await waitFor(() => isGone(shell, shellStart), { what: 'login shell gone after hangup' });
  await killDriver(r, marker);
  const codes = await codesOf([...r.workers, ...r.samples]);
  assertRoles('nohup + SSH drop', r, codes);
});
