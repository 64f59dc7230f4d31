import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findCgroup2Mount, parseContainment, wrapArgv, type Containment } from '../../src/launch/index.js';

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
    const c: Containment = { layers: [], cgroupBase: '/cg/reaper', cgroupKill: true, pidnsPrefix: ['unshare', '--pid', '--fork', '--kill-child'], setpriv: '/usr/bin/setpriv', guardian: true };
    const argv = wrapArgv(c, ['python3', 'x.py'], '/cg/reaper/r/t0');
    assert.deepEqual(argv.slice(0, 4), ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--']);
    assert.equal(argv[4], '/bin/sh');
    assert.ok(argv.includes('/cg/reaper/r/t0'));
    assert.deepEqual(argv.slice(-7), ['unshare', '--pid', '--fork', '--kill-child', '--', 'python3', 'x.py']);
    const bare: Containment = { ...c, pidnsPrefix: null, setpriv: null };
    assert.deepEqual(wrapArgv(bare, ['true'], null), ['true']);
  });
});
