#!/usr/bin/env node
// What the SSH transport costs on the hosts lab (test/lab/hosts-start.sh), through src/remote/ssh.ts:
// a fresh connection vs a call over a ControlMaster, fan-out to every host, this checkout's
// `reaper ls --json` on one host, and how fast each failure is told. Needs `npm run build` and the lab.
//   node test/lab/bench-ssh.mjs [rounds=9]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const { runSsh, classifySshOutcome, closeMaster, remoteCommand } = await import(join(repo, 'dist/src/remote/ssh.js'));
const envFile = process.env.REAPER_HOSTS_LAB_ENV ?? '/var/lib/reaper-lab/hosts/env';
const env = Object.fromEntries(readFileSync(envFile, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
const hosts = env.REAPER_LAB_HOSTS.split(',').map((name) => ({ name, local: false }));
const sshArgs = ['-F', env.REAPER_LAB_SSH_CONFIG];
const rounds = Number(process.argv[2] ?? 9);
const work = mkdtempSync(join(tmpdir(), 'reaper-bench-ssh-'));
const cm = join(work, 'cm');
execFileSync('mkdir', ['-m', '700', cm]);
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const span = (a) => `median ${med(a)} ms (${Math.min(...a)}–${Math.max(...a)}, n=${a.length})`;
const call = (h, cmd, extra = {}) => runSsh(h, cmd, { deadlineMs: 15_000, sshArgs, ...extra });
const [h1, h2] = hosts;

try {
  const fresh = [];
  for (let i = 0; i < rounds; i++) fresh.push((await call(h1, 'true')).ms);
  console.log(`fresh connection, \`true\`:           ${span(fresh)}`);
  const first = (await call(h1, 'true', { controlDir: cm })).ms;
  const mux = [];
  for (let i = 0; i < rounds; i++) mux.push((await call(h1, 'true', { controlDir: cm })).ms);
  console.log(`first call (opens the master):       ${first} ms`);
  console.log(`over the master, \`true\`:            ${span(mux)}`);
  for (const h of hosts.slice(1)) await call(h, 'true', { controlDir: cm });
  const fan = [];
  const fanFresh = [];
  for (let i = 0; i < rounds; i++) {
    let t = Date.now();
    await Promise.all(hosts.map((h) => call(h, 'hostname', { controlDir: cm })));
    fan.push(Date.now() - t);
    t = Date.now();
    await Promise.all(hosts.map((h) => call(h, 'hostname')));
    fanFresh.push(Date.now() - t);
  }
  console.log(`fan-out to ${hosts.length} hosts over masters:      ${span(fan)}`);
  console.log(`fan-out to ${hosts.length} hosts, fresh:             ${span(fanFresh)}`);
  const cli = `${env.REAPER_LAB_CHECKOUT === repo.replace(/\/$/, '') ? env.REAPER_LAB_REMOTE_CHECKOUT : repo.replace(/\/$/, '')}/dist/src/cli/main.js`;
  const ls = [];
  let bytes = 0;
  for (let i = 0; i < Math.min(rounds, 5); i++) {
    const o = await call(h2, remoteCommand('node', [cli, 'ls', '--json', '--all']), { controlDir: cm });
    const e = classifySshOutcome(o);
    if (e) throw new Error(`ls on ${h2.name}: ${e.message}`);
    ls.push(o.ms);
    bytes = o.stdout.length;
  }
  console.log(`reaper ls --json --all on ${h2.name} (mux): ${span(ls)}, ${bytes} bytes`);

  const fail = async (what, target, cmd, extra) => {
    const o = await call(target, cmd, extra);
    const e = classifySshOutcome(o);
    console.log(`${what.padEnd(36)} ${String(o.ms).padStart(5)} ms  ${e ? `${e.kind}: ${e.message}` : 'ok'}`);
  };
  const key = join(work, 'stranger');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  writeFileSync(join(work, 'stranger.cfg'), readFileSync(env.REAPER_LAB_SSH_CONFIG, 'utf8').replace(/IdentityFile .*/, `IdentityFile ${key}`));
  await fail('dead host (nothing listening)', h1, 'true', { sshArgs: [...sshArgs, '-p', '1'] });
  await fail('key refused', h1, 'true', { sshArgs: ['-F', join(work, 'stranger.cfg')] });
  await fail('host key changed', h1, 'true', { sshArgs: [...sshArgs, '-o', 'HostKeyAlias=host2'] });
  await fail('hung ProxyCommand, deadline 2 s', h1, 'true', { sshArgs: [...sshArgs, '-o', 'ProxyCommand=sleep 1000'], deadlineMs: 2000, connectTimeoutS: 30 });
  await fail('hung ProxyCommand, ConnectTimeout 1', h1, 'true', { sshArgs: [...sshArgs, '-o', 'ProxyCommand=sleep 1000'], deadlineMs: 5000, connectTimeoutS: 1 });
  await fail('remote command missing', h1, 'reaper-not-here ls', {});
  await fail('remote command killed (kill -9 $$)', h1, 'kill -9 $$', {});
  await fail('100 MB of output, cap 1 MiB', h1, 'head -c 100000000 /dev/zero', { maxStdoutBytes: 1 << 20 });
} finally {
  for (const h of hosts) await closeMaster(h, { sshArgs, controlDir: cm });
  rmSync(work, { recursive: true, force: true });
}
