/**
 * `npm run bench`: runs every bench/*.bench.ts (compiled next to this file), prints one table
 * of figures measured in this run (ratios against peers measured in the same run), and keeps
 * the latest table with the machine it ran on in bench/RESULTS.md.
 * Usage: node dist/bench/run-all.js [name-filter ...] [--no-write]
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { readStatSync } from '../src/probe/proc-stat.js';
import type { BenchRow } from './bench-row.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const args = process.argv.slice(2);
const write = !args.includes('--no-write');
const filters = args.filter((a) => !a.startsWith('--'));

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function table(rows: BenchRow[]): string {
  const head = ['group', 'measure', 'value', 'unit', 'note'];
  const body = rows.map((r) => [r.group, r.name, fmt(r.value), r.unit, r.note ?? '']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)].join('\n');
}

const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
const rows: BenchRow[] = [];
/**
 * Zombies re-parented to init: a bench's SIGKILLed sleepers wait there until init reaps them,
 * and some inits (this VM's among them) take seconds for 2,000. The next bench would count and
 * scan them as part of its "2,000-process machine".
 */
function initZombies(): number {
  let n = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = readStatSync(Number(d));
    if (st?.state === 'Z' && st.ppid === 1) n++;
  }
  return n;
}

async function settle(): Promise<void> {
  const t0 = Date.now();
  let n = initZombies();
  while (n > 0 && Date.now() - t0 < 60_000) {
    await new Promise((r) => setTimeout(r, 200));
    n = initZombies();
  }
  if (Date.now() - t0 > 500) process.stderr.write(`bench: waited ${((Date.now() - t0) / 1000).toFixed(1)} s for init to reap the last bench's processes${n > 0 ? ` (${n} left)` : ''}\n`);
}

for (const f of files) {
  const name = f.replace(/\.bench\.js$/, '');
  await settle();
  process.stderr.write(`bench: ${name} …\n`);
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { bench?: () => Promise<BenchRow[]> };
  if (typeof mod.bench !== 'function') continue;
  try {
    rows.push(...(await mod.bench()));
  } catch (e) {
    rows.push({ group: name, name: 'error', value: NaN, unit: '', note: String(e).split('\n')[0] });
  }
}
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, Node ${process.version}`;
const out = table(rows);
process.stdout.write(`${out}\n\nmachine: ${machine}\n`);
if (write && filters.length === 0) {
  writeFileSync(
    join(repoRoot, 'bench', 'RESULTS.md'),
    `# Latest benchmark results\n\nWritten by \`npm run bench\` on ${new Date().toISOString()}.\n\nMachine: ${machine}\n\n${out}\n`,
  );
}
