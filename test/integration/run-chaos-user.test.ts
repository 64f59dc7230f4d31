/**
 * Chaos batch as an unprivileged user (created here, dropped to with setpriv): cgroup writes are
 * refused, so the guarantee must hold through the layers that remain.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { chaosScenario, type Interruption } from '../helpers/launch-chaos.js';
import { ensureTestUser } from '../helpers/launch-run.js';
import { prepareOtherUserKit } from '../helpers/other-user-kit.js';

const user = ensureTestUser();

describe('reaper run as an unprivileged user: chaos batch, nothing survives', { concurrency: 1, skip: user ? false : 'needs root to create and switch to a test user' }, () => {
  before(() => prepareOtherUserKit());
  for (const how of ['timeout', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGKILL'] as Interruption[]) {
    it(`${how}: zero survivors`, { timeout: 90_000 }, async (t) => {
      const r = await chaosScenario(t, how, { user });
      assert.equal(r.layers.find((l) => l.id === 'cgroup')?.active, false, 'cgroup writes are refused to an unprivileged user here');
    });
  }

  it('SIGKILL with the PID namespace disabled too: process groups + marker + guardian still hold', { timeout: 90_000 }, async (t) => {
    const r = await chaosScenario(t, 'SIGKILL', { user, containment: 'no-pidns' });
    assert.equal(r.layers.find((l) => l.id === 'pidns')?.active, false);
  });
});
