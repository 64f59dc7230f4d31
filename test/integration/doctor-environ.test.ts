/**
 * `reaper doctor` says whether other users' environments (run markers) are readable by trying
 * one: its answer must be the kernel's, for root, for root without CAP_SYS_PTRACE (a container's
 * root) and for an unprivileged user. /proc/1 alone says nothing about other users.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { otherUserKit, prepareOtherUserKit } from '../helpers/other-user-kit.js';
import { asUser, CLI, createTestUser, deleteTestUser, type User } from '../helpers/reap-trees.js';
import { waitFor } from '../helpers/wait-for.js';

const isRoot = process.getuid?.() === 0;
/** Runs a command as root without CAP_SYS_PTRACE (what root in a default container has). */
const NO_PTRACE = ['setpriv', '--inh-caps=-sys_ptrace', '--bounding-set=-sys_ptrace', '--'];

interface Check {
  id: string;
  ok: boolean | null;
  detail: string;
}

function environCheck(argv: string[]): Check {
  const r = spawnSync(argv[0]!, [...argv.slice(1), 'doctor', '--json', '--gpus', 'none'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as { checks: Check[] };
  return rep.checks.find((c) => c.id === 'proc-environ')!;
}

/** Does the kernel let `prefix` read /proc/<pid>/environ? */
function canRead(prefix: string[], pid: number): boolean {
  const argv = [...prefix, 'head', '-c', '1', `/proc/${pid}/environ`];
  return spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore' }).status === 0;
}

/** What the check says about one process: 'read', 'denied' or null (not tried). */
function verdictFor(c: Check, pid: number, uid: number): 'read' | 'denied' | null {
  const at = c.detail.indexOf(`${pid} (uid ${uid})`);
  if (at < 0) return null;
  const before = c.detail.slice(0, at);
  return before.lastIndexOf('denied') > before.lastIndexOf('read') ? 'denied' : 'read';
}

describe('doctor: environments of other users', { skip: isRoot ? false : 'needs root (creates a user); as a user, the kernel denies other users\' environ without CAP_SYS_PTRACE, which the check reports' }, () => {
  let user: User | null = null;
  let sleeper: ChildProcess | null = null;
  before(async () => {
    user = createTestUser();
    if (!user) return;
    await prepareOtherUserKit();
    const argv = asUser(user, ['sleep', '600']);
    sleeper = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    const pid = sleeper.pid!;
    await waitFor(() => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'latin1').startsWith('sleep\0') && new RegExp(`\\nUid:\\s+${user!.uid}\\s`).test(readFileSync(`/proc/${pid}/status`, 'latin1'));
      } catch {
        return false;
      }
    }, { what: 'the test user\'s sleep' });
  });
  after(() => {
    sleeper?.kill('SIGKILL');
    deleteTestUser(user);
  });

  it('root: the answer matches what the kernel allows for a real process of another user', (t) => {
    if (!user) return t.skip('useradd failed');
    const c = environCheck([process.execPath, CLI]);
    const truth = canRead([], sleeper!.pid!);
    const v = verdictFor(c, sleeper!.pid!, user.uid);
    if (v !== null) assert.equal(v, truth ? 'read' : 'denied', c.detail);
    if (truth) assert.notEqual(c.ok, false, c.detail);
  });

  it('root without CAP_SYS_PTRACE: /proc/1 is no proxy; the answer is the kernel\'s', (t) => {
    if (!user) return t.skip('useradd failed');
    if (spawnSync(NO_PTRACE[0]!, [...NO_PTRACE.slice(1), 'true']).status !== 0) return t.skip('setpriv cannot drop CAP_SYS_PTRACE here');
    const c = environCheck([...NO_PTRACE, process.execPath, CLI]);
    const truth = canRead(NO_PTRACE, sleeper!.pid!);
    const v = verdictFor(c, sleeper!.pid!, user.uid);
    if (v !== null) assert.equal(v, truth ? 'read' : 'denied', c.detail);
    if (truth) assert.notEqual(c.ok, false, `readable for this root, doctor said: ${c.detail}`);
    else assert.notEqual(c.ok, true, `unreadable for this root, doctor said: ${c.detail}`);
  });

  it('an unprivileged user: root\'s processes are other users\' and their environments are denied', (t) => {
    if (!user) return t.skip('useradd failed');
    const c = environCheck(asUser(user, [process.execPath, otherUserKit().cli]));
    assert.equal(c.ok, false, c.detail);
    assert.match(c.detail, /^no: denied for \d+ \(uid 0\)/);
  });
});
