/**
 * Snapshot benchmark: reaper's /proc scanner against `ps -eo pid,ppid,pgid,sid,stat,args`,
 * ps-list, systeminformation.processes() and a plain C loop (bench/c/procscan.c, built with
 * `cc -O2` into a temp dir when a compiler exists), all in the same run, with N extra
 * sleeping processes (default 2,000; REAPER_BENCH_PROCS) in their own process group.
 *
 * "ours warm" is the steady state of a long-lived scanner (TUI refresh, reap rescans): stat
 * every scan; status on a state change and every 8th scan; argv/environ cached per identity;
 * fds every 4th scan, and only where an NVIDIA driver exists ("fds read" forces them).
 * "ours cold" is a fresh scanner (what a one-shot `reaper ls` pays): every file of every process.
 * The C floor is measured twice, on the same files as each: "sS" (stat, status) and
 * "sScef" (+ cmdline, environ, fd links).
 *
 * "reaper ls --json --all" is the whole one-shot command (node start, module loading, scan, runs,
 * analysis, JSON) against the whole `ps` command, both under /usr/bin/time (peak RSS) and run
 * back to back in every round; then one CPU profile of that command says where its time goes.
 *
 * Run alone: node dist/bench/snapshot.bench.js
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { profileBuckets } from './cpu-profile.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createProcScanner } from '../src/probe/snapshot.js';

import type { BenchRow } from './bench-row.js';
import { startSleepers } from './sleepers.js';

const GROUP = 'snapshot';
const execFileP = promisify(execFile);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function procCount(): number {
  let n = 0;
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}


function findCSource(): string | null {
  const candidates = [fileURLToPath(new URL('../../bench/c/procscan.c', import.meta.url)), join(process.cwd(), 'bench/c/procscan.c')];
  return candidates.find((p) => existsSync(p)) ?? null;
}

function buildC(dir: string): string | null {
  const src = findCSource();
  if (!src) return null;
  const out = join(dir, 'procscan');
  const r = spawnSync('cc', ['-O2', '-o', out, src], { stdio: 'ignore' });
  return r.status === 0 ? out : null;
}

/** Runs the C loop reps+1 times in one process; returns the timings after the first. */
function runC(bin: string, reps: number, files: string): number[] {
  const r = spawnSync(bin, [String(reps + 1), files], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`procscan failed: ${r.stderr}`);
  const times = r.stdout.trim().split('\n').map((l) => Number(l.split(' ')[0]));
  return times.slice(1);
}

interface Method {
  readonly key: string;
  readonly label: string;
  readonly note?: string;
  /** Run in every `every`-th round only (the slow baselines). */
  readonly every: number;
  /** Returns its own measurement in ms (wall time unless the tool times itself). */
  run(): Promise<number>;
}

const CLI = fileURLToPath(new URL('../bin/reaper.mjs', import.meta.url));
const TREE_CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const TIME = '/usr/bin/time';
const PS_ARGS = ['-eo', 'pid,ppid,pgid,sid,stat,args'];

/** A whole command under /usr/bin/time: wall ms (incl. spawn) and peak RSS in KiB. */
async function timed(dir: string, argv: string[], rss: number[]): Promise<number> {
  const out = join(dir, 'time.out');
  const t0 = performance.now();
  await execFileP(TIME, ['-f', '%M', '-o', out, ...argv], { maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - t0;
  rss.push(Number(readFileSync(out, 'utf8').trim().split('\n').pop()));
  return ms;
}

async function wall(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * All methods run round-robin, one repetition each per round, so the load of a shared machine
 * hits them alike; each figure is the median of its repetitions.
 */
export async function bench(): Promise<BenchRow[]> {
  const extra = Number(process.env.REAPER_BENCH_PROCS ?? 2000);
  const rounds = Number(process.env.REAPER_BENCH_REPS ?? 15);
  const rows: BenchRow[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'reaper-bench-'));
  const hasCc = spawnSync('cc', ['--version'], { stdio: 'ignore' }).status === 0;
  const cBin = hasCc ? buildC(tmp) : null;
  const spawned = await startSleepers(extra);
  const scanners: Array<ReturnType<typeof createProcScanner>> = [];
  const warmScanner = (opts: Parameters<typeof createProcScanner>[0]): (() => Promise<number>) => {
    const s = createProcScanner(opts);
    scanners.push(s);
    s.scanSync();
    s.scanSync();
    return () => wall(() => s.scanSync());
  };
  try {
    const n = procCount();
    rows.push({ group: GROUP, name: 'processes', value: n, unit: 'count', note: `${extra} extra sleeping` });
    const methods: Method[] = [
      { key: 'warm', label: 'ours warm (scanner)', note: 'defaults', every: 1, run: warmScanner({}) },
      { key: 'warmFds', label: 'ours warm, fds read', note: 'as on an NVIDIA machine', every: 1, run: warmScanner({ readFds: true }) },
      { key: 'exact', label: 'ours warm, status+fds every scan', every: 1, run: warmScanner({ readFds: true, statusRefreshEvery: 1, fdRefreshEvery: 1 }) },
      {
        key: 'cold',
        label: 'ours cold (new scanner)',
        note: 'argv, environ, status, fds of all',
        every: 1,
        run: () =>
          wall(() => {
            const s = createProcScanner({ readFds: true });
            s.scanSync();
            s.close();
          }),
      },
      {
        key: 'ps',
        label: 'ps -eo pid,ppid,pgid,sid,stat,args',
        note: 'incl. spawn',
        every: 1,
        run: () => wall(() => execFileP('ps', PS_ARGS, { maxBuffer: 64 * 1024 * 1024 })),
      },
    ];
    const lsRss: number[] = [];
    const psRss: number[] = [];
    const hasTime = existsSync(TIME);
    if (hasTime) {
      // Adjacent in every round: the goal rows compare these two under the same load.
      methods.push(
        { key: 'lsCli', label: 'reaper ls --json --all (whole command)', note: 'node start to exit', every: 1, run: () => timed(tmp, [process.execPath, CLI, 'ls', '--json', '--all'], lsRss) },
        { key: 'psCli', label: 'ps -eo pid,ppid,pgid,sid,stat,args (whole command)', note: 'right after each ls', every: 1, run: () => timed(tmp, ['ps', ...PS_ARGS], psRss) },
      );
    } else {
      rows.push({ group: GROUP, name: 'reaper ls --json --all (whole command)', value: NaN, unit: 'ms', note: `skipped: no ${TIME}` });
    }
    try {
      const { default: psList } = await import('ps-list');
      methods.push({ key: 'psList', label: 'ps-list', every: 3, run: () => wall(() => psList()) });
    } catch (e) {
      rows.push({ group: GROUP, name: 'ps-list', value: NaN, unit: 'ms', note: `skipped: ${String(e).split('\n')[0]}` });
    }
    try {
      const si = (await import('systeminformation')).default;
      let last = 0;
      methods.push({
        key: 'si',
        label: 'systeminformation.processes()',
        every: 3,
        run: async () => {
          // It hands back its previous result when called within 500 ms.
          const wait = last + 600 - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          const ms = await wall(() => si.processes());
          last = Date.now();
          return ms;
        },
      });
    } catch (e) {
      rows.push({ group: GROUP, name: 'systeminformation.processes()', value: NaN, unit: 'ms', note: `skipped: ${String(e).split('\n')[0]}` });
    }
    if (cBin) {
      for (const [files, label] of [
        ['s', 'C floor: stat'],
        ['sS', 'C floor: stat+status'],
        ['sSf', 'C floor: stat+status+fds'],
        ['sScef', 'C floor: +cmdline,environ,fds'],
      ] as const) {
        methods.push({ key: `c-${files}`, label, note: 'open/read/close, timed inside', every: 1, run: async () => runC(cBin, 1, files)[0]! });
      }
    } else {
      rows.push({ group: GROUP, name: 'C floor', value: NaN, unit: 'ms', note: 'skipped: no cc' });
    }

    const samples = new Map<string, number[]>(methods.map((m) => [m.key, []]));
    for (let round = 0; round < rounds; round++) {
      for (const m of methods) if (round % m.every === 0) samples.get(m.key)!.push(await m.run());
    }
    const med = new Map<string, number>();
    for (const m of methods) {
      const xs = samples.get(m.key)!;
      med.set(m.key, median(xs));
      rows.push({ group: GROUP, name: m.label, value: median(xs), unit: 'ms', note: `median of ${xs.length}${m.note ? '; ' + m.note : ''}` });
    }
    const ratio = (name: string, a: string, b: string, note?: string): void => {
      const x = med.get(a);
      const y = med.get(b);
      if (x !== undefined && y !== undefined) rows.push({ group: GROUP, name, value: x / y, unit: 'x', ...(note ? { note } : {}) });
    };
    ratio('ratio reaper ls --json --all / ps -eo (whole commands)', 'lsCli', 'psCli', 'goal <= 1.0; median of alternated runs');
    if (lsRss.length > 0) {
      rows.push({ group: GROUP, name: 'RSS reaper ls --json --all', value: median(lsRss) / 1024, unit: 'MiB', note: `peak, median of ${lsRss.length}; goal <= 60` });
      rows.push({ group: GROUP, name: 'RSS ps -eo pid,ppid,pgid,sid,stat,args', value: median(psRss) / 1024, unit: 'MiB', note: `peak, median of ${psRss.length}` });
    }
    ratio('ratio ps -eo / ours warm', 'ps', 'warm', 'goal >= 4');
    ratio('ratio ps -eo / ours warm, fds read', 'ps', 'warmFds');
    ratio('ratio ps -eo / ours cold', 'ps', 'cold');
    ratio('ratio ps-list / ours warm', 'psList', 'warm');
    ratio('ratio systeminformation / ours warm', 'si', 'warm');
    ratio('ratio ours warm / C stat', 'warm', 'c-s', 'goal <= 2');
    ratio('ratio ours every-scan / C stat+status+fds', 'exact', 'c-sSf', 'goal <= 2');
    ratio('ratio ours cold / C all files', 'cold', 'c-sScef', 'goal <= 2');

    // Where a one-shot ls spends its time: one CPU profile, self time by kind.
    const profDir = join(tmp, 'prof');
    // The compiled tree, not the bundle: its frames name their modules (src/probe/…), which the
    // bundle's chunks do not; its module loading is the tree's (~400 files), more than the bundle's.
    await execFileP(process.execPath, ['--cpu-prof', '--cpu-prof-dir', profDir, TREE_CLI, 'ls', '--json', '--all'], { maxBuffer: 256 * 1024 * 1024 });
    const profFile = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (profFile) {
      for (const b of profileBuckets(JSON.parse(readFileSync(join(profDir, profFile), 'utf8')))) {
        rows.push({ group: GROUP, name: `ls profile (compiled tree): ${b.name}`, value: b.ms, unit: 'ms', note: b.note });
      }
    }

    // One process with a 1.9 MB argv (15 arguments of 127 KiB, under the kernel's per-argument
    // limit) among the others: a one-shot scan reads at most 128 KiB of it and searches only
    // what it read (it once grew its buffer to the whole argv and searched all of it: 8–47×).
    const big = spawn('python3', ['-c', 'import time; time.sleep(600)', ...Array.from({ length: 15 }, (_, i) => String(i % 10).repeat(127 * 1024))], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const xs: number[] = [];
      const without: number[] = [];
      const coldScan = (): Promise<number> =>
        wall(() => {
          const sc = createProcScanner({ readFds: true });
          sc.scanSync();
          sc.close();
        });
      for (let i = 0; i < 5; i++) xs.push(await coldScan());
      big.kill('SIGKILL');
      await new Promise((r) => big.once('exit', r));
      for (let i = 0; i < 5; i++) without.push(await coldScan());
      rows.push({ group: GROUP, name: 'ours cold, one 1.9 MB argv among them', value: median(xs), unit: 'ms', note: 'median of 5' });
      rows.push({ group: GROUP, name: 'ours cold, the same without it', value: median(without), unit: 'ms', note: 'median of 5, right after' });
      rows.push({ group: GROUP, name: 'ratio with / without the 1.9 MB argv', value: median(xs) / median(without), unit: 'x', note: 'was 8–47x before the read cap' });
    } finally {
      big.kill('SIGKILL');
    }
  } finally {
    for (const s of scanners) s.close();
    spawned.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await bench();
  for (const r of rows) {
    const v = Number.isFinite(r.value) ? (Math.abs(r.value) >= 100 ? r.value.toFixed(0) : r.value.toFixed(2)) : 'n/a';
    process.stdout.write(`${r.name.padEnd(40)} ${v.padStart(8)} ${r.unit.padEnd(5)} ${r.note ?? ''}\n`);
  }
}
