/** A background job stopped by SIGTTIN on a real pseudo-terminal: the reason must say so. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';
import { waitFor } from '../helpers/wait-for.js';
import { cleanup, FIXTURES, isGone, liveWithMarker, PYTHON, runCli, spawnFixture, uniqueMarker } from '../helpers/reap-trees.js';

const hasBash = spawnSync('bash', ['--version']).status === 0;

it('stopped background job on a pty: SIGTTIN/SIGTTOU reason, then reaped', { skip: hasBash ? false : 'bash not installed' }, async (t) => {
  const marker = uniqueMarker();
  const f = await spawnFixture<{ shell: number }>([PYTHON, FIXTURES + 'tty_job.py', marker]);
  t.after(() => cleanup({ pgids: [f.pid, f.info.shell], pids: [f.info.shell, f.pid], marker }));
  const job = await waitFor(() => liveWithMarker(marker).find((p) => p.state === 'T'), { what: 'job stopped by SIGTTIN', timeoutMs: 20_000 });
  const dry = await runCli(['reap', '--match', marker, '--dry-run', '--json', '--gpus', 'none']);
  assert.equal(dry.code, 0, dry.stderr);
  const doc = JSON.parse(dry.stdout) as { plan: { targets: Array<{ pid: number; reasons: Array<{ code: string; text: string }> }> } };
  const target = doc.plan.targets.find((x) => x.pid === job.pid);
  assert.ok(target, dry.stdout);
  const stopped = target.reasons.find((r) => r.code === 'stopped');
  assert.ok(stopped, JSON.stringify(target));
  assert.match(stopped.text, /background job on pts\/\d+ .*read the terminal pts\/\d+ \(SIGTTIN\)/);
  const res = await runCli(['reap', '--match', marker, '--signal', 'kill', '--yes', '--gpus', 'none']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.ok(isGone(job.pid, job.startTime));
  assert.ok(spawnSync('kill', ['-0', String(f.info.shell)]).status === 0, 'the interactive shell itself is untouched');
});
