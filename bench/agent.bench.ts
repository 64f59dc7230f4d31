/**
 * Bytes per refresh of `reaper agent` (what one host costs a `--hosts` screen on the link), with
 * N extra sleeping processes (default 2,000; REAPER_BENCH_PROCS) whose command lines look like
 * a GPU server's (`python3 /home/…/train.py --config … --rank i`, ~110 characters), in their
 * own process group. Two agents in the same run, at the screen's 1 s interval: one sending a
 * full snapshot every time (--full-every 1), one with the defaults (deltas, a full snapshot
 * every 60 messages). Gzip of a full snapshot is shown for `ssh -C`.
 *
 * Run alone: node dist/bench/agent.bench.js
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

import type { BenchRow } from './bench-row.js';
import { startSleepers } from './sleepers.js';

const GROUP = 'agent';
const CLI = fileURLToPath(new URL('../bin/reaper.mjs', import.meta.url));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function procCount(): number {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
}


interface Capture {
  readonly full: number[];
  readonly delta: number[];
  readonly fullText: string;
  /** The agent's own CPU (user + system, ms) and RSS (KiB) when it had sent them all. */
  readonly cpuMs: number;
  readonly rssKiB: number;
}

function usageOf(pid: number): { cpuMs: number; rssKiB: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const rss = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return { cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / 100, rssKiB: Number(rss?.[1] ?? NaN) };
  } catch {
    return { cpuMs: NaN, rssKiB: NaN };
  }
}

/** Runs one agent for `messages` snapshot/delta lines and records each line's size. */
function capture(args: string[], messages: number): Promise<Capture> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'agent', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    const full: number[] = [];
    const delta: number[] = [];
    let fullText = '';
    let buf = '';
    let usage = { cpuMs: NaN, rssKiB: NaN };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('agent bench timed out'));
    }, 120_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c: string) => {
      buf += c;
      for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl + 1);
        buf = buf.slice(nl + 1);
        const bytes = Buffer.byteLength(line);
        if (line.startsWith('{"type":"snapshot"')) {
          full.push(bytes);
          fullText = line;
        } else if (line.startsWith('{"type":"delta"')) delta.push(bytes);
      }
      if (full.length + delta.length >= messages && !child.stdin.writableEnded) {
        usage = usageOf(child.pid!);
        child.stdin.end();
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve({ full, delta, fullText, ...usage });
    });
  });
}

export async function bench(): Promise<BenchRow[]> {
  const extra = Number(process.env.REAPER_BENCH_PROCS ?? 2000);
  const messages = Number(process.env.REAPER_BENCH_REPS ?? 15);
  const rows: BenchRow[] = [];
  const spawned = await startSleepers(extra, 'python3 /home/alice/projects/imagenet/train.py --config configs/resnet50-bs256.yaml --lr 0.001');
  try {
    const n = procCount();
    rows.push({ group: GROUP, name: 'processes', value: n, unit: 'count', note: `${extra} extra sleeping, ~110-char command lines` });
    const base = ['--interval', '1000', '--gpus', 'none'];
    const [always, deltas] = await Promise.all([capture([...base, '--full-every', '1'], messages), capture(base, messages)]);
    const fullMed = median(always.full.slice(1));
    rows.push({ group: GROUP, name: 'full snapshot', value: fullMed / 1024, unit: 'KiB', note: `median of ${always.full.length - 1}; ${(fullMed / n).toFixed(0)} B per process` });
    rows.push({ group: GROUP, name: 'full snapshot, gzip', value: gzipSync(always.fullText).length / 1024, unit: 'KiB', note: 'what ssh -C would carry' });
    const dMed = median(deltas.delta);
    rows.push({ group: GROUP, name: 'delta', value: dMed / 1024, unit: 'KiB', note: `median of ${deltas.delta.length} (max ${(Math.max(...deltas.delta) / 1024).toFixed(1)} KiB)` });
    const total = (c: Capture): number => [...c.full, ...c.delta].reduce((a, b) => a + b, 0);
    const perRefresh = (c: Capture): number => total(c) / (c.full.length + c.delta.length);
    rows.push({ group: GROUP, name: 'per refresh, always full', value: perRefresh(always) / 1024, unit: 'KiB', note: '--full-every 1, at 1 s: KiB/s' });
    rows.push({ group: GROUP, name: 'per refresh, deltas', value: perRefresh(deltas) / 1024, unit: 'KiB', note: `defaults (full every 60), first ${deltas.full.length + deltas.delta.length} messages incl. the first full` });
    const steady = (fullMed + 59 * dMed) / 60;
    rows.push({ group: GROUP, name: 'per refresh, deltas steady', value: steady / 1024, unit: 'KiB', note: '(1 full + 59 deltas) / 60' });
    rows.push({ group: GROUP, name: 'full / deltas steady', value: fullMed / steady, unit: 'x' });
    const msgs = (c: Capture): number => c.full.length + c.delta.length;
    rows.push({ group: GROUP, name: 'agent CPU per refresh, deltas', value: deltas.cpuMs / msgs(deltas), unit: 'ms', note: `always full: ${(always.cpuMs / msgs(always)).toFixed(0)} ms (start-up included)` });
    rows.push({ group: GROUP, name: 'agent RSS, deltas', value: deltas.rssKiB / 1024, unit: 'MiB', note: `always full: ${(always.rssKiB / 1024).toFixed(0)} MiB` });
  } finally {
    spawned.stop();
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await bench();
  for (const r of rows) {
    const v = Number.isFinite(r.value) ? (Math.abs(r.value) >= 100 ? r.value.toFixed(0) : r.value.toFixed(2)) : 'n/a';
    process.stdout.write(`${r.name.padEnd(32)} ${v.padStart(8)} ${r.unit.padEnd(5)} ${r.note ?? ''}\n`);
  }
}
