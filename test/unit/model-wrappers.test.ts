/**
 * reaper's wrapper processes are recognised on evidence (run marker + session leader + the exact
 * argv shape that src/launch/containment.ts builds), never on a name alone; and the shapes stay
 * those that wrapArgv really builds.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { wrapArgv, type Containment } from '../../src/launch/containment.js';
import { parseInitStatus, stageInitArgv } from '../../src/launch/layers/stage-init.js';
import { isReaperWrapper, parseWrapperArgv, wrappedCommand, wrapperKindOf } from '../../src/model/wrappers.js';

const cmd = ['python3', 'train.py', '--epochs', '3'];
const containment = (over: Partial<Containment>): Containment => ({
  layers: [],
  cgroupBase: '/sys/fs/cgroup/unified/reaper',
  pidnsPrefix: ['/usr/bin/unshare', '--pid', '--fork', '--kill-child'],
  pidnsInit: null,
  setpriv: '/usr/bin/setpriv',
  guardian: true,
  ...over,
});

describe('reaper wrappers', () => {
  test('every layer of the chain wrapArgv builds is recognised, and the innermost command comes back', () => {
    for (const c of [
      containment({}),
      containment({ pidnsPrefix: ['/usr/bin/unshare', '--user', '--map-current-user', '--pid', '--fork', '--kill-child'] }),
      containment({ setpriv: null }),
      containment({ pidnsPrefix: null }),
      containment({ pidnsInit: stageInitArgv('/usr/bin/perl') }),
    ]) {
      const full = wrapArgv(c, cmd, '/sys/fs/cgroup/unified/reaper/r1/t0');
      assert.deepEqual(wrappedCommand(full), cmd, full.join(' '));
      // Each process of the exec chain (setpriv → sh → unshare) has one of the shapes.
      let rest: readonly string[] = full;
      let layers = 0;
      for (let w = parseWrapperArgv(rest); w; w = parseWrapperArgv(rest)) {
        rest = rest.slice(w.commandAt);
        layers++;
      }
      assert.deepEqual(rest, cmd);
      assert.equal(layers, (c.setpriv ? 1 : 0) + 1 + (c.pidnsPrefix ? 1 : 0) + (c.pidnsInit ? 1 : 0));
    }
    assert.equal(parseWrapperArgv(wrapArgv(containment({ setpriv: null, pidnsPrefix: null }), cmd, null)), null, 'no layer: the command itself');
  });

  test('evidence: the run marker, a session leader, the exact shape with a command after it', () => {
    const unshare = ['/usr/bin/unshare', '--pid', '--fork', '--kill-child', '--', ...cmd];
    const p = { pid: 4700, pgid: 4700, sid: 4700, runId: 'r-20261202-abc', argv: unshare };
    assert.equal(isReaperWrapper(p), true);
    assert.equal(isReaperWrapper({ ...p, runId: null }), false, 'no run marker');
    assert.equal(isReaperWrapper({ ...p, sid: 4600 }), false, 'not a session leader (not spawned by the launcher)');
    assert.equal(isReaperWrapper({ ...p, pgid: 4600 }), false);
    assert.equal(isReaperWrapper({ ...p, argv: ['unshare', '--pid', '--fork', '--kill-child', '--', ...cmd] }), false, 'a relative name is not what wrapArgv builds');
    assert.equal(isReaperWrapper({ ...p, argv: ['/usr/bin/unshare', '--pid', '--fork', '--', ...cmd] }), false, "the user's own unshare, other flags");
    assert.equal(isReaperWrapper({ ...p, argv: ['/usr/bin/unshare', '--pid', '--fork', '--kill-child', '--'] }), false, 'nothing wrapped');
    assert.equal(isReaperWrapper({ ...p, argv: ['/bin/sh', '-c', 'echo 0 > "$1/cgroup.procs"; exec "$@"', 'reaper-cgroup', '/x', ...cmd] }), false, 'another script');
    assert.equal(isReaperWrapper({ ...p, argv: ['/usr/local/bin/setpriv', '--pdeathsig', 'KILL', '--', ...cmd] }), true);
    assert.equal(isReaperWrapper({ ...p, argv: ['/usr/bin/unshare-not', '--pid', '--fork', '--kill-child', '--', ...cmd] }), false);
    assert.equal(isReaperWrapper({ ...p, argv: null }), false, 'unreadable argv');
  });

  test('the running stage init: its exact argv, in the task session group, not its leader', () => {
    const init = { pid: 4701, pgid: 4700, sid: 4700, runId: 'r-20261202-abc', argv: [...stageInitArgv('/usr/bin/perl'), ...cmd] };
    assert.equal(isReaperWrapper(init), true);
    assert.equal(wrapperKindOf(init), 'init');
    assert.equal(isReaperWrapper({ ...init, runId: null }), false, 'no run marker');
    assert.equal(isReaperWrapper({ ...init, pid: 4700 }), false, 'a session leader named reaper-init is not the init');
    assert.equal(isReaperWrapper({ ...init, pgid: 4702 }), false, 'in another group of the session');
    assert.equal(isReaperWrapper({ ...init, argv: ['reaper-init'] }), false, 'a name is no evidence');
    assert.equal(isReaperWrapper({ ...init, argv: ['/usr/bin/perl', '-e', 'print 1', '--', ...cmd] }), false, 'another script');
    assert.deepEqual(wrappedCommand(init.argv), cmd);
    assert.equal(wrapperKindOf({ pid: 4700, pgid: 4700, sid: 4700, runId: 'r', argv: ['/usr/bin/unshare', '--pid', '--fork', '--kill-child', '--', ...cmd] }), 'pidns');
  });
});

test("the init's status report: a raw wait status, anything else is no report", () => {
  assert.deepEqual(parseInitStatus('0\n'), { code: 0, signal: null });
  assert.deepEqual(parseInitStatus(`${7 << 8}\n`), { code: 7, signal: null });
  assert.deepEqual(parseInitStatus('15\n'), { code: null, signal: 15 });
  assert.deepEqual(parseInitStatus(String(0x80 | 11)), { code: null, signal: 11 }, 'core dumped');
  for (const bad of ['', '\n', 'x', '-1', '70000', '1 2', '15\n15\n', String(0x7f)]) assert.equal(parseInitStatus(bad), null, JSON.stringify(bad));
});
