/** The live screen's scanner option idleSkip: idle sleepers may go unread one scan, no more. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createProcScanner } from '../../src/probe/snapshot.js';
import { waitFor } from '../helpers/wait-for.js';

test('idleSkip 1: a stopped idle sleeper shows T within two scans, an exit at once', async (t) => {
  const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  const pid = child.pid!;
  t.after(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  const scanner = createProcScanner({ idleSkip: 1 });
  t.after(() => scanner.close());
  await waitFor(() => scanner.scanSync().byPid.get(pid)?.comm === 'sleep', { what: 'sleep exec' });
  // Three identical reads make it idle; from then on it may be skipped every other scan.
  for (let i = 0; i < 4; i++) assert.equal(scanner.scanSync().byPid.get(pid)?.state, 'S');

  process.kill(pid, 'SIGSTOP');
  await waitFor(() => stateOf(pid) === 'T', { what: 'kernel says T' });
  const states = [scanner.scanSync().byPid.get(pid)?.state, scanner.scanSync().byPid.get(pid)?.state];
  assert.equal(states[1], 'T', `seen within two scans: ${states.join(',')}`);

  process.kill(pid, 'SIGKILL');
  child.unref();
  await waitFor(() => stateOf(pid) === null || stateOf(pid) === 'Z', { what: 'exit' });
  await waitFor(() => stateOf(pid) === null, { what: 'reaped', timeoutMs: 10_000 });
  assert.equal(scanner.scanSync().byPid.has(pid), false, 'an exited process is gone on the next scan');
});

function stateOf(pid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}
