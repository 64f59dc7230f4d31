/**
 * The term ladder and PID namespaces: a namespace's init that leaves SIGTERM at its default
 * action never sees a SIGTERM sent from outside (the kernel drops it), so the ladder ends it
 * with SIGKILL once the rest of its namespace has finished, instead of after the whole grace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { executeReap } from '../../src/actions/index.js';
import { planForPids } from '../../src/analysis/index.js';
import { parseTermDisposition } from '../../src/probe/proc-status.js';
import { takeSnapshot } from '../../src/probe/snapshot.js';
import { waitFor } from '../helpers/wait-for.js';

const canUnshare =
  process.getuid?.() === 0 && spawnSync('unshare', ['--pid', '--fork', '--kill-child', 'true']).status === 0;

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

test('parseTermDisposition reads NSpid and the SIGTERM bits', () => {
  const base = 'Name:\tsleep\nNSpid:\t4711\t1\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n';
  assert.deepEqual(parseTermDisposition(base), { namespaceInit: true, termDefault: true });
  assert.deepEqual(parseTermDisposition(base.replace('SigCgt:\t0000000000000000', 'SigCgt:\t0000000000004000')), { namespaceInit: true, termDefault: false });
  assert.deepEqual(parseTermDisposition(base.replace('SigIgn:\t0000000000000000', 'SigIgn:\t0000000000004000')), { namespaceInit: true, termDefault: false });
  assert.deepEqual(parseTermDisposition(base.replace('NSpid:\t4711\t1', 'NSpid:\t4711')), { namespaceInit: false, termDefault: true });
  assert.equal(parseTermDisposition('Name:\tx\n'), null);
});

test('term: a namespace init with default SIGTERM is killed once its namespace has finished', { skip: !canUnshare && 'needs root and unshare --pid' }, async (t) => {
  // init: sh without a TERM trap that outlives its child (exec sleep); its child: a python3 that
  // takes ~0.3 s to honour SIGTERM.
  const script = `python3 -c "
import signal, sys, time
def bye(*_):
    time.sleep(0.3); sys.exit(0)
signal.signal(signal.SIGTERM, bye)
while True: time.sleep(1)
" & wait; exec sleep 300`;
  const tree = spawn('unshare', ['--pid', '--fork', '--kill-child', 'sh', '-c', script], { detached: true, stdio: 'ignore' });
  t.after(() => {
    try {
      process.kill(-tree.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  const init = (await waitFor(() => childrenOf(tree.pid!)[0], { what: 'namespace init' })) as number;
  const worker = (await waitFor(() => {
    const kids = childrenOf(init);
    if (kids.length !== 1) return null;
    // python3 has installed its handler once SigCgt shows SIGTERM.
    const d = parseTermDisposition(readFileSync(`/proc/${kids[0]}/status`, 'utf8'));
    return d && !d.termDefault ? kids[0] : null;
  }, { what: 'python worker with a SIGTERM handler' })) as number;
  assert.notEqual(readlinkSync(`/proc/${init}/ns/pid`), readlinkSync('/proc/self/ns/pid'));

  const snap = await takeSnapshot();
  const plan = planForPids(snap, new Map(), [tree.pid!], { action: 'term', graceMs: 60_000, allUsers: false });
  const results = await executeReap(plan);
  const byPid = new Map(results.map((r) => [r.pid, r]));
  assert.equal(byPid.get(worker)?.outcome, 'gone');
  assert.match(byPid.get(worker)?.why ?? '', /exited after SIGTERM/, 'the worker got its grace and exited by itself');
  assert.equal(byPid.get(init)?.outcome, 'gone');
  assert.match(byPid.get(init)?.why ?? '', /PID namespace init/);
  // Without the namespace rule the init would have waited out the 60 s grace and then been
  // SIGKILLed by the kill ladder ("still running 60.0 s after SIGTERM").
  assert.doesNotMatch(byPid.get(init)?.why ?? '', /still running/);
  for (const pid of [tree.pid!, init, worker]) {
    await waitFor(() => {
      try {
        const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return s.slice(s.lastIndexOf(')') + 2).startsWith('Z');
      } catch {
        return true;
      }
    }, { what: `pid ${pid} gone` });
  }
});
