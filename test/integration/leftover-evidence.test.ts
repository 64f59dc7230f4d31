/**
 * "Orphaned" alone is what every daemon looks like: the default selector must never plan a
 * daemon, while a batch member whose parent died still is a leftover. Real processes only:
 * a double-forked daemon, a real sshd daemonized the same way, slurmd when installed, an
 * orphaned batch member, and a setsid GPU holder (simulated GPU). Dry runs only.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { waitFor } from '../helpers/wait-for.js';
import { cleanup, FIXTURES, liveWithMarker, PYTHON, runCli, spawnFixture, stateOf, uniqueMarker } from '../helpers/reap-trees.js';

const isRoot = process.getuid?.() === 0;
const SSHD = '/usr/sbin/sshd';
const SLURMD = ['/usr/sbin/slurmd', '/usr/local/sbin/slurmd'].find((p) => existsSync(p));

interface Listed {
  readonly pid: number;
  readonly codes: string[];
}

/** What `reap --dry-run --json` (default selector) and `ls --leftovers --json` list. */
async function listed(gpus = 'none'): Promise<{ plan: Listed[]; ls: Listed[] }> {
  const dry = await runCli(['reap', '--dry-run', '--json', '--gpus', gpus]);
  assert.equal(dry.code, 0, dry.stderr);
  const plan = (JSON.parse(dry.stdout) as { plan: { targets: Array<{ pid: number; reasons: Array<{ code: string }> }> } }).plan.targets.map((t) => ({
    pid: t.pid,
    codes: t.reasons.map((r) => r.code),
  }));
  const lsOut = await runCli(['ls', '--leftovers', '--json', '--gpus', gpus]);
  assert.equal(lsOut.code, 0, lsOut.stderr);
  const ls = (JSON.parse(lsOut.stdout) as { processes: Array<{ pid: number; leftover: { reasons: Array<{ code: string }> } | null }> }).processes
    .filter((p) => p.leftover !== null)
    .map((p) => ({ pid: p.pid, codes: p.leftover!.reasons.map((r) => r.code) }));
  return { plan, ls };
}

/** A process with an orphaned batch member's shape: its shell starts it in the background and exits. */
async function orphanedBatchMember(marker: string): Promise<number> {
  const sh = spawn('sh', ['-c', `${PYTHON} -c 'import time; time.sleep(600)' sample_diffusion.py ${marker} >/dev/null 2>&1 & echo $!`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  sh.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const pid = Number(await waitFor(() => (/^\d+\s/.test(out) ? out.trim() : null), { what: 'batch member pid' }));
  await waitFor(() => {
    try {
      return /\) S (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, 'latin1'))?.[1] === '1';
    } catch {
      return false;
    }
  }, { what: 'batch member adopted by init' });
  return pid;
}

function listening(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  try {
    return readFileSync('/proc/net/tcp', 'latin1').split('\n').some((l) => l.includes(hex) && / 0A /.test(l));
  } catch {
    return false;
  }
}

describe('the default selector never plans a daemon', () => {
  it('a double-forked daemon is not listed; an orphaned batch member is', async (t) => {
    const marker = uniqueMarker();
    const daemon = await spawnFixture<{ pid: number }>([PYTHON, FIXTURES + 'daemonize.py', PYTHON, '-c', 'import time; time.sleep(600)', `mydaemon${marker}`]);
    const member = await orphanedBatchMember(marker);
    t.after(() => cleanup({ marker }));
    await waitFor(() => stateOf(daemon.info.pid) === 'S', { what: 'daemon sleeping' });
    const { plan, ls } = await listed();
    for (const [name, rows] of [['reap --dry-run', plan], ['ls --leftovers', ls]] as const) {
      assert.ok(!rows.some((r) => r.pid === daemon.info.pid), `${name} lists the daemon ${daemon.info.pid}`);
      const m = rows.find((r) => r.pid === member);
      assert.ok(m, `${name} does not list the orphaned batch member ${member}`);
      assert.deepEqual(m.codes, ['orphaned', 'batch-pattern']);
    }
  });

  it('a real sshd, daemonized, is not listed', { skip: !existsSync(SSHD) ? `${SSHD} is not installed` : !isRoot ? 'sshd needs root' : false }, async (t) => {
    const marker = uniqueMarker();
    const dir = mkdtempSync(join(tmpdir(), `${marker}-sshd-`));
    // sshd refuses to start without its privilege separation folder; create it only if missing.
    const madePrivsep = !existsSync('/run/sshd');
    if (madePrivsep) mkdirSync('/run/sshd', { mode: 0o755 });
    t.after(() => {
      cleanup({ marker });
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
      if (madePrivsep) rmdirSync('/run/sshd');
    });
    const key = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
    if (key.status !== 0) return t.skip('ssh-keygen failed');
    const port = 20000 + Math.floor(Math.random() * 40000);
    writeFileSync(join(dir, 'cfg'), `Port ${port}\nListenAddress 127.0.0.1\nHostKey ${join(dir, 'key')}\nPidFile none\nUsePAM no\n`);
    const sshd = await spawnFixture<{ pid: number }>([PYTHON, FIXTURES + 'daemonize.py', SSHD, '-D', '-f', join(dir, 'cfg')]);
    await waitFor(() => listening(port), { what: `sshd listening on 127.0.0.1:${port}`, timeoutMs: 15_000 });
    const { plan, ls } = await listed();
    assert.ok(!plan.some((r) => r.pid === sshd.info.pid), `reap --dry-run plans sshd ${sshd.info.pid}`);
    assert.ok(!ls.some((r) => r.pid === sshd.info.pid), `ls --leftovers lists sshd ${sshd.info.pid}`);
  });

  it('a real slurmd is not listed', { skip: SLURMD ? false : 'slurmd is not installed here' }, async (t) => {
    // slurmd -D needs a cluster config; with one installed, a daemonized slurmd -D under a
    // double fork must not be listed, like sshd. Without a config it exits, and that is a skip.
    const marker = uniqueMarker();
    t.after(() => cleanup({ marker }));
    const d = await spawnFixture<{ pid: number }>([PYTHON, FIXTURES + 'daemonize.py', SLURMD!, '-D', '-N', marker]);
    const alive = await waitFor(() => stateOf(d.info.pid), { timeoutMs: 3000 }).catch(() => null);
    if (!alive) return t.skip('slurmd exited at once (no cluster configuration)');
    const { plan } = await listed();
    assert.ok(!plan.some((r) => r.pid === d.info.pid));
  });

  it('a setsid GPU holder is flagged gpu-no-owner', async (t) => {
    const marker = uniqueMarker();
    const env = { ...process.env, CUDA_VISIBLE_DEVICES: '0', REAPER_SIM_GPU_MIB: '32' };
    const holder = await spawnFixture<{ pid: number }>([PYTHON, FIXTURES + 'detach.py', PYTHON, '-c', 'import time; time.sleep(600)', `holder${marker}`], { env });
    t.after(() => cleanup({ marker }));
    await waitFor(() => liveWithMarker(marker).some((p) => p.pid === holder.info.pid && p.ppid === 1), { what: 'holder adopted' });
    const { plan } = await listed('sim:1');
    const row = plan.find((r) => r.pid === holder.info.pid);
    assert.ok(row, `the setsid holder ${holder.info.pid} is not planned`);
    assert.deepEqual(row.codes, ['orphaned', 'gpu-no-owner']);
  });
});
