/**
 * Launcher overhead: 200 short tasks (`true`) through `reaper run` (every containment layer this
 * machine allows, and process groups + marker only) against `xargs -P` with the same concurrency
 * running the same commands, in the same run. Times include reaper's start (Node, containment
 * detection, guardian) and its final sweep; the per-task figure divides the difference by 200.
 * Run alone: node dist-<x>/bench/launch.bench.js
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { BenchRow } from './bench-row.js';
import { timed } from './timed.js';

const CLI = fileURLToPath(new URL('../bin/reaper.mjs', import.meta.url));
const TASKS = 200;
const GPUS = 2;
const PER_GPU = 4;
const CONCURRENCY = GPUS * PER_GPU;


export async function bench(): Promise<BenchRow[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'reaper-launch-bench-'));
  try {
    const batch = path.join(dir, 'bench.yaml');
    writeFileSync(batch, `name: bench\ngpus: ${GPUS}\nconcurrency: ${PER_GPU}\ngrace: 1s\ntasks: [${Array.from({ length: TASKS }, () => '{}').join(', ')}]\nstages:\n  a: { cmd: ["true"] }\n`);
    const env = { ...process.env, XDG_STATE_HOME: dir, REAPER_CONTAINMENT: '' };
    const reaperRun = async (containment: string): Promise<number> => {
      const r = await timed(process.execPath, [CLI, 'run', batch, '--gpus', `sim:${GPUS}`, '--json', '--containment', containment], env, dir);
      if (r.code !== 0) throw new Error(`reaper run (${containment}) exited ${r.code}: ${r.out.slice(-500)}`);
      return r.ms;
    };
    const xargs = async (): Promise<number> => {
      const r = await timed('sh', ['-c', `seq ${TASKS} | xargs -P ${CONCURRENCY} -I{} true`], env, dir);
      if (r.code !== 0) throw new Error(`xargs exited ${r.code}`);
      return r.ms;
    };
    const start = async (): Promise<number> => (await timed(process.execPath, [CLI, '--version'], env, dir)).ms;
    // Interleaved, best of 3: the machine is shared and noisy.
    const best = { x: Infinity, auto: Infinity, pg: Infinity, node: Infinity };
    for (let i = 0; i < 3; i++) {
      best.x = Math.min(best.x, await xargs());
      best.auto = Math.min(best.auto, await reaperRun('auto'));
      best.pg = Math.min(best.pg, await reaperRun('pgroup-only'));
      best.node = Math.min(best.node, await start());
    }
    const g = `launch ${TASKS} x true`;
    return [
      { group: g, name: `xargs -P ${CONCURRENCY}`, value: best.x, unit: 'ms' },
      { group: g, name: 'reaper run (all layers)', value: best.auto, unit: 'ms', note: 'cgroup + pidns + pdeathsig + guardian where allowed' },
      { group: g, name: 'reaper run (pgroup-only)', value: best.pg, unit: 'ms', note: 'process groups + marker' },
      { group: g, name: 'node start (reaper --version)', value: best.node, unit: 'ms' },
      { group: g, name: 'all layers / xargs', value: best.auto / best.x, unit: 'x' },
      { group: g, name: 'pgroup-only / xargs', value: best.pg / best.x, unit: 'x' },
      { group: g, name: 'overhead per task (all layers)', value: (best.auto - best.x) / TASKS, unit: 'ms' },
      { group: g, name: 'overhead per task (pgroup-only)', value: (best.pg - best.x) / TASKS, unit: 'ms' },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  bench().then(
    (rows) => {
      for (const row of rows) console.log(`${row.group.padEnd(20)} ${row.name.padEnd(34)} ${row.value.toFixed(row.unit === 'x' ? 1 : 1).padStart(9)} ${row.unit}${row.note ? '  ' + row.note : ''}`);
    },
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
