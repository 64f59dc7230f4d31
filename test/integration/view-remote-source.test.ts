/**
 * RemoteSource on real processes, through the transport's `local` mode (the same stream code as
 * ssh, with /bin/sh instead): a real `reaper agent`, then killed mid-stream (an error, then a
 * reconnect with backoff); a host hung before its hello; a host sending garbage; an act with the
 * identity captured earlier, and one whose identity no longer matches (never signalled).
 * Every process started here carries this file's tag and is killed at the end.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RemoteSource } from '../../src/view/remote-source.js';
import type { LiveData } from '../../src/model/live.js';
import { pidsWithCmdline } from '../helpers/ssh-lab.js';
import { waitFor } from '../helpers/wait-for.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const tag = `reaper-rsrc-t${process.pid}x${Date.now().toString(36)}`;
const sources: RemoteSource[] = [];

after(() => {
  for (const s of sources) s.stop();
  for (const pid of pidsWithCmdline(tag)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

function source(name: string, command: string, over: { helloTimeoutMs?: number } = {}): RemoteSource {
  const s = new RemoteSource({ name, local: true, command }, { intervalMs: 200, allUsers: false, gpus: 'none', ssh: { controlDir: null }, backoffMs: { first: 200, max: 400 }, ...over });
  sources.push(s);
  s.start();
  return s;
}

const until = <T>(s: RemoteSource, pred: (d: LiveData) => T | null | undefined | false, what: string, timeoutMs = 30_000): Promise<T> =>
  waitFor(() => pred(s.getData()) || null, { timeoutMs, intervalMs: 50, what });

describe('RemoteSource', () => {
  test('a real agent: ok with its processes; killed mid-stream: one error line, no rows, then back by itself', async () => {
    // The source appends `agent --interval 200 --gpus none` to the host's command.
    const s = source('agent', `exec node ${MAIN}`);
    const first = await until(s, (d) => d.link?.state === 'ok' && d.snapshot, 'the first snapshot');
    // The agent's pid (its hello and its snapshot's selfPid): this test's own child.
    const agent = first.selfPid;
    assert.equal(first.byPid.get(agent)?.ppid, process.pid, 'the agent is our child (sh exec-ed into it)');
    process.kill(agent, 'SIGKILL');
    const down = await until(s, (d) => d.link?.state === 'error' && d.link, 'the error');
    assert.equal(down.error?.kind, 'killed');
    assert.equal(s.getData().snapshot, null, 'a host in error shows no stale rows');
    await until(s, (d) => d.link?.state === 'ok' && d.snapshot, 'reconnected');
  });

  test('hung before its hello: a handshake error within the deadline, and the hung command is killed', async () => {
    const t0 = Date.now();
    const s = source('hung', `exec bash -c 'exec -a ${tag}-hung sleep 600'`, { helloTimeoutMs: 700 });
    const l = await until(s, (d) => d.link?.state === 'error' && d.link, 'the handshake error', 10_000);
    assert.equal(l.error?.kind, 'handshake');
    assert.ok(Date.now() - t0 < 5000, `within its deadline (${Date.now() - t0} ms)`);
    s.stop();
    await waitFor(() => pidsWithCmdline(`${tag}-hung`).length === 0 || null, { what: 'the hung command killed' });
  });

  test('garbage instead of an agent: an error line, never a snapshot', async () => {
    const s = source('garbage', `i=0; while [ $i -lt 100 ]; do echo "\x1b]0;pwned\x07 not json $i"; i=$((i+1)); done; sleep 1`);
    const l = await until(s, (d) => d.link?.state === 'error' && d.link, 'the error');
    assert.equal(l.error?.kind, 'handshake');
    assert.doesNotMatch(l.error!.message, /\x1b|\x07/);
    assert.equal(s.getData().snapshot, null);
  });

  test('act: the identity captured earlier is killed by the agent; a changed identity is never signalled', async () => {
    const victim = spawn('bash', ['-c', `exec -a ${tag}-victim sleep 600`], { stdio: 'ignore', detached: true });
    const other = spawn('bash', ['-c', `exec -a ${tag}-other sleep 600`], { stdio: 'ignore', detached: true });
    const s = source('act', `exec node ${MAIN}`);
    const snap = await until(s, (d) => d.link?.state === 'ok' && d.snapshot?.byPid.has(victim.pid!) && d.snapshot?.byPid.has(other.pid!) && d.snapshot, 'both sleeps seen');
    const v = snap.byPid.get(victim.pid!)!;
    const o = snap.byPid.get(other.pid!)!;
    const target = (p: typeof v, startTime = p.startTime) => ({ pid: p.pid, startTime, uid: p.uid, user: p.user, stat: p.stat, cmd: p.cmd, reasons: [] });
    const stale = await s.signal('kill', [target(o, o.startTime + 1)], { allUsers: false });
    assert.equal(stale[0]!.outcome, 'skipped');
    assert.equal(stale[0]!.host, 'act');
    assert.equal(pidsWithCmdline(`${tag}-other`).length, 1, 'a changed identity is not signalled');
    const out = await s.signal('kill', [target(v)], { allUsers: false });
    assert.deepEqual(out.map((x) => [x.pid, x.outcome, x.host]), [[victim.pid, 'gone', 'act']]);
    await waitFor(() => pidsWithCmdline(`${tag}-victim`).length === 0 || null, { what: 'the victim gone from /proc' });
  });
});
