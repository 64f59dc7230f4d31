/**
 * The several-host screen in a real terminal on the real SSH lab (test/lab/hosts-start.sh: each
 * host an sshd that is PID 1 of its own PID namespace): `reaper --hosts @FILE` over host1..3 and a
 * dead fourth host shows every host's group; a process started on host2 (a unique argv tag)
 * appears under host2 only; K on it, confirmed, kills it on host2 while the same-tag process on
 * host1 survives (checked in this machine's /proc through NSpid); the dead host is one line; a
 * host whose reaper never says hello costs nothing while it connects, then is one line too.
 * Every process started here carries this file's tag and is killed at the end, on every host.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeMaster } from '../../src/remote/ssh.js';
import { hostsLab, pidsWithCmdline, type HostsLab } from '../helpers/ssh-lab.js';
import { PROMPT, TmuxSession, terminalEnv, tmuxAvailable } from '../helpers/tmux-session.js';
import { CLI_MAX_BUFFER, waitFor } from '../helpers/wait-for.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const check = await hostsLab();
const skip = !tmuxAvailable() ? 'tmux is not installed' : check.why ? check.why : check.lab && !check.lab.remoteCli ? check.lab.remoteCliWhy! : false;
const tag = `reaper-hosts-e2e-${process.pid}x${Date.now().toString(36)}`;
/** The hung host's stand-in for reaper: not matched by the screen's filter for `tag`. */
const hungTag = `reaper-hung-e2e-${process.pid}x${Date.now().toString(36)}`;

function lab(): HostsLab {
  if (!check.lab) throw new Error(check.why);
  return check.lab;
}

function ssh(host: string, cmd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ssh', [host, cmd], { env: lab().env, encoding: 'utf8', timeout: 30_000, maxBuffer: CLI_MAX_BUFFER });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Starts `sleep` named TAG on a host; its pid there. */
function startTagged(host: string): number {
  const r = ssh(host, `setsid bash -c 'exec -a ${tag} sleep 600' </dev/null >/dev/null 2>&1 & echo $!`);
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

/** This machine's pid of the process that is `inner` in its host's PID namespace (NSpid), among the tagged ones. */
function realPidOf(inner: number): number | null {
  for (const pid of pidsWithCmdline(tag)) {
    try {
      const ns = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!.trim().split(/\s+/).map(Number);
      if (ns.length > 1 && ns[ns.length - 1] === inner) return pid;
    } catch {
      /* gone */
    }
  }
  return null;
}

describe('reaper --hosts in tmux on the SSH lab', { skip }, () => {
  let dir: string;
  let tm: TmuxSession | null = null;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'reaper-hosts-e2e-'));
  });
  after(async () => {
    tm?.kill();
    // Every tagged process, on every host (they are real processes of this machine).
    for (const pid of [...pidsWithCmdline(tag), ...pidsWithCmdline(hungTag)]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (check.lab) for (const h of check.lab.hosts) await closeMaster({ name: h, local: false }, { sshArgs: check.lab.sshArgs, controlDir: path.join(dir, 'rt', 'reaper', 'ssh'), env: check.lab.env });
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });

  test('every host has its group, the tagged process is under host2 only, K kills it there and only there, the dead host is one line', { timeout: 120_000 }, async () => {
    const [h1, h2, h3] = lab().hosts;
    assert.ok(h1 && h2 && h3, 'the lab has three hosts');
    const on1 = startTagged(h1);
    const on2 = startTagged(h2);
    const real1 = await waitFor(() => realPidOf(on1), { what: `host1's ${tag}` });
    const real2 = await waitFor(() => realPidOf(on2), { what: `host2's ${tag}` });
    assert.notEqual(real1, real2);

    // Nothing listens on port 9 of this machine: a host that fails at once.
    const hostsFile = path.join(dir, 'hosts');
    // And host3 once more under another name, whose "reaper" never says hello (hung after connecting).
    const hung = `${lab().user}@${h3}`;
    writeFileSync(hostsFile, [...[h1, h2, h3].map((h) => `${h} ${lab().remoteCli}`), 'ssh://reaperlab@127.0.0.1:9', `${hung} bash -c 'exec -a ${hungTag} sleep 600'`, ''].join('\n'));
    const rt = path.join(dir, 'rt');
    const env = terminalEnv({ XDG_RUNTIME_DIR: rt });
    env.PATH = lab().env.PATH;
    tm = TmuxSession.start({ width: 160, height: 45, env, vars: { PATH: env.PATH!, XDG_RUNTIME_DIR: rt, XDG_STATE_HOME: path.join(dir, 'state') }, cwd: dir });
    await waitFor(() => tm!.capture().includes(PROMPT.trimEnd()) || null, { what: 'shell prompt' });
    spawnSync('mkdir', ['-p', rt], { stdio: 'ignore' });
    tm.type(`node ${MAIN} --hosts @${hostsFile} --gpus none --all`);
    tm.keys('Enter');
    const screen = (pred: (c: string) => boolean, what: string, timeoutMs = 60_000): Promise<string> =>
      waitFor(() => {
        const c = tm!.capture();
        return pred(c) ? c : null;
      }, { timeoutMs, intervalMs: 150, what }).catch((e: Error) => {
        throw new Error(`${e.message}; screen was:\n${tm!.capture()}`);
      });
    // All processes (no GPUs here), scoped to the tag: every host's own line stays, with only its matching rows.
    await screen((c) => /^== /m.test(c), 'the first frame');
    tm.keys('g', 'g');
    tm.keys('/');
    tm.type(tag);
    tm.keys('Enter');
    const all = await screen((c) => [h1, h2, h3].every((h) => new RegExp(`^== ${h}  ok`, 'm').test(c)) && /^== ssh:\/\/reaperlab@127\.0\.0\.1:9  refused/m.test(c) && c.split(tag).length >= 3, 'all hosts with their tagged rows');
    const lines = all.split('\n');
    const at = (h: string): number => lines.findIndex((l) => l.startsWith(`== ${h} `));
    const rowsOf = (h: string, next: string | null): string[] => lines.slice(at(h) + 1, next === null ? undefined : at(next));
    assert.equal(rowsOf(h1, h2).filter((l) => l.includes(tag)).length, 1, all);
    assert.match(rowsOf(h2, h3).find((l) => l.includes(tag)) ?? '', new RegExp(`^\\s*${on2} reaperl`), all);
    assert.equal(rowsOf(h3, 'ssh://reaperlab@127.0.0.1:9').filter((l) => l.includes(tag)).length, 0, all);
    assert.match(all, new RegExp(`^== ${hung}  connecting…`, 'm'), 'the hung host is still connecting');
    assert.equal(lines.filter((l) => l.includes('127.0.0.1:9')).length, 2, `the dead host: its header item and one line\n${all}`);
    assert.match(lines[0]!, new RegExp(`${h1} ok \\d+ ms\\s+${h2} ok \\d+ ms\\s+${h3} ok \\d+ ms\\s+ssh://reaperlab@127\\.0\\.0\\.1:9 refused`));

    // Move to host2's row: == host1, its sshd (PID 1, shown as the tagged row's parent), the
    // tagged row, == host2, its sshd, the tagged row.
    tm.keys('Down', 'Down', 'Down', 'Down', 'Down');
    tm.keys('K');
    const confirm = await screen((c) => c.includes('Kill (stop, rescan, SIGKILL)'), 'the kill confirmation', 20_000);
    assert.match(confirm, new RegExp(`${h2}:${on2}\\(reaperlab\\) \\S+\\s+${tag}`));
    assert.doesNotMatch(confirm, new RegExp(`${h1}:`));
    tm.keys('y');
    await screen((c) => new RegExp(`${h2}: kill: 1 gone`).test(c), 'the result from host2', 60_000);
    await waitFor(() => realPidOf(on2) === null || null, { what: `host2's ${tag} gone from /proc` });
    assert.equal(realPidOf(on1), real1, "host1's same-tag process is alive");
    assert.equal(ssh(h1, `kill -0 ${on1} && echo alive`).stdout.trim(), 'alive');
    // Host2's row goes; host1's stays.
    await screen((c) => !c.split('\n').some((l) => new RegExp(`^\\s*\\*?\\s*!?\\s*${on2} `).test(l) && l.includes(tag)) && c.includes(`== ${h2}  ok`), "host2's row gone");
    // Everything above ran while the hung host had not said hello; it ends as one line of its own.
    const end = await screen((c) => new RegExp(`^== ${hung}  handshake: no hello from the agent within`, 'm').test(c), 'the hung host\'s error', 40_000);
    assert.match(end, new RegExp(`== ${h1}  ok`));
    tm.keys('q');
    await waitFor(() => tm!.capture().includes(PROMPT.trimEnd()) || null, { what: 'prompt back after q' });
  });
});
