/** The live screen's scanner option idleSkip: idle sleepers may go unread one scan, no more. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createProcScanner } from '../../src/probe/snapshot.js';
import { readProcState } from '../helpers/tui-proc.js';
import { waitFor } from '../helpers/wait-for.js';

/** `sleep 300` in its own group, killed after the test. */
function sleeper(t: { after(fn: () => void): void }): { child: ChildProcess; pid: number } {
  const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  const pid = child.pid!;
  t.after(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  return { child, pid };
}

test('idleSkip 1: a stopped idle sleeper shows T within two scans, an exit at once', async (t) => {
  const { child, pid } = sleeper(t);
  const scanner = createProcScanner({ idleSkip: 1 });
  t.after(() => scanner.close());
  await waitFor(() => scanner.scanSync().byPid.get(pid)?.comm === 'sleep', { what: 'sleep exec' });
  // Three identical reads make it idle; from then on it may be skipped every other scan.
  for (let i = 0; i < 4; i++) assert.equal(scanner.scanSync().byPid.get(pid)?.state, 'S');

  process.kill(pid, 'SIGSTOP');
  await waitFor(() => readProcState(pid)?.state === 'T', { what: 'kernel says T' });
  const states = [scanner.scanSync().byPid.get(pid)?.state, scanner.scanSync().byPid.get(pid)?.state];
  assert.equal(states[1], 'T', `seen within two scans: ${states.join(',')}`);

  process.kill(pid, 'SIGKILL');
  child.unref();
  await waitFor(() => readProcState(pid) === null || readProcState(pid)?.state === 'Z', { what: 'exit' });
  await waitFor(() => readProcState(pid) === null, { what: 'reaped', timeoutMs: 10_000 });
  assert.equal(scanner.scanSync().byPid.has(pid), false, 'an exited process is gone on the next scan');
});


test('a scan lists /proc again only when a process was created or ended since the last listing', async (t) => {
  const scanner = createProcScanner({ idleSkip: 1 });
  t.after(() => scanner.close());
  scanner.scanSync();
  // Nothing created or ended between two scans (retried: other work on the machine may fork).
  await waitFor(() => {
    const before = scanner.listings();
    scanner.scanSync();
    return scanner.listings() === before;
  }, { what: 'a scan that reused the listing' });
  const { child, pid } = sleeper(t);
  const before = scanner.listings();
  assert.ok(scanner.scanSync().byPid.has(pid), 'a new process is in the very next scan');
  assert.ok(scanner.listings() > before, 'listed again for it');
  process.kill(pid, 'SIGKILL');
  child.unref();
  await waitFor(() => readProcState(pid) === null, { what: 'reaped', timeoutMs: 10_000 });
  assert.equal(scanner.scanSync().byPid.has(pid), false, 'an ended process is gone from the very next scan');
});

test('in a PID namespace whose /proc is an outer one, every scan lists /proc (loadavg\'s last pid is of the reader\'s namespace)', (t) => {
  const asRoot = process.getuid?.() === 0;
  const prefix = asRoot ? ['--pid', '--fork'] : ['--user', '--map-root-user', '--pid', '--fork'];
  if (spawnSync('unshare', [...prefix, 'true']).status !== 0) return t.skip('unshare --pid refused here');
  const scanner = new URL('../../src/probe/snapshot.js', import.meta.url).href;
  const script = `const { createProcScanner } = await import(${JSON.stringify(scanner)});
const s = createProcScanner();
for (let i = 0; i < 3; i++) s.scanSync();
console.log(s.listings());`;
  const r = spawnSync('unshare', [...prefix, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '3');
});
