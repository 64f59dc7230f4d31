/**
 * A foreground `reaper run` on a real terminal whose connection drops (master closed, SIGHUP, as
 * sshd does): the launcher stops writing to the dead terminal, tears the run down with grace
 * (TERM-ignoring tasks included), records `interrupted` itself and exits 129.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { chaosBatch, CLI, cleanupRun, describePids, killGuardianOf, markerPids, readJournalFile, tempState } from '../helpers/launch-run.js';
import { hasPython, startOnPty } from '../helpers/pty-run.js';
import { PYTHON } from '../helpers/reap-trees.js';
import { waitFor } from '../helpers/wait-for.js';

const BATCH = `name: hangup
gpus: all
concurrency: 3
grace: 1s
stuck: { after: 60s, action: warn }
tasks:
  - { mode: ignore-term }
  - { mode: hang }
  - { mode: fork }
stages:
  sample:
    cmd: [sh, chaos/task.sh, "{mode}"]
`;

const DRIVER = fileURLToPath(new URL('../../../test/fixtures/driver/pool_driver.py', import.meta.url));

const stateOf = (pid: number): string | null => {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
};

describe('reaper run on a terminal that hangs up', { concurrency: 1, skip: hasPython ? false : 'python3 with pty not available' }, () => {
  for (const containment of ['auto', 'pgroup-only']) {
    it(`containment ${containment}: exit 129, interrupted recorded by the launcher, nothing with the marker survives`, { timeout: 90_000 }, async (t) => {
      const state = tempState();
      const batch = chaosBatch(state, () => BATCH);
      const env = { ...process.env, XDG_STATE_HOME: state, HOME: state, REAPER_CONTAINMENT: containment === 'auto' ? '' : containment, REAPER_RUN: '', TERM: 'xterm' };
      const pty = startOnPty([process.execPath, CLI, 'run', batch, '--gpus', 'sim:1'], { env, cwd: state });
      let runId: string | null = null;
      t.after(() => {
        try {
          process.kill(-pty.helper.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
        void pty.pid().then((p) => {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            /* gone */
          }
        }, () => undefined);
        cleanupRun(null, runId);
        if (runId) killGuardianOf(state, runId);
        rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
      });
      const runs = path.join(state, 'reaper', 'runs');
      runId = await waitFor(() => (existsSync(runs) ? readdirSync(runs)[0] : undefined), { timeoutMs: 20_000, what: 'run folder' });
      const id = runId;
      await waitFor(() => readJournalFile(state, id).filter((e) => e.ev === 'task-start').length === 3, { timeoutMs: 20_000, what: '3 tasks started' });
      // the TERM-ignoring task's child and the forker's children are in place
      await waitFor(() => markerPids(id, { escapee: false }).length >= 6, { timeoutMs: 20_000, what: 'task processes in place' });

      const res = await pty.hangUp();
      assert.equal(res.signal, null, `the launcher was killed by signal ${res.signal}; terminal: ${res.out.slice(-1500)}`);
      assert.equal(res.code, 129, `exit code; terminal: ${res.out.slice(-1500)}`);
      const journal = readJournalFile(state, id);
      const end = journal.find((e) => e.ev === 'run-end');
      assert.ok(end, 'the journal has an end record');
      assert.equal(end.by, 'launcher');
      assert.equal(end.state, 'interrupted');
      assert.equal(end.exitCode, 129);
      assert.equal(end.survivors, 0);
      assert.equal(journal.filter((e) => e.ev === 'run-end').length, 1, 'one end record');
      const signals = journal.filter((e) => e.ev === 'signal');
      assert.equal(signals[0]?.signal, 'SIGHUP');
      assert.ok(!signals.some((e) => e.action === 'kill now'), `a repeated SIGHUP is not a request to kill at once: ${JSON.stringify(signals)}`);
      assert.deepEqual(markerPids(id, { escapee: false }), [], `survivors: ${describePids(markerPids(id, { escapee: false }))}`);
    });
  }

  it('a driver (reaper run -- python3 driver.py) started on the terminal: never stopped by it, torn down on hang-up, exit 129', { timeout: 90_000 }, async (t) => {
    const state = tempState();
    const env = { ...process.env, XDG_STATE_HOME: state, HOME: state, REAPER_CONTAINMENT: '', REAPER_RUN: '', TERM: 'xterm' };
    const pty = startOnPty([process.execPath, CLI, 'run', '--gpus', 'sim:1', '--', PYTHON, DRIVER, 'wait'], { env, cwd: state });
    let runId: string | null = null;
    t.after(() => {
      try {
        process.kill(-pty.helper.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
      cleanupRun(null, runId);
      if (runId) killGuardianOf(state, runId);
      rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    });
    const runs = path.join(state, 'reaper', 'runs');
    runId = await waitFor(() => (existsSync(runs) ? readdirSync(runs)[0] : undefined), { timeoutMs: 20_000, what: 'run folder' });
    const id = runId;
    await waitFor(() => markerPids(id, { escapee: false }).length >= 8, { timeoutMs: 30_000, what: 'driver, workers and grandchildren in place' }).catch((e: Error) => {
      // What there was instead: the run's processes and what its journal says.
      const events = readJournalFile(state, id).map((x) => `${x.ev}${x.detail ? `: ${String(x.detail)}` : ''}`);
      throw new Error(`${e.message}; processes: ${describePids(markerPids(id, { escapee: false })) || 'none'}; journal: ${events.join(' | ')}`);
    });
    // The stdin reader among them got EOF from /dev/null: no process of the run is stopped (T).
    const stopped = markerPids(id, { escapee: false }).filter((p) => stateOf(p) === 'T');
    assert.deepEqual(stopped, [], `stopped by the terminal: ${describePids(stopped)}`);
    const res = await pty.hangUp();
    assert.equal(res.code, 129, `exit code; terminal: ${res.out.slice(-1500)}`);
    const end = readJournalFile(state, id).find((e) => e.ev === 'run-end');
    assert.equal(end?.by, 'launcher');
    assert.equal(end?.state, 'interrupted');
    assert.deepEqual(markerPids(id, { escapee: false }), [], `survivors: ${describePids(markerPids(id, { escapee: false }))}`);
  });

  it('a reader that goes away (reaper run b.yaml | head -1): the run goes on to its end and records it', { timeout: 90_000 }, async (t) => {
    const state = tempState();
    t.after(() => rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
    const batch = chaosBatch(state, () => 'concurrency: 1\nenv: { CHAOS_SECONDS: "0.7" }\ntasks: [{}, {}, {}]\nstages:\n  sample:\n    cmd: [sh, chaos/task.sh, ok]\n');
    const env = { ...process.env, XDG_STATE_HOME: state, HOME: state, REAPER_CONTAINMENT: 'pgroup-only', REAPER_RUN: '', NODE: process.execPath, CLI, BATCH: batch };
    const r = spawnSync('sh', ['-c', '"$NODE" "$CLI" run "$BATCH" --gpus sim:1 | head -1; sleep 0'], { cwd: state, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const runs = path.join(state, 'reaper', 'runs');
    const id = await waitFor(() => (existsSync(runs) ? readdirSync(runs)[0] : undefined), { what: 'run folder' });
    const end = await waitFor(() => readJournalFile(state, id).find((e) => e.ev === 'run-end'), { timeoutMs: 20_000, what: 'end record' });
    assert.equal(end.by, 'launcher', JSON.stringify(end));
    assert.equal(end.state, 'finished');
    assert.equal(readJournalFile(state, id).filter((e) => e.ev === 'task-end' && e.status === 'succeeded').length, 3);
  });
});
