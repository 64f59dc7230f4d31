/**
 * The SSH transport against real processes: `local` under the same deadline and caps (no lab
 * needed), then real sshd hosts (test/lab/hosts-start.sh; skipped with the reason without them):
 * a command on host2, a ControlMaster in the private folder, a dead host, a refused key, a changed
 * host key, a hung ProxyCommand killed at the deadline with nothing left in /proc, a missing remote
 * command, a remote kill, capped output and a capped line on a stream.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifySshOutcome, closeMaster, openControlDir, openSshStream, runSsh, type SshTarget } from '../../src/remote/ssh.js';
import { hostsLab, pidsWithCmdline, type HostsLab } from '../helpers/ssh-lab.js';
import { waitFor } from '../helpers/wait-for.js';

const check = await hostsLab();
const skip = check.why ?? false;
const work = mkdtempSync(join(tmpdir(), 'reaper-ssh-'));
// A number only this file uses: `sleep 1000.<n>` is findable in /proc and is still a valid sleep.
const mark = `${1000 + (process.pid % 1000)}.${Date.now() % 1_000_000}`;
const local: SshTarget = { name: 'local', local: true };

function lab(): HostsLab {
  if (!check.lab) throw new Error(check.why);
  return check.lab;
}
const target = (name: string): SshTarget => ({ name, local: false });

after(async () => {
  if (check.lab) for (const h of check.lab.hosts) await closeMaster(target(h), { sshArgs: check.lab.sshArgs, controlDir: join(work, 'reaper', 'ssh') });
  for (const pid of pidsWithCmdline(mark)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
});

/** A TCP port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('transport: local (no SSH)', () => {
  it('runs through /bin/sh and passes the exit status', async () => {
    const o = await runSsh(local, 'echo "$((6 * 7))"; exit 3', { deadlineMs: 5000 });
    assert.equal(o.stdout, '42\n');
    assert.equal(classifySshOutcome(o)?.kind, 'remote-exit');
  });

  it('the deadline kills the whole process group: no child is left in /proc', async () => {
    const o = await runSsh(local, `sleep ${mark} & sleep ${mark}`, { deadlineMs: 300 });
    assert.equal(classifySshOutcome(o)?.kind, 'timeout');
    assert.ok(o.ms < 2000, `${o.ms} ms`);
    await waitFor(() => pidsWithCmdline(`sleep\0${mark}`).length === 0, { timeoutMs: 3000, what: 'no sleep left' });
  });

  it('stdout past the cap kills the command: bounded memory, kind too-large', async () => {
    const o = await runSsh(local, 'cat /dev/zero', { deadlineMs: 10_000, maxStdoutBytes: 1 << 20 });
    assert.equal(o.stdout.length, 1 << 20);
    assert.equal(classifySshOutcome(o)?.kind, 'too-large');
  });
});

describe('transport: no ssh binary', () => {
  it('is "ssh-missing", at once', async () => {
    const o = await runSsh(target('gpu1'), 'true', { deadlineMs: 5000, sshBinary: join(work, 'no-ssh-here') });
    assert.equal(classifySshOutcome(o)?.kind, 'ssh-missing');
    assert.ok(o.ms < 2000, `${o.ms} ms`);
  });
});

describe('transport: the hosts lab', { skip }, () => {
  const opts = () => ({ sshArgs: lab().sshArgs, controlDir: null, deadlineMs: 15_000 });

  it('runs a command on host2 and only there', async () => {
    const o = await runSsh(target('host2'), 'echo "$(hostname) $(id -un)"', opts());
    assert.equal(classifySshOutcome(o), null, o.stderr);
    assert.equal(o.stdout.trim(), `host2 ${lab().user}`);
  });

  it('multiplexes through a master in the private folder; later calls reuse it', async () => {
    // The folder the way reaper makes it: XDG_RUNTIME_DIR=<work>, so <work>/reaper/ssh.
    const made = openControlDir({ XDG_RUNTIME_DIR: work, XDG_STATE_HOME: join(work, 'state') });
    assert.equal(made.dir, join(work, 'reaper', 'ssh'));
    const o1 = await runSsh(target('host1'), 'hostname', { ...opts(), controlDir: made.dir });
    assert.equal(o1.stdout.trim(), 'host1');
    const sockets = readdirSync(made.dir!);
    assert.equal(sockets.length, 1, sockets.join(','));
    assert.match(sockets[0]!, /^[0-9a-f]{40}$/);
    const o2 = await runSsh(target('host1'), 'hostname', { ...opts(), controlDir: made.dir });
    assert.equal(o2.stdout.trim(), 'host1');
    // The same master served both (a second connection would have been a second sshd session).
    const check = spawnSync('ssh', [...lab().sshArgs, '-o', `ControlPath=${join(made.dir!, '%C')}`, '-O', 'check', 'host1'], { encoding: 'utf8' });
    assert.match(check.stderr, /Master running/);
    await closeMaster(target('host1'), { sshArgs: lab().sshArgs, controlDir: made.dir });
  });

  it('a dead host (nothing listening) is "refused" well within its deadline', async () => {
    const o = await runSsh(target('host1'), 'true', { ...opts(), sshArgs: [...lab().sshArgs, '-p', String(await deadPort())], deadlineMs: 5000 });
    const e = classifySshOutcome(o);
    assert.equal(e?.kind, 'refused', e?.message);
    assert.ok(o.ms < 2000, `${o.ms} ms`);
  });

  it('a refused key is "auth", a changed host key is "host-key", without a prompt', async () => {
    const key = join(work, 'stranger');
    assert.equal(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]).status, 0);
    const cfg = join(work, 'stranger.cfg');
    writeFileSync(cfg, readFileSync(lab().sshConfig, 'utf8').replace(/IdentityFile .*/, `IdentityFile ${key}`));
    const a = await runSsh(target('host1'), 'true', { ...opts(), sshArgs: ['-F', cfg], deadlineMs: 10_000 });
    assert.equal(classifySshOutcome(a)?.kind, 'auth', a.stderr);
    const h = await runSsh(target('host1'), 'true', { ...opts(), sshArgs: [...lab().sshArgs, '-o', 'HostKeyAlias=host2'], deadlineMs: 10_000 });
    assert.equal(classifySshOutcome(h)?.kind, 'host-key', h.stderr);
  });

  it('a hung ProxyCommand is killed at the deadline, and neither ssh nor the proxy is left in /proc', async () => {
    const t0 = Date.now();
    const o = await runSsh(target('host1'), 'true', { ...opts(), sshArgs: [...lab().sshArgs, '-o', `ProxyCommand=sleep ${mark}`], deadlineMs: 1500, connectTimeoutS: 30 });
    const e = classifySshOutcome(o);
    assert.equal(e?.kind, 'timeout', e?.message);
    assert.ok(Date.now() - t0 < 1500 + 1000, `${Date.now() - t0} ms`);
    // Both carry the mark: ssh in its -o argument, the proxy as sleep's argument.
    await waitFor(() => pidsWithCmdline(mark).length === 0, { timeoutMs: 3000, what: `no process with ${mark} left` });
  });

  it('a missing remote command is "command-missing"; a remote command killed by a signal is "killed"', async () => {
    const m = await runSsh(target('host3'), 'reaper-no-such-command --version', opts());
    assert.equal(classifySshOutcome(m)?.kind, 'command-missing', m.stderr);
    const k = await runSsh(target('host3'), 'kill -9 $$', opts());
    assert.equal(classifySshOutcome(k)?.kind, 'killed', k.stderr);
  });

  it('output past the cap is cut and the call killed at once', async () => {
    const o = await runSsh(target('host2'), 'cat /dev/zero', { ...opts(), maxStdoutBytes: 1 << 20 });
    assert.equal(classifySshOutcome(o)?.kind, 'too-large');
    assert.equal(o.stdout.length, 1 << 20);
    assert.ok(o.ms < 10_000, `${o.ms} ms`);
  });

  it('a stream delivers lines, takes lines on stdin, and is killed on a line over its cap', async () => {
    const lines: string[] = [];
    const s = openSshStream(target('host2'), 'echo ready; read x; echo "got $x"; read y || exit 0', {
      sshArgs: lab().sshArgs,
      maxLineBytes: 1024,
      idleMs: 15_000,
      onLine: (l) => {
        lines.push(l);
        if (l === 'ready') s.send('hello there');
        if (l.startsWith('got ')) s.close();
      },
    });
    const o = await s.done;
    assert.deepEqual(lines, ['ready', 'got hello there']);
    assert.equal(classifySshOutcome(o), null, o.stderr);

    const rss0 = process.memoryUsage().rss;
    const big = openSshStream(target('host2'), 'echo first; head -c 300000000 /dev/zero; echo; echo never', {
      sshArgs: lab().sshArgs,
      maxLineBytes: 64 * 1024,
      idleMs: 15_000,
      onLine: (l) => lines.push(l),
    });
    const ob = await big.done;
    assert.equal(classifySshOutcome(ob)?.kind, 'garbage');
    assert.equal(lines.at(-1), 'first');
    assert.ok(process.memoryUsage().rss - rss0 < 100 * 1024 * 1024, 'memory stayed flat');
  });

  it('a stream that says nothing is killed after idleMs', async () => {
    // Like an agent: busy with something, and ending when its stdin ends.
    const s = openSshStream(target('host1'), `sleep ${mark} & read x; kill $!`, { sshArgs: lab().sshArgs, maxLineBytes: 1024, idleMs: 800, onLine: () => {} });
    const o = await s.done;
    assert.equal(classifySshOutcome(o)?.kind, 'timeout');
    assert.ok(o.ms < 5000, `${o.ms} ms`);
    // Without a pty sshd sends no SIGHUP: the remote side ends because its stdin reached EOF when
    // the killed ssh dropped the connection. The local ssh (whose argv carries the mark) is gone too.
    await waitFor(() => pidsWithCmdline(mark).length === 0, { timeoutMs: 5000, what: 'ssh and the remote sleep ended' });
  });
});
