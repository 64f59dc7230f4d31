/**
 * The PID-namespace layer runs a tiny init as the namespace's PID 1 (layers/stage-init.ts), so
 * the stage's command keeps ordinary signal semantics: the kernel drops signals PID 1 has no
 * handler for. Without the init, a command that SIGTERMs itself survived, the launcher's SIGTERM
 * at a timeout was dropped (the stage always ended by SIGKILL after the whole grace), and the
 * command's orphans stayed zombies until the stage ended.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { detectContainment } from '../../src/launch/containment.js';
import { cleanupRun, markerPids, readJournalFile, startCli, tempState, type CliRun, type JsonEvent } from '../helpers/launch-run.js';
import { waitFor } from '../helpers/wait-for.js';

const c = detectContainment();
const pidns = c.layers.find((l) => l.id === 'pidns');
const skip = !pidns?.active ? `no PID namespace here (${pidns?.detail ?? 'layer missing'})` : c.pidnsInit === null ? `no stage init (${pidns.detail})` : spawnSync('python3', ['-c', '1']).status !== 0 ? 'python3 not found' : false;

function setup(t: TestContext, stages: string, extra = ''): { state: string; batch: string; env: NodeJS.ProcessEnv; track(r: CliRun): void } {
  const state = tempState();
  const batch = path.join(state, 'init.yaml');
  writeFileSync(batch, `name: init\ngpus: all\n${extra}tasks:\n  - {}\nstages:\n${stages}`);
  const runs: CliRun[] = [];
  t.after(() => {
    for (const r of runs) cleanupRun(r, r.runId());
    rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });
  return { state, batch, env: { XDG_STATE_HOME: state, HOME: state, REAPER_CONTAINMENT: 'auto' }, track: (r) => runs.push(r) };
}

const taskEnd = (e: JsonEvent): boolean => e.ev === 'task-end';

describe('the stage init (PID 1 of the stage namespace)', { skip, concurrency: 1 }, () => {
  // It runs past 2.5 s first: the init's report must be read however long the stage ran.
  it('a command that SIGTERMs itself dies of it (as PID 1 it survived and exited 0)', { timeout: 60_000 }, async (t) => {
    const s = setup(t, `  s:\n    cmd: [python3, -c, "import os, signal, time; time.sleep(2.5); os.kill(os.getpid(), signal.SIGTERM); print('survived')"]\n`);
    const run = startCli(['run', s.batch, '--gpus', 'sim:1', '--json'], { env: s.env, cwd: s.state });
    s.track(run);
    const end = await run.waitEvent(taskEnd, 30_000, 'task-end');
    assert.equal(end.status, 'failed', JSON.stringify(end));
    assert.equal(end.signal, 'SIGTERM', `the journal names the signal, not "exit 143": ${JSON.stringify(end)}`);
    const log = readFileSync(String(readJournalFile(s.state, run.runId()!).find((e) => e.ev === 'task-start')!.stdout), 'utf8');
    assert.doesNotMatch(log, /survived/);
  });

  it("a stage timeout ends a handler-less command with the launcher's SIGTERM, not SIGKILL after the grace", { timeout: 90_000 }, async (t) => {
    // grace 60 s: if SIGTERM were dropped, the stage would end only by SIGKILL a minute later.
    const s = setup(t, `  s:\n    cmd: [sleep, "300"]\n    timeout: 1s\n`, 'grace: 60s\n');
    const run = startCli(['run', s.batch, '--gpus', 'sim:1', '--json'], { env: s.env, cwd: s.state });
    s.track(run);
    const end = await run.waitEvent(taskEnd, 40_000, 'task-end (SIGTERM reached sleep)');
    assert.equal(end.reason, 'timeout', JSON.stringify(end));
    assert.equal(end.signal, 'SIGTERM', JSON.stringify(end));
  });

  it("the command's orphans are reaped while the stage runs (no zombie waiting for the stage's end)", { timeout: 60_000 }, async (t) => {
    const s = setup(t, `  s:\n    cmd: [sh, -c, 'sh -c "sleep 0.2 & echo \\$! > $0"; exec sleep 300', "{out}/orphan.pid"]\n`);
    // {out} is the task's output folder; the inner shell exits at once, so its sleep is an orphan.
    const run = startCli(['run', s.batch, '--gpus', 'sim:1', '--json'], { env: s.env, cwd: s.state });
    s.track(run);
    const start = await run.waitEvent((e) => e.ev === 'task-start', 30_000, 'task-start');
    const out = (start.argv as string[]).find((a) => a.endsWith('/orphan.pid'))!;
    await waitFor(() => (existsSync(out) && readFileSync(out, 'utf8').trim() !== '' ? out : null), { timeoutMs: 20_000, what: 'orphan pid file' });
    // From here, the namespace's PID 1 has as children the command and, until reaped, the
    // orphan. Without the init, PID 1 is the command (sleep), which never reaps: the orphan
    // stays a zombie under it until the stage ends.
    const leader = start.pid as number;
    // The init is a member of the run by its marker (perl's $0 would have wiped its environ).
    const init = kids(leader)[0];
    assert.ok(init !== undefined && markerPids(run.runId()!).includes(init), `the init ${init} carries REAPER_RUN`);
    assert.equal(readFileSync(`/proc/${init}/comm`, 'utf8').trim(), 'reaper-init');
    await waitFor(() => {
      const k = childrenOfInit(leader);
      return k.length > 0 && k.every((p) => stateOf(p) !== 'Z' && cmdline(p) !== 'sleep 0.2') ? true : null;
    }, { timeoutMs: 20_000, what: 'PID 1 of the stage with the orphan (sleep 0.2) reaped' }).catch((e: Error) => {
      throw new Error(`${e.message}; children: ${childrenOfInit(leader).map((p) => `${p} ${stateOf(p)}`).join(', ')}`);
    });
  });
});

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

function stateOf(pid: number): string {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
  } catch {
    return 'gone';
  }
}

/** The init is the leader's (unshare's) only child; its children are the command and orphans. */
function childrenOfInit(leader: number): number[] {
  const init = kids(leader)[0];
  return init === undefined ? [] : kids(init);
}

function kids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
