/**
 * A run member that forks as it dies (a TERM trap that starts one more command) leaves a child
 * that no rescan can link to it: by the time /proc is read again its parent is gone and it is
 * init's. The run teardown looks again by the marker, so nothing with REAPER_RUN is left; as
 * the full suite ran under load, `reaper stop` once counted such a child as a survivor.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { teardown } from '../../src/actions/teardown.js';
import { describePids, killMarked, markerPids } from '../helpers/launch-run.js';
import { isLive } from '../helpers/reap-trees.js';
import { waitFor } from '../helpers/wait-for.js';

describe('run teardown', () => {
  it('a member that forks in its TERM trap and exits: the child is torn down too (looked for again by the marker)', { timeout: 60_000 }, async (t) => {
    const runId = `forkdeath-${process.pid}-${Date.now().toString(36)}`;
    t.after(() => killMarked(runId));
    const env = { ...process.env, REAPER_RUN: runId };
    // Three of them, each its own session: on TERM each starts `sleep 1000` in the background and exits.
    for (let i = 0; i < 3; i++) {
      const c = spawn('sh', ['-c', "trap 'sleep 1000 & exit 0' TERM; while :; do sleep 0.1; done"], { detached: true, stdio: 'ignore', env });
      c.unref();
    }
    await waitFor(() => markerPids(runId, { escapee: false }).length >= 6 || null, { what: 'three loops and their sleeps' });
    const res = await teardown({ runId, mode: 'term', graceMs: 2000, owner: process.getuid!() });
    assert.ok(res.length >= 3, JSON.stringify(res));
    // What the teardown returns is final: nothing marked may be alive now (zombies aside).
    const alive = markerPids(runId, { escapee: false }).filter(isLive);
    assert.deepEqual(alive, [], `left behind: ${describePids(alive)}; results: ${JSON.stringify(res.map((r) => [r.pid, r.outcome, r.why]))}`);
  });
});
