/**
 * The screen's L: `launchDetached` runs in-process through the entry point `reaper run --detach`
 * uses (spawnDetachedLauncher), with a run id the caller mints; nothing is parsed out of another
 * process's output. The run is then stopped with `reaper stop`, as a user would.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { launchDetached, newRunId } from '../../src/launch/index.js';
import { chaosBatch, CLI, cleanupRun, killGuardianOf, markerPids, readJournalFile, tempState } from '../helpers/launch-run.js';
import { CLI_MAX_BUFFER, waitFor } from '../helpers/wait-for.js';

describe('launchDetached with a minted run id', () => {
  it('the run carries the id the caller minted, its launcher is the pid returned, and reaper stop ends it', { timeout: 90_000 }, async (t) => {
    const state = tempState();
    const batch = chaosBatch(state);
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_STATE_HOME: state, HOME: state, REAPER_CONTAINMENT: '' };
    const minted = newRunId();
    t.after(() => {
      killGuardianOf(state, minted);
      cleanupRun(null, minted);
      rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    });
    const r = await launchDetached(batch, { gpus: 'sim:2', env, runId: minted, containment: 'pgroup-only' });
    assert.equal(r.runId, minted);
    const start = readJournalFile(state, minted).find((e) => e.ev === 'run-start')!;
    assert.equal((start.launcher as { pid: number }).pid, r.pid);
    await waitFor(() => markerPids(minted, { escapee: false }).length > 0 || null, { timeoutMs: 20_000, what: 'tasks running' });
    const s = spawnSync(process.execPath, [CLI, 'stop', minted, '--json'], { env, encoding: 'utf8', timeout: 60_000, maxBuffer: CLI_MAX_BUFFER });
    assert.equal(s.status, 0, s.stdout + s.stderr);
    await waitFor(() => markerPids(minted, { escapee: false }).length === 0 || null, { timeoutMs: 20_000, what: 'nothing left of the run' });
  });

  it('a minted id that is not a run id is refused before anything starts', async () => {
    await assert.rejects(launchDetached('/nonexistent.yaml', { gpus: 'sim:1', runId: '../escape' }), /not a run id/);
  });
});
