/** --detach, `reaper stop`, `launchDetached` (the TUI's entry) and `reaper reap --run` after a crash. */
import assert from 'node:assert/strict';
import { CLI_MAX_BUFFER } from '../helpers/wait-for.js';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import { launchDetached, readRuns } from '../../src/launch/index.js';
import { takeSnapshot } from '../../src/probe/snapshot.js';
import { chaosBatch, CLI, cleanupRun, describePids, killGuardianOf, markerPids, readJournalFile, tempState } from '../helpers/launch-run.js';
import { waitFor } from '../helpers/wait-for.js';
import { isLive } from '../helpers/reap-trees.js';

function cli(args: string[], env: NodeJS.ProcessEnv, cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { maxBuffer: CLI_MAX_BUFFER,  cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function setup(t: TestContext): { state: string; batch: string; env: NodeJS.ProcessEnv; track(id: string): void } {
  const state = tempState();
  const batch = chaosBatch(state);
  const env: NodeJS.ProcessEnv = { XDG_STATE_HOME: state, HOME: state, REAPER_CONTAINMENT: '' };
  const ids: string[] = [];
  t.after(() => {
    for (const id of ids) {
      const start = readJournalFile(state, id).find((e) => e.ev === 'run-start');
      const l = start?.launcher as { pid: number } | undefined;
      if (l) {
        try {
          const st = readFileSync(`/proc/${l.pid}/cmdline`, 'utf8');
          if (st.includes(id)) process.kill(l.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      killGuardianOf(state, id);
      cleanupRun(null, id);
    }
    rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });
  return { state, batch, env, track: (id) => ids.push(id) };
}

/**
 * Waits until nothing of the run is left that its active layers guarantee to remove. The chaos
 * batch's `env -i` escapee drops the run marker: only the cgroup layer catches it (README, the
 * documented gap of marker-only containment), so without that layer it is not asserted (the
 * cleanup kills it by its own token).
 */
async function expectNothingLeft(t: TestContext, state: string, runId: string): Promise<void> {
  const start = readJournalFile(state, runId).find((e) => e.ev === 'run-start');
  const layers = (start?.layers ?? []) as { id: string; active: boolean }[];
  const cgroup = layers.some((l) => l.id === 'cgroup' && l.active);
  if (!cgroup) t.diagnostic('env -i escapee not asserted: the cgroup layer is not active for this run (marker-only containment cannot find it)');
  await waitFor(() => markerPids(runId, { escapee: cgroup }).length === 0, {
    timeoutMs: 15_000,
    what: `no survivors: ${describePids(markerPids(runId, { escapee: cgroup }))}`,
  });
}

const procSid = (pid: number): number => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[3]);
};

describe('detached runs', { concurrency: 1 }, () => {
  it('--detach returns with the run id; the run lives on in its own session; stop last tears it down', { timeout: 90_000 }, async (t) => {
    const { state, batch, env, track } = setup(t);
    const t0 = Date.now();
    const r = cli(['run', batch, '--gpus', 'sim:2', '--detach', '--json'], env, state);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout.trim().split('\n').pop()!) as { runId: string; launcherPid: number };
    track(info.runId);
    assert.ok(Date.now() - t0 < 20_000);
    assert.notEqual(procSid(info.launcherPid), procSid(process.pid), 'the launcher has its own session');
    await waitFor(() => markerPids(info.runId, { escapee: false }).length >= 10, { timeoutMs: 20_000, what: 'tasks running' });
    const runs = readRuns(`${state}/reaper`, await takeSnapshot());
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.live, true);
    assert.equal(runs[0]!.state, 'running');

    // `reaper ls` shows the detached run (JSON "runs", and a line after the forest).
    const ls = cli(['ls', '--json', '--gpus', 'none'], env, state);
    assert.equal(ls.code, 0, ls.stderr);
    const lsRuns = (JSON.parse(ls.stdout) as { runs: { id: string; live: boolean; processes: number }[] }).runs;
    const shown = lsRuns.find((x) => x.id === info.runId);
    assert.ok(shown && shown.live && shown.processes > 0, JSON.stringify(lsRuns));
    assert.match(cli(['ls', '--gpus', 'none'], env, state).stdout, new RegExp(`^run ${info.runId} \\S+: running; tasks`, 'm'));

    const s = cli(['stop', 'last'], env, state);
    assert.equal(s.code, 0, s.stdout + s.stderr);
    assert.match(s.stdout, /stopped \(by launcher\); processes left alive: 0/);
    await expectNothingLeft(t, state, info.runId);
    const end = readJournalFile(state, info.runId).find((e) => e.ev === 'run-end')!;
    assert.equal(end.by, 'launcher');
    assert.equal(end.state, 'interrupted');
    const after = readRuns(`${state}/reaper`, await takeSnapshot());
    assert.equal(after[0]!.live, false);
    const lsAfter = JSON.parse(cli(['ls', '--json', '--gpus', 'none'], env, state).stdout) as { runs: { id: string }[] };
    assert.ok(!lsAfter.runs.some((x) => x.id === info.runId), 'an ended run with nothing left is not listed');
    assert.equal(cli(['stop', info.runId], env, state).code, 0, 'stopping an ended run is a no-op');
  });

  it('stdout of --detach is the run id alone: reaper stop "$(reaper run --detach b.yaml)" works; hints go to stderr', { timeout: 90_000 }, async (t) => {
    const { state, batch, env, track } = setup(t);
    const r = cli(['run', batch, '--gpus', 'sim:2', '--detach'], env, state);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d{8}-\d{6}-[0-9a-f]{4}\n$/, `stdout is the id alone: ${JSON.stringify(r.stdout)}`);
    const runId = r.stdout.trim();
    track(runId);
    assert.match(r.stderr, /started detached/);
    assert.match(r.stderr, new RegExp(`stop: reaper stop ${runId}`));
    await waitFor(() => markerPids(runId, { escapee: false }).length >= 10, { timeoutMs: 20_000, what: 'tasks running' });
    const s = cli(['stop', runId], env, state);
    assert.equal(s.code, 0, s.stdout + s.stderr);
    await waitFor(() => markerPids(runId).length === 0, { timeoutMs: 15_000, what: `no survivors: ${describePids(markerPids(runId))}` });
    // the same in one shell line, as the README shows it
    const sh = spawnSync('sh', ['-c', `stop_out=$("$NODE" "$CLI" stop "$("$NODE" "$CLI" run "$BATCH" --gpus sim:1 --detach 2>/dev/null)") && echo "$stop_out"`], {
      cwd: state,
      env: { ...process.env, ...env, NODE: process.execPath, CLI, BATCH: batch },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const id2 = /run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(sh.stdout)?.[1];
    if (id2) track(id2);
    assert.equal(sh.status, 0, sh.stdout + sh.stderr);
    assert.match(sh.stdout, /stopped/);
  });

  it('launchDetached (the TUI entry) starts a run; stop works when the launcher was SIGKILLed and no guardian runs', { timeout: 90_000 }, async (t) => {
    const { state, batch, env, track } = setup(t);
    // No cgroup either: what an unprivileged user gets; the escapee is then the documented gap.
    const { runId } = await launchDetached(batch, { gpus: 'sim:2', env: { ...process.env, ...env }, containment: 'no-guardian,no-pdeathsig,no-pidns,no-cgroup' });
    track(runId);
    await waitFor(() => markerPids(runId, { escapee: false }).length >= 10, { timeoutMs: 20_000, what: 'tasks running' });
    const start = readJournalFile(state, runId).find((e) => e.ev === 'run-start')!;
    assert.equal(start.guardian, null);
    const launcher = (start.launcher as { pid: number }).pid;
    process.kill(launcher, 'SIGKILL');
    await waitFor(() => !isLive(launcher), { what: 'the launcher gone' });
    assert.ok(markerPids(runId, { escapee: false }).length > 0, 'without a guardian, the tasks outlive the launcher');
    const s = cli(['stop', runId, '--json'], env, state);
    assert.equal(s.code, 0, s.stdout + s.stderr);
    assert.equal((JSON.parse(s.stdout) as { by: string }).by, 'stop');
    await expectNothingLeft(t, state, runId);
    assert.equal(readJournalFile(state, runId).find((e) => e.ev === 'run-end')?.by, 'stop');
  });

  it('--containment pgroup-only: a SIGKILLed launcher leaves survivors, and `reaper reap --run ID` finds and removes them', { timeout: 90_000 }, async (t) => {
    const { state, batch, env, track } = setup(t);
    const r = cli(['run', batch, '--gpus', 'sim:2', '--detach', '--json', '--containment', 'pgroup-only'], env, state);
    assert.equal(r.code, 0, r.stderr);
    const { runId, launcherPid } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { runId: string; launcherPid: number };
    track(runId);
    await waitFor(() => markerPids(runId, { escapee: false }).length >= 10, { timeoutMs: 20_000, what: 'tasks running' });
    process.kill(launcherPid, 'SIGKILL');
    await waitFor(() => !isLive(launcherPid), { what: 'the launcher gone' });
    const survivors = markerPids(runId, { escapee: false });
    assert.ok(survivors.length >= 10, `survivors without containment layers: ${survivors.length}`);

    const dry = cli(['reap', '--run', runId, '--dry-run', '--json'], env, state);
    assert.equal(dry.code, 0, dry.stderr);
    const reap = cli(['reap', '--run', runId, '--yes', '--signal', 'kill'], env, state);
    assert.equal(reap.code, 0, reap.stdout + reap.stderr);
    await waitFor(() => markerPids(runId, { escapee: false }).length === 0, { timeoutMs: 15_000, what: `reap left: ${describePids(markerPids(runId, { escapee: false }))}` });
  });
});

