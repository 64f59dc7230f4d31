/**
 * The columns `ps` also prints must equal what ps prints (RSS is VmRSS, not stat's approximate
 * field 24), and one process with a huge argv must not make scans read or search megabytes:
 * cmdline is read up to CMDLINE_CAP and shown cut with `…`.
 */
import assert from 'node:assert/strict';
import { CLI_MAX_BUFFER } from '../helpers/wait-for.js';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { CUT_MARK } from '../../src/probe/proc-cmdline.js';
import { CMDLINE_CAP, GrowBuffer } from '../../src/probe/proc-read.js';
import { createProcScanner } from '../../src/probe/snapshot.js';
import { PYTHON } from '../helpers/proc-tree.js';
import { waitFor } from '../helpers/wait-for.js';

const children: ChildProcess[] = [];
let huge: ChildProcess;
let holder: ChildProcess;
let plain: ChildProcess;
/** 15 arguments of 127 KiB (the kernel caps one argument at 128 KiB): about 1.9 MB of argv. */
const BIG_ARGS = Array.from({ length: 15 }, (_, i) => String.fromCharCode(97 + i).repeat(127 * 1024));

function start(argv: string[]): ChildProcess {
  const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  return c;
}

function firstLine(c: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    c.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.slice(0, buf.indexOf('\n')));
    });
    c.once('exit', (code) => reject(new Error(`fixture exited (${code})`)));
  });
}

before(async () => {
  // Sleeps in Python with the huge argv in sys.argv; prints once it runs.
  huge = start([PYTHON, '-c', 'import time; print("up", flush=True); time.sleep(600)', ...BIG_ARGS]);
  // Touches 40 MiB, says so, sleeps; on SIGUSR1 touches 40 MiB more and says so again.
  holder = start([
    PYTHON,
    '-c',
    'import signal, time\nkeep=[bytearray(40<<20)]\ndef more(*_):\n    keep.append(bytearray(40<<20)); print("more", flush=True)\nsignal.signal(signal.SIGUSR1, more)\nprint("up", flush=True)\nwhile True: time.sleep(600)',
  ]);
  plain = start(['sh', '-c', 'echo up; exec sleep 600']);
  await Promise.all([firstLine(huge), firstLine(holder), firstLine(plain)]);
  // `sh` printed before its exec: wait until the pid runs sleep.
  await waitFor(() => psRss(plain.pid!) !== null && execFileSync('ps', ['-o', 'comm=', '-p', String(plain.pid)]).toString().trim() === 'sleep', { what: 'sleep to be exec' });
});

after(() => {
  for (const c of children) c.kill('SIGKILL');
});

function psRss(pid: number): number | null {
  try {
    const out = execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { env: { ...process.env, LC_ALL: 'C' } }).toString().trim();
    return out === '' ? null : Number(out);
  } catch {
    return null;
  }
}

/** Our RSS and ps's, read until two reads of ps agree around ours (an idle process settles). */
async function rssMatches(read: () => number | null, pid: number): Promise<void> {
  await waitFor(
    () => {
      const before = psRss(pid);
      const ours = read();
      const after = psRss(pid);
      return before !== null && before === after && ours === before ? true : null;
    },
    { timeoutMs: 10_000, what: `RSS of ${pid} to equal ps -o rss` },
  );
}

test('RSS equals ps -o rss (VmRSS), for a fresh scanner and for a long-lived one after growth', async () => {
  for (const c of [holder, plain, huge]) {
    await rssMatches(() => createProcScanner().scanSync().byPid.get(c.pid!)?.rssKiB ?? null, c.pid!);
  }
  // A long-lived scanner that reads status rarely: a process whose memory grows shows ps's figure.
  const live = createProcScanner({ statusRefreshEvery: 1000, argvRefreshEvery: 1000 });
  try {
    await rssMatches(() => live.scanSync().byPid.get(holder.pid!)?.rssKiB ?? null, holder.pid!);
    const before = live.scanSync().byPid.get(holder.pid!)!.rssKiB!;
    const grown = new Promise<void>((resolve) => holder.stdout!.on('data', (d: Buffer) => d.toString().includes('more') && resolve()));
    holder.kill('SIGUSR1');
    await grown;
    await rssMatches(() => live.scanSync().byPid.get(holder.pid!)?.rssKiB ?? null, holder.pid!);
    assert.ok(live.scanSync().byPid.get(holder.pid!)!.rssKiB! >= before + 30 * 1024, 'the growth is seen');
  } finally {
    live.close();
  }
});

test('a 1.9 MB argv is read up to the cap, shown cut with …, and the buffer stays capped', () => {
  const pid = huge.pid!;
  const grow = new GrowBuffer(64 * 1024);
  const n = grow.readAll(`/proc/${pid}/cmdline`, CMDLINE_CAP);
  assert.equal(n, CMDLINE_CAP);
  assert.equal(grow.truncated, true);
  assert.ok(grow.buf.length <= CMDLINE_CAP, `buffer ${grow.buf.length} bytes`);
  // The same buffer then reads a small file: only its bytes count, nothing is cut.
  const m = grow.readAll(`/proc/${plain.pid}/cmdline`, CMDLINE_CAP);
  assert.equal(grow.buf.toString('utf8', 0, m), 'sleep\x00600\x00');
  assert.equal(grow.truncated, false);

  const p = createProcScanner().scanSync().byPid.get(pid)!;
  assert.ok(p, 'listed');
  const argv = p.argv!;
  assert.match(argv[0]!, /python/);
  assert.equal(argv[1], '-c');
  const last = argv[argv.length - 1]!;
  assert.ok(last.endsWith(CUT_MARK), 'the cut argument ends in …');
  const bytes = argv.reduce((a, x) => a + Buffer.byteLength(x) + 1, 0) - Buffer.byteLength(CUT_MARK);
  assert.ok(bytes <= CMDLINE_CAP + 1, `argv holds ${bytes} bytes`);
  // Every full argument before the cut is the real one.
  const firstBig = argv.indexOf(BIG_ARGS[0]!);
  assert.ok(firstBig > 0, 'the first big argument is whole');
  assert.ok(BIG_ARGS[argv.length - 1 - firstBig]!.startsWith(last.slice(0, -CUT_MARK.length)));
  assert.ok(p.cmd.endsWith(CUT_MARK));
});

/** ps cuts a user name longer than 8 characters to 7 and a '+'; `ls` prints it whole. */
function asPsShowsUser(u: string): string {
  return u.length > 8 ? u.slice(0, 7) + '+' : u;
}

test('ls text and --json: RSS, STAT, USER, %CPU and ELAPSED of a process equal what ps prints for it', async () => {
  const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const pid = holder.pid!;
  const etimeSec = (s: string): number => {
    const m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(s.trim())!;
    return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3]) * 60 + Number(m[4]);
  };
  await waitFor(
    () => {
      const ps = execFileSync('ps', ['-o', 'rss=,stat=,ruser=,pcpu=,etime=', '-p', String(pid)], { env: { ...process.env, LC_ALL: 'C' } }).toString().trim().split(/\s+/);
      const r = spawnSync(process.execPath, [CLI, 'ls', '--pid', String(pid), '--gpus', 'none'], { maxBuffer: CLI_MAX_BUFFER,  encoding: 'utf8' });
      const row = r.stdout.trimEnd().split('\n')[1]!.trim().split(/\s+/);
      // Row: [!] PID USER STAT %CPU RSS GPU GPUMEM ELAPSED COMMAND…
      const cells = row[0] === '!' ? row.slice(1) : row;
      const [, user, stat, cpu, rss, , , elapsed] = cells;
      const j = spawnSync(process.execPath, [CLI, 'ls', '--json', '--pid', String(pid), '--gpus', 'none'], { maxBuffer: CLI_MAX_BUFFER,  encoding: 'utf8' });
      const doc = JSON.parse(j.stdout) as { processes: { rssKiB: number; stat: string; cpuPercent: number }[] };
      const jp = doc.processes[0]!;
      const jsonOk = String(jp.rssKiB) === ps[0] && jp.stat === ps[1] && jp.cpuPercent.toFixed(1) === Number(ps[3]).toFixed(1);
      return jsonOk && rss === ps[0] && stat === ps[1] && asPsShowsUser(user!) === ps[2] && cpu === Number(ps[3]).toFixed(1) && Math.abs(etimeSec(elapsed!) - etimeSec(ps[4]!)) <= 1;
    },
    { timeoutMs: 10_000, what: 'ls columns to equal ps' },
  );
});
