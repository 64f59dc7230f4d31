/**
 * Why a job is stopped, from evidence, on a real pseudo-terminal: a background job whose member
 * reads the terminal is SIGTTIN with that member named; `sleep N & kill -STOP $!` is a signal,
 * never "SIGTTIN". Read back through the probe (/proc/PID/syscall) and the analysis.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';
import { analyze, DEFAULT_BATCH_PATTERNS } from '../../src/analysis/index.js';
import { createProcScanner } from '../../src/probe/snapshot.js';
import { waitFor } from '../helpers/wait-for.js';
import { prepareOtherUserKit } from '../helpers/other-user-kit.js';
import { cleanup, createTestUser, deleteTestUser, FIXTURES, liveWithMarker, PYTHON, runCli, spawnFixture, stateOf, uniqueMarker } from '../helpers/reap-trees.js';

const hasBash = spawnSync('bash', ['--version']).status === 0;

function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

it('a background reader of the terminal is SIGTTIN, named; sleep & kill -STOP is a signal', { skip: hasBash ? false : 'bash not installed' }, async (t) => {
  const marker = uniqueMarker();
  const secs = `3${String(Date.now() % 100000).padStart(5, '0')}`; // a sleep length nothing else uses
  const f = await spawnFixture<{ shell: number }>([
    PYTHON,
    FIXTURES + 'pty_shell.py',
    `sh -c 'sleep 600 & ${PYTHON} -c "input()" ${marker}; wait' ${marker}job &`,
    `sleep ${secs} & kill -STOP $!`,
  ]);
  const shell = f.info.shell;
  const pgids: number[] = [f.pid, shell];
  t.after(() => cleanup({ pgids, pids: [shell, f.pid], marker }));

  const reader = await waitFor(() => liveWithMarker(marker).find((p) => p.state === 'T' && argvOf(p.pid).includes('input()')), {
    what: 'reader stopped by SIGTTIN',
    timeoutMs: 20_000,
  });
  const jobLeader = liveWithMarker(marker).find((p) => argvOf(p.pid)[0] === 'sh')!;
  pgids.push(jobLeader.pid);
  // The shell's other job. `kill -STOP $!` may stop it before it has exec'd sleep: either way
  // it is stopped by a signal, inside no terminal call.
  const sleeper = await waitFor(() => {
    const kids = readFileSync(`/proc/${shell}/task/${shell}/children`, 'latin1').trim().split(/\s+/).map(Number);
    return kids.find((k) => k !== jobLeader.pid && stateOf(k) === 'T');
  }, { what: 'sleep stopped by kill -STOP' });
  pgids.push(sleeper);
  await waitFor(() => stateOf(jobLeader.pid) === 'T', { what: 'whole job group stopped' });

  const scanner = createProcScanner();
  const snapshot = scanner.scanSync();
  scanner.close();
  const v = analyze({ snapshot, runs: [], patterns: DEFAULT_BATCH_PATTERNS, allUsers: false });
  const tty = snapshot.byPid.get(reader.pid)!.tty;
  assert.match(tty ?? '', /^pts\/\d+$/);
  for (const pid of [jobLeader.pid, reader.pid]) {
    assert.deepEqual(v.get(pid)?.stopCause, { kind: 'ttin', culpritPid: reader.pid, shellPid: shell, tty }, `pid ${pid}`);
  }
  const sv = v.get(sleeper)!;
  assert.equal(sv.stopCause?.kind, 'signal', JSON.stringify(sv));
  assert.equal(sv.stopCause?.culpritPid, null);
  const stopText = sv.reasons.find((r) => r.code === 'stopped')!.text;
  assert.match(stopText, /stopped by a signal/);
  assert.doesNotMatch(stopText, /SIGTTIN|SIGTTOU/);

  // The operator's view: the dry run names the reader and the way out.
  const dry = await runCli(['reap', '--match', marker, '--dry-run', '--json', '--gpus', 'none']);
  assert.equal(dry.code, 0, dry.stderr);
  const doc = JSON.parse(dry.stdout) as { plan: { targets: Array<{ pid: number; reasons: Array<{ code: string; text: string }> }> } };
  const text = doc.plan.targets.find((x) => x.pid === jobLeader.pid)?.reasons.find((r) => r.code === 'stopped')?.text ?? '';
  assert.match(text, new RegExp(`process ${reader.pid} \\(python3\\) read the terminal ${tty} \\(SIGTTIN\\)`));
  assert.match(text, new RegExp(`fg it in shell ${shell} on ${tty}`));
});

const canSetpriv = spawnSync('setpriv', ['--version']).status === 0;

it('no evidence is "cause unknown": another user cannot read /proc/PID/syscall', { skip: process.getuid?.() !== 0 || !canSetpriv ? 'needs root and setpriv' : false }, async (t) => {
  const user = createTestUser();
  if (!user) return t.skip('useradd failed');
  const marker = uniqueMarker();
  const f = await spawnFixture<{ pid: number }>([PYTHON, '-c', 'import os, time; print(\'{"pid": %d}\' % os.getpid(), flush=True); time.sleep(600)', marker]);
  t.after(() => {
    cleanup({ pgids: [f.pid], pids: [f.pid], marker });
    deleteTestUser(user);
  });
  await prepareOtherUserKit();
  process.kill(f.pid, 'SIGSTOP');
  await waitFor(() => stateOf(f.pid) === 'T', { what: 'stopped' });
  const stoppedText = async (asUser: boolean): Promise<string> => {
    const r = await runCli(['reap', '--all-users', '--match', marker, '--dry-run', '--json', '--gpus', 'none'], asUser ? { user } : {});
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { plan: { targets: Array<{ pid: number; reasons: Array<{ code: string; text: string }> }> } };
    return doc.plan.targets.find((x) => x.pid === f.pid)?.reasons.find((r) => r.code === 'stopped')?.text ?? '';
  };
  assert.match(await stoppedText(false), /stopped by a signal \(SIGSTOP, SIGTSTP or Ctrl\+Z\)/, 'root reads the evidence');
  const other = await stoppedText(true);
  assert.match(other, /stopped by a signal, cause unknown/);
  assert.doesNotMatch(other, /SIGTTIN|SIGTTOU/);
});
