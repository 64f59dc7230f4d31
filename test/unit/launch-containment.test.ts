import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { findCgroup2Mount, parseContainment, wrapArgv, type Containment } from '../../src/launch/index.js';
import { afterStage, detectContainment, holdsEveryProcess, type RunScope, type StageScope } from '../../src/launch/containment.js';
import { readStatSync } from '../../src/probe/proc-stat.js';
import { killGroupQuietly } from '../helpers/gpu-helpers.js';
import { waitFor } from '../helpers/wait-for.js';

const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('containment', () => {
  it('parses --containment values', () => {
    assert.deepEqual(parseContainment(undefined), { cgroup: true, pidns: true, pdeathsig: true, guardian: true });
    assert.deepEqual(parseContainment('pgroup-only'), { cgroup: false, pidns: false, pdeathsig: false, guardian: false });
    assert.deepEqual(parseContainment('none'), { cgroup: false, pidns: false, pdeathsig: false, guardian: false });
    assert.deepEqual(parseContainment('no-cgroup,no-pidns'), { cgroup: false, pidns: false, pdeathsig: true, guardian: true });
    assert.throws(() => parseContainment('no-seatbelt'), /--containment expects/);
  });

  it('finds the cgroup2 mount in mountinfo', () => {
    const mi = [
      '30 24 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
      '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
      '42 31 0:39 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
    ].join('\n');
    assert.equal(findCgroup2Mount(mi), '/sys/fs/cgroup/unified');
    assert.equal(findCgroup2Mount('42 31 0:39 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n'), null);
  });

  it('wraps argv: pdeathsig outside, then the cgroup entry, then the PID namespace, then the command', () => {
    const c: Containment = { layers: [], cgroupBase: '/cg/reaper', pidnsPrefix: ['unshare', '--pid', '--fork', '--kill-child'], pidnsInit: null, setpriv: '/usr/bin/setpriv', guardian: true };
    const argv = wrapArgv(c, ['python3', 'x.py'], '/cg/reaper/r/t0');
    assert.deepEqual(argv.slice(0, 4), ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--']);
    assert.equal(argv[4], '/bin/sh');
    assert.ok(argv.includes('/cg/reaper/r/t0'));
    assert.deepEqual(argv.slice(-7), ['unshare', '--pid', '--fork', '--kill-child', '--', 'python3', 'x.py']);
    const bare: Containment = { ...c, pidnsPrefix: null, pidnsInit: null, setpriv: null };
    assert.deepEqual(wrapArgv(bare, ['true'], null), ['true']);
  });

  it('detects the layers in order; a layer turned off contributes nothing and says so', () => {
    const c = detectContainment(parseContainment('pgroup-only'));
    assert.deepEqual(
      c.layers.map((l) => l.id),
      ['pgroup', 'marker', 'cgroup', 'pidns', 'pdeathsig', 'guardian'],
    );
    assert.deepEqual(
      c.layers.filter((l) => l.active).map((l) => l.id),
      ['pgroup', 'marker'],
    );
    assert.deepEqual({ cgroupBase: c.cgroupBase, pidnsPrefix: c.pidnsPrefix, pidnsInit: c.pidnsInit, setpriv: c.setpriv, guardian: c.guardian }, { cgroupBase: null, pidnsPrefix: null, pidnsInit: null, setpriv: null, guardian: false });
    for (const l of c.layers.filter((x) => x.available && !x.active)) assert.match(l.detail, /\(disabled by --containment\)$/, l.id);
    assert.equal(holdsEveryProcess(c), false);
  });

  it('after a stage: a layer that holds every process vouches for it; without one the leftover group is swept', async () => {
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const pgid = child.pid!;
    try {
      const run: RunScope = { runId: 'r-unit', state: '/nonexistent', paths: null as never, env: {}, graceMs: 1000, owner: process.getuid!(), cgroup: null, guardian: null };
      // As the executor records it: the leader's start time, read at spawn.
      const stage: StageScope = { task: 0, stage: 's', attempt: 1, pgid, leaderStart: readStatSync(pgid)!.startTime, endedAtTicks: null, cgroup: null };
      const bare: Containment = { layers: [], cgroupBase: null, pidnsPrefix: null, pidnsInit: null, setpriv: null, guardian: false };
      // The PID namespace died with its init: nothing is looked for (the group here is a stand-in).
      assert.deepEqual(await afterStage({ ...bare, pidnsPrefix: ['unshare'] }, run, stage), []);
      assert.ok(groupAlive(pgid), 'a stage held by a namespace is not swept by group');
      const sweeps = await afterStage(bare, run, stage);
      assert.deepEqual(sweeps, [{ found: 1, survived: 0, cgroupKilled: false }]);
      await waitFor(() => !groupAlive(pgid), { what: 'the swept group to be gone' });
    } finally {
      killGroupQuietly(pgid);
    }
  });
});
