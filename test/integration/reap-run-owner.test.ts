/**
 * `reaper reap --run ID --all-users` as root: a process of another user that carries
 * REAPER_RUN=ID (anyone can set an environment variable) is not a member of the run, while the
 * run's own stage leaders are. The run's journal is trusted (a root-owned state folder), so the
 * run's user is known: membership needs that uid. Only a dry run: nothing is signalled.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CLI, cleanupRun, ensureTestUser, killGuardianOf, startCli, tempState, type CliRun } from '../helpers/launch-run.js';
import { CLI_MAX_BUFFER, waitFor } from '../helpers/wait-for.js';

const canSetpriv = spawnSync('setpriv', ['--version']).status === 0;
const skip = process.getuid?.() !== 0 ? 'needs root (a process of another user)' : !canSetpriv ? 'needs setpriv' : false;

const BATCH = `name: owner
gpus: all
concurrency: 2
grace: 1s
tasks: [{ n: a }, { n: b }]
stages:
  s:
    cmd: [sleep, "300"]
`;

function statusUid(pid: number): number | null {
  try {
    return Number(/\nUid:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return null;
  }
}

describe('reap --run: the run owner', { skip }, () => {
  it('another user\'s process with a forged REAPER_RUN=<run> is not planned by reap --run --all-users; the run\'s own members are', { timeout: 90_000 }, async (t) => {
    const user = ensureTestUser();
    if (!user) return t.skip('useradd failed');
    const state = tempState();
    const batch = path.join(state, 'owner.yaml');
    writeFileSync(batch, BATCH);
    const env = { XDG_STATE_HOME: state, HOME: state };
    let run: CliRun | null = null;
    let runId: string | null = null;
    let forged: number | null = null;
    t.after(() => {
      if (forged) {
        try {
          process.kill(forged, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      if (runId) killGuardianOf(state, runId);
      cleanupRun(run, runId);
      rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    });
    run = startCli(['run', batch, '--gpus', 'sim:1', '--json'], { env, cwd: state });
    runId = String((await run.waitEvent((e) => e.ev === 'run-start', 20_000, 'run-start')).run);
    await run.waitEvent((e) => e.ev === 'task-start' && e.task === 1, 20_000, 'both tasks started');
    const leaders = run.events.filter((e) => e.ev === 'task-start').map((e) => Number(e.pid));

    const child = spawn('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', 'sleep', '300'], { env: { ...process.env, REAPER_RUN: runId }, detached: true, stdio: 'ignore' });
    child.unref();
    forged = child.pid!;
    const f = forged;
    await waitFor(() => statusUid(f) === user.uid && readFileSync(`/proc/${f}/cmdline`, 'utf8').startsWith('sleep'), { timeoutMs: 10_000, intervalMs: 50, what: 'the forged process runs as the test user' });
    assert.match(readFileSync(`/proc/${f}/environ`, 'utf8'), new RegExp(`(^|\\0)REAPER_RUN=${runId}\\0`));

    const r = spawnSync(process.execPath, [CLI, 'reap', '--run', runId, '--all-users', '--dry-run', '--json', '--gpus', 'none'], { maxBuffer: CLI_MAX_BUFFER, env: { ...process.env, REAPER_RUN: '', ...env }, cwd: state, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const targets = (JSON.parse(r.stdout) as { plan: { targets: Array<{ pid: number; uid: number }> } }).plan.targets;
    const pids = targets.map((x) => x.pid);
    for (const l of leaders) assert.ok(pids.includes(l), `the run's stage leader ${l} is planned (${pids.join(',')})`);
    assert.ok(!pids.includes(f), `the forged process ${f} of uid ${user.uid} is planned: ${JSON.stringify(targets.find((x) => x.pid === f))}`);
    assert.ok(targets.every((x) => x.uid === 0), 'every target is the run owner\'s (root)');
    // Dry run: nothing was signalled.
    assert.equal(statusUid(f), user.uid);
  });
});
