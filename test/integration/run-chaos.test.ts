/** Chaos batch as root: every interruption path leaves no process carrying the run's marker. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chaosScenario, type Interruption } from '../helpers/launch-chaos.js';

const ROOT = process.getuid?.() === 0;

describe('reaper run: chaos batch, nothing survives', { concurrency: 1 }, () => {
  for (const how of ['timeout', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGKILL'] as Interruption[]) {
    it(`${how}: zero survivors, journal records it`, { timeout: 90_000 }, async (t) => {
      const r = await chaosScenario(t, how);
      if (ROOT) assert.ok(r.layers.some((l) => l.id === 'guardian' && l.active));
    });
  }

  it('SIGKILL of the launcher with only process groups + marker + guardian (no cgroup, no PID namespace, no pdeathsig)', { timeout: 90_000 }, async (t) => {
    const r = await chaosScenario(t, 'SIGKILL', { containment: 'no-cgroup,no-pidns,no-pdeathsig' });
    assert.deepEqual(r.layers.filter((l) => l.active).map((l) => l.id), ['pgroup', 'marker', 'guardian']);
  });
});
