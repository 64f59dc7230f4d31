/**
 * The hosts lab really is several hosts: each answers with its own hostname, a process started on
 * host1 is invisible on host2 (and is a real process of this machine, ended by a remote kill), each
 * has its own home, and this checkout's `reaper ls --json` runs there through the `ssh` wrapper
 * and sees only that host. Needs the lab (test/lab/hosts-start.sh); skipped with the reason otherwise.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostsLab, pidsWithCmdline, type HostsLab } from '../helpers/ssh-lab.js';
import { CLI_MAX_BUFFER, waitFor } from '../helpers/wait-for.js';

const check = await hostsLab();
const skip = check.why ?? false;
const tag = `reaper-lab-t${process.pid}x${Date.now().toString(36)}`;

function lab(): HostsLab {
  if (!check.lab) throw new Error(check.why);
  return check.lab;
}

/** `ssh HOST CMD` through the lab's wrapper in PATH, as a user of the lab would type it. */
function ssh(host: string, cmd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ssh', [host, cmd], { env: lab().env, encoding: 'utf8', timeout: 30_000, maxBuffer: CLI_MAX_BUFFER });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

after(() => {
  // Whatever a failed test left: only processes carrying this file's own tag.
  for (const pid of pidsWithCmdline(tag)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

describe('hosts lab', { skip }, () => {
  it('every host answers with its own hostname, and its PID 1 is its sshd', () => {
    for (const h of lab().hosts) {
      const r = ssh(h, 'echo "$(hostname) $(cat /proc/1/comm) $(id -un)"');
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), `${h} sshd ${lab().user}`);
    }
  });

  it('a process started on host1 is invisible on host2, real on this machine, and a remote kill ends it', async () => {
    const [h1, h2] = lab().hosts;
    assert.ok(h2, 'the lab has at least two hosts');
    const r = ssh(h1!, `setsid bash -c 'exec -a ${tag} sleep 600' </dev/null >/dev/null 2>&1 & echo $!`);
    assert.equal(r.status, 0, r.stderr);
    const inner = Number(r.stdout.trim());
    assert.ok(inner > 1, r.stdout);
    const real = await waitFor(() => pidsWithCmdline(tag)[0], { what: `${tag} on this machine` });
    const seen = (host: string): string => ssh(host, `ps -eo pid=,args= | grep -F ${tag} | grep -v grep || true`).stdout.trim();
    assert.match(seen(h1!), new RegExp(`^${inner} ${tag}`));
    assert.equal(seen(h2!), '');
    // The host's pid is the innermost NSpid of the real process.
    const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${real}/status`, 'utf8'))![1]!.trim().split(/\s+/).map(Number);
    assert.deepEqual([nspid[0], nspid[nspid.length - 1]], [real, inner]);
    assert.equal(ssh(h1!, `kill ${inner}`).status, 0);
    await waitFor(() => pidsWithCmdline(tag).length === 0, { what: `${tag} gone after the kill on ${h1}` });
  });

  it('each host has its own home folder', () => {
    const [h1, h2] = lab().hosts;
    assert.equal(ssh(h1!, `echo one > ~/${tag}`).status, 0);
    try {
      assert.equal(ssh(h2!, `cat ~/${tag} 2>/dev/null || echo absent`).stdout.trim(), 'absent');
      assert.equal(ssh(h1!, `cat ~/${tag}`).stdout.trim(), 'one');
    } finally {
      ssh(h1!, `rm -f ~/${tag}`);
    }
  });

  it("this checkout's reaper ls --json runs on host2 and sees only host2", { skip: check.lab && !check.lab.remoteCli ? check.lab.remoteCliWhy! : false }, () => {
    const h2 = lab().hosts[1]!;
    const r = ssh(h2, `${lab().remoteCli} ls --json --all`);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { processes: { pid: number; comm: string; user: string }[] };
    const pid1 = doc.processes.find((p) => p.pid === 1);
    assert.equal(pid1?.comm, 'sshd');
    // This machine runs hundreds of processes; host2 runs its sshd, one session and reaper itself.
    assert.ok(doc.processes.length < 40, `${doc.processes.length} processes seen on ${h2}`);
    assert.ok(!doc.processes.some((p) => p.pid === process.pid && p.comm === 'node' && p.user === 'root'), 'the test runner is not on host2');
  });
});
