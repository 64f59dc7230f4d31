/**
 * The one-shot commands over several hosts, on the real SSH lab (test/lab/hosts-start.sh: three
 * sshd "hosts", each PID 1 of its own PID namespace; skipped with the reason without it). Each
 * host runs this checkout's reaper (a hosts file names the command). Covered: ls --hosts JSON and
 * text (host on every row, hosts[] with latency; a process started on host2 only under host2), a
 * dead host and a hung host cost their own line within their deadline, a garbage answer and an
 * incompatible reaper are their host's error, reap --host kills on its host only, a target
 * replaced between plan and act is refused, stop --host passes through, install --host copies the
 * single-file executable (and refuses another architecture) and a Node-less host answers with it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeMaster } from '../../src/remote/ssh.js';
import { openHostTransport } from '../../src/cli/hosts/fanout.js';
import { actOnHost, planOnHost } from '../../src/cli/hosts/reap-host.js';
import { checkoutDir, hostsLab, pidsWithCmdline, type HostsLab } from '../helpers/ssh-lab.js';
import { CLI_MAX_BUFFER, waitFor } from '../helpers/wait-for.js';

const check = await hostsLab();
const skip = check.why ?? (check.lab && !check.lab.remoteCli ? check.lab.remoteCliWhy : null) ?? false;
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(checkoutDir, 'package.json'), 'utf8')) as { version: string }).version;
const work = mkdtempSync(join(tmpdir(), 'reaper-hc-'));
const tag = `hc${process.pid}x${Date.now().toString(36)}`;
const mark = `${600 + (process.pid % 300)}.${Date.now() % 1_000_000}`;

function lab(): HostsLab {
  if (!check.lab) throw new Error(check.why ?? 'no lab');
  return check.lab;
}

/** The environment reaper runs in: the lab's ssh in PATH, our hosts file, our private masters. */
function env(hostsFile = 'hosts'): Record<string, string> {
  return { ...lab().env, XDG_CONFIG_HOME: join(work, 'cfg', hostsFile), XDG_RUNTIME_DIR: join(work, 'rt') };
}

function writeHosts(name: string, lines: string[]): void {
  mkdirSync(join(work, 'cfg', name, 'reaper'), { recursive: true });
  writeFileSync(join(work, 'cfg', name, 'reaper', 'hosts'), lines.join('\n') + '\n');
}

function cli(args: string[], e: Record<string, string> = env()): { status: number | null; stdout: string; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { env: e, encoding: 'utf8', timeout: 120_000, maxBuffer: CLI_MAX_BUFFER });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: Date.now() - t0 };
}

function ssh(host: string, cmd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ssh', [host, cmd], { env: lab().env, encoding: 'utf8', timeout: 60_000, maxBuffer: CLI_MAX_BUFFER });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** `sleep 600` named TAG on `host`, in its own session; its pid there. */
function startTagged(host: string, name = tag): number {
  const r = ssh(host, `setsid bash -c 'exec -a ${name} sleep 600' </dev/null >/dev/null 2>&1 & echo $!`);
  assert.equal(r.status, 0, r.stderr);
  const pid = Number(r.stdout.trim());
  assert.ok(pid > 1, r.stdout);
  return pid;
}

function aliveOn(host: string, pid: number, name = tag): boolean {
  return ssh(host, `ps -o args= -p ${pid} || true`).stdout.trim().startsWith(name);
}

async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

interface LsDoc {
  hosts: { name: string; ok: boolean; error: { kind: string; message: string } | null; latencyMs: number; reaperVersion: string | null }[];
  processes: { host: string; pid: number; comm: string; cmd: string; startTime: number }[];
  gpus: { host: string }[];
  runs: { host: string }[];
}

before(() => {
  if (skip) return;
  const r = lab().remoteCli!;
  writeHosts('hosts', [`host1 ${r}`, `host2 ${r}`, `host3 ${r}`]);
});

after(async () => {
  for (const pid of [...pidsWithCmdline(tag), ...pidsWithCmdline(mark)]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (check.lab) {
    ssh('host3', `rm -f ~/.local/bin/reaper ~/.local/bin/.reaper.install.*; rm -rf ~/.cache/reaper`);
    for (const h of check.lab.hosts) await closeMaster({ name: h, local: false }, { sshArgs: check.lab.sshArgs, controlDir: join(work, 'rt', 'reaper', 'ssh') });
  }
  rmSync(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
});

describe('ls --hosts on the lab', { skip }, () => {
  it('JSON: every row carries its host, hosts[] says each answered with its latency and reaper version', () => {
    const r = cli(['ls', '--hosts', 'host1,host2,host3', '--all', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as LsDoc;
    assert.deepEqual(doc.hosts.map((h) => [h.name, h.ok, h.error, h.reaperVersion]), ['host1', 'host2', 'host3'].map((n) => [n, true, null, VERSION]));
    for (const h of doc.hosts) assert.ok(Number.isInteger(h.latencyMs) && h.latencyMs > 0 && h.latencyMs < 20_000, `${h.name} ${h.latencyMs}`);
    assert.ok(doc.processes.length > 0);
    for (const p of doc.processes) assert.ok(['host1', 'host2', 'host3'].includes(p.host), JSON.stringify(p).slice(0, 200));
    // Each host is its own PID namespace: its own pid 1, its sshd.
    for (const h of ['host1', 'host2', 'host3']) assert.equal(doc.processes.find((p) => p.host === h && p.pid === 1)?.comm, 'sshd', h);
  });

  it('a process started on host2 is listed under host2 only, with host2\'s pid (JSON and text)', () => {
    const pid = startTagged('host2');
    const r = cli(['ls', '--hosts', 'host1,host2,host3', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const mine = (JSON.parse(r.stdout) as LsDoc).processes.filter((p) => p.cmd.startsWith(tag));
    assert.deepEqual(mine.map((p) => [p.host, p.pid]), [['host2', pid]]);
    const text = cli(['ls', '--hosts', 'host1,host2,host3']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout.split('\n')[0]!, /^HOST +PID USER/);
    const lines = text.stdout.split('\n').filter((l) => l.includes(tag));
    assert.equal(lines.length, 1, text.stdout);
    assert.match(lines[0]!, new RegExp(`^host2 +${pid} reaperlab .* ${tag} 600$`));
    ssh('host2', `kill -9 ${pid}`);
  });

  it('a remote argv with escape sequences reaches the terminal as text', () => {
    const s = ssh('host2', `setsid bash -c "exec -a ${tag}$'\\e]0;owned\\a\\e[2J' sleep 600" </dev/null >/dev/null 2>&1 & echo $!`);
    const pid = Number(s.stdout.trim());
    assert.ok(pid > 1, s.stdout + s.stderr);
    const r = cli(['ls', '--hosts', 'host2']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.stdout.includes('\x1b') && !r.stdout.includes('\x07'), 'no raw control character');
    assert.match(r.stdout, new RegExp(`^host2 +${pid} .* ${tag}\\\\x1b\\]0;owned\\\\x07\\\\x1b\\[2J 600$`, 'm'));
    ssh('host2', `kill -9 ${pid}`);
  });

  it('a dead host is one line and costs nothing else; a hung host ends at its deadline, its ProxyCommand killed', async () => {
    const port = await deadPort();
    const dead = `ssh://127.0.0.1:${port}`;
    const r = cli(['ls', '--hosts', `host1,${dead},host3`, '--host-timeout', '10']);
    assert.equal(r.status, 3, r.stderr);
    const lines = r.stdout.split('\n');
    const bad = lines.filter((l) => l.includes(dead));
    assert.equal(bad.length, 1, r.stdout);
    assert.match(bad[0]!, new RegExp(`^ssh://127\\.0\\.0\\.1:${port}: connection refused: .* after (\\d+) ms$`));
    const refusedMs = Number(/after (\d+) ms$/.exec(bad[0]!)![1]);
    assert.ok(refusedMs < 5000, `${refusedMs} ms to see a refused port`);
    assert.ok(lines.some((l) => /^host1 +1 root/.test(l)) || lines.some((l) => l.startsWith('host1 ')), 'host1 still listed');
    assert.ok(lines.some((l) => l.startsWith('host3 ')), 'host3 still listed');

    // A host whose connection hangs (a ProxyCommand that never answers): its deadline, not more.
    const bin = join(work, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(work, 'ssh_config'), `Include ${lab().sshConfig}\nHost hung\n  ProxyCommand sleep ${mark}\n`);
    writeFileSync(join(bin, 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F '${join(work, 'ssh_config')}' "$@"\n`, { mode: 0o755 });
    const e = { ...env(), PATH: `${bin}:${env().PATH}` };
    const h = cli(['ls', '--hosts', 'host1,hung', '--host-timeout', '3', '--json'], e);
    assert.equal(h.status, 3, h.stderr);
    const doc = JSON.parse(h.stdout) as LsDoc;
    assert.deepEqual(doc.hosts.map((x) => [x.name, x.ok, x.error?.kind ?? null]), [['host1', true, null], ['hung', false, 'timeout']]);
    assert.ok(doc.hosts[1]!.latencyMs >= 3000 && doc.hosts[1]!.latencyMs < 6000, `${doc.hosts[1]!.latencyMs} ms`);
    assert.ok(h.ms < 15_000, `${h.ms} ms in all`);
    assert.ok(doc.processes.some((p) => p.host === 'host1'));
    await waitFor(() => pidsWithCmdline(mark).length === 0, { timeoutMs: 5000, what: 'the hung ProxyCommand killed' });
  });

  it('a host that answers garbage, and one with a reaper of another schema, are their own errors', () => {
    writeHosts('bad', ['host1 echo notjson', `host2 echo '{"reaperVersion":"0.0.9","processes":[]}'; true`, `host3 ${lab().remoteCli}`]);
    const r = cli(['ls', '--hosts', 'host1,host2,host3', '--json'], env('bad'));
    assert.equal(r.status, 3, r.stderr);
    const doc = JSON.parse(r.stdout) as LsDoc;
    assert.deepEqual(doc.hosts.map((h) => [h.name, h.ok, h.error?.kind ?? null]), [['host1', false, 'garbage'], ['host2', false, 'incompatible'], ['host3', true, null]]);
    assert.match(doc.hosts[0]!.error!.message, /not JSON: "notjson ls --json"/);
    assert.match(doc.hosts[1]!.error!.message, /reaper 0\.0\.9 there prints ls --json no schema \(an older reaper\).*reaper install --host host2/);
    assert.ok(doc.processes.length > 0 && doc.processes.every((p) => p.host === 'host3'));
    // --hosts alone reads the default hosts file, and the text says the same in one line per host.
    const t = cli(['ls', '--hosts'], env('bad'));
    assert.equal(t.status, 3, t.stderr);
    assert.ok(t.stdout.split('\n').includes('host1: garbage: ls --json answered not JSON: "notjson ls --json" after ' + /host1: .* after (\d+) ms/.exec(t.stdout)![1] + ' ms'), t.stdout);
    assert.match(t.stdout, /^host2: incompatible: reaper 0\.0\.9 .* after \d+ ms$/m);
  });
});

describe('reap --host on the lab', { skip }, () => {
  it('plans on host2, shows host:pid(user), kills there only: the same command on host1 survives', async () => {
    const on2 = startTagged('host2');
    const on1 = startTagged('host1');
    await waitFor(() => pidsWithCmdline(tag).length === 2, { what: 'both tagged sleeps' });
    const dry = cli(['reap', '--host', 'host2', '--pid', String(on2), '--dry-run']);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`^  host2:${on2}\\(reaperlab\\) S\\S* +${tag} 600$`, 'm'));
    const r = cli(['reap', '--host', 'host2', '--pid', String(on2), '--signal', 'kill', '--yes', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { host: string; results: { host: string; pid: number; outcome: string }[] };
    assert.equal(doc.host, 'host2');
    assert.deepEqual(doc.results.map((x) => [x.host, x.pid, x.outcome]), [['host2', on2, 'gone']]);
    await waitFor(() => pidsWithCmdline(tag).length === 1, { what: 'host2\'s sleep gone from this machine' });
    assert.ok(aliveOn('host1', on1), 'the same command on host1 survives');
    assert.ok(!aliveOn('host2', on2));
    // A --pid that is not on the host is bad input there, and here.
    const none = cli(['reap', '--host', 'host2', '--pid', String(on1 + 100_000), '--yes']);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /^reaper: host2: --pid \d+: no such process$/m);
    ssh('host1', `kill -9 ${on1}`);
  });

  it('a target that changed between plan and act is refused ("gone or reused"), never replaced', async () => {
    const e = env();
    const t = openHostTransport(e);
    const host = { name: 'host2', local: false, command: lab().remoteCli };
    const opts = { action: 'kill' as const, graceMs: 1000, allUsers: false, helloTimeoutMs: 30_000 };
    const pid = startTagged('host2');
    const planned = await planOnHost(host, { action: 'kill', graceMs: 1000, allUsers: false, dryRun: true, yes: false, json: true, planArgs: ['reap', '--dry-run', '--json', '--signal', 'kill', '--pid', String(pid)], deadlineMs: 30_000 }, t);
    assert.ok('plan' in planned, JSON.stringify(planned));
    const target = planned.plan.targets.find((x) => x.pid === pid)!;
    assert.ok(target);
    // Same pid, another start time: a reused pid. The process there is left alone.
    const reused = await actOnHost(host, [{ pid, startTime: target.startTime + 1 }], opts, t);
    assert.ok('results' in reused, JSON.stringify(reused));
    assert.deepEqual(reused.results.map((x) => [x.pid, x.outcome]), [[pid, 'refused']]);
    assert.match(reused.results[0]!.detail!, new RegExp(`^gone or reused: pid ${pid} now belongs to another process`));
    assert.equal(reused.results[0]!.reused, true, 'flagged on the wire, not only in words');
    assert.ok(aliveOn('host2', pid), 'not signalled');
    // The planned process ends before the act: refused, and nothing else is looked for.
    ssh('host2', `kill -9 ${pid}`);
    await waitFor(() => !aliveOn('host2', pid), { what: 'the target gone' });
    const gone = await actOnHost(host, [{ pid, startTime: target.startTime }], opts, t);
    assert.ok('results' in gone, JSON.stringify(gone));
    assert.deepEqual(gone.results.map((x) => [x.pid, x.outcome, x.detail, x.reused]), [[pid, 'refused', `gone or reused: no process ${pid} here any more`, true]]);
  });
});

describe('stop --host on the lab', { skip }, () => {
  it("runs the host's reaper stop: its output and exit status pass through", async () => {
    const r = ssh('host2', `${lab().remoteCli} run --detach -- sleep ${mark} 2>/dev/null`);
    assert.equal(r.status, 0, r.stderr);
    const id = r.stdout.trim();
    assert.match(id, /^\d{8}-\d{6}-[0-9a-f]+$/);
    await waitFor(() => pidsWithCmdline(`sleep\0${mark}`).length > 0, { what: 'the run\'s sleep' });
    const s = cli(['stop', id, '--host', 'host2']);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, new RegExp(`^run ${id} stopped \\(by launcher\\); processes left alive: 0$`, 'm'));
    await waitFor(() => pidsWithCmdline(`sleep\0${mark}`).length === 0, { what: 'the run torn down' });
    const unknown = cli(['stop', 'nosuchrun', '--host', 'host2']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /^reaper: not a run id: "nosuchrun"/m);
    const dead = cli(['stop', id, '--host', `ssh://127.0.0.1:${await deadPort()}`]);
    assert.equal(dead.status, 3);
    assert.match(dead.stderr, /^reaper: ssh:\/\/127\.0\.0\.1:\d+: refused: connection refused/m);
  });
});

describe('install --host on the lab', { skip }, () => {
  const exe = join(checkoutDir, 'build', 'reaper');
  it('copies the single-file executable to ~/.local/bin/reaper; a host without Node then answers ls --hosts with it', () => {
    // The executable of this checkout (npm run package, ~10 s) unless a fresh one is there.
    const main = join(checkoutDir, 'dist', 'src', 'cli', 'hosts', 'ls-hosts.js');
    if (!existsSync(exe) || statSync(exe).mtimeMs < statSync(main).mtimeMs) {
      const b = spawnSync(process.execPath, [join(checkoutDir, 'scripts', 'package.mjs')], { encoding: 'utf8', timeout: 300_000 });
      assert.equal(b.status, 0, b.stderr);
    }
    const r = cli(['install', '--host', 'host3']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^host3: installed ~\/\.local\/bin\/reaper \(\d+\.\d MiB, Linux x86_64, sha256 [0-9a-f]{16}… checked there\) in \d+ ms$/m);
    const v = ssh('host3', 'env PATH=/nonexistent ~/.local/bin/reaper --version');
    assert.equal(v.stdout.trim(), VERSION, v.stderr);
    writeHosts('sea', ['host3 env PATH=/usr/bin/nonexistent ~/.local/bin/reaper']);
    const l = cli(['ls', '--hosts', 'host3', '--json'], env('sea'));
    assert.equal(l.status, 0, l.stdout + l.stderr);
    const doc = JSON.parse(l.stdout) as LsDoc;
    assert.deepEqual(doc.hosts.map((h) => [h.name, h.ok, h.reaperVersion]), [['host3', true, VERSION]]);
  });

  it('refuses an executable for another architecture, or no executable at all, before copying a byte', () => {
    const before = ssh('host3', 'sha256sum ~/.local/bin/reaper 2>/dev/null || echo none').stdout;
    const arm = Buffer.alloc(4096);
    arm.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
    arm.writeUInt16LE(3, 16);
    arm.writeUInt16LE(183, 18); // aarch64
    writeFileSync(join(work, 'reaper-arm'), arm);
    const r = cli(['install', '--host', 'host3', '--file', join(work, 'reaper-arm')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^reaper: host3 is Linux x86_64, the executable is for Linux aarch64: nothing copied/m);
    const s = cli(['install', '--host', 'host3', '--file', join(checkoutDir, 'README.md')]);
    assert.equal(s.status, 1);
    assert.match(s.stderr, /README\.md is not a Linux executable/);
    assert.equal(ssh('host3', 'sha256sum ~/.local/bin/reaper 2>/dev/null || echo none').stdout, before, 'nothing changed there');
    assert.equal(ssh('host3', 'ls -a ~/.local/bin | grep -c install || true').stdout.trim(), '0', 'no temporary file left');
  });
});
