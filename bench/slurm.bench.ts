/**
 * Slurm backend overhead (issue 10): N short tasks (`true`) through `reaper run --backend slurm`
 * against a plain `sbatch --array` of the same command through the same exec wrapper, in the same
 * run, on the project's Slurm lab (`npm run lab:start`). The array is timed from submission until
 * squeue no longer lists it (polled every 200 ms, as reaper polls squeue every 500 ms by default).
 * Without the lab the group is one row saying why. Run alone: node dist/bench/run-all.js slurm
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { BenchRow } from './bench-row.js';
import { timed } from './timed.js';

const CLI = fileURLToPath(new URL('../bin/reaper.mjs', import.meta.url));
const WRAPPER = fileURLToPath(new URL('../../test/lab/exec-argv.sh', import.meta.url));
const LAB_ENV = process.env.REAPER_SLURM_LAB_ENV ?? '/var/lib/reaper-lab/slurm/env';
const TASKS = 50;
const G = `slurm ${TASKS} x true`;


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function labEnv(): NodeJS.ProcessEnv | null {
  if (!existsSync(LAB_ENV)) return null;
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const line of readFileSync(LAB_ENV, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  // The output formats must be the ones reaper and this bench ask for.
  for (const k of ['SQUEUE_FORMAT', 'SQUEUE_FORMAT2', 'SACCT_FORMAT']) delete env[k];
  return env;
}

export async function bench(): Promise<BenchRow[]> {
  const env0 = labEnv();
  if (!env0) return [{ group: G, name: 'skipped', value: NaN, unit: '', note: `no Slurm lab (${LAB_ENV}); npm run lab:start` }];
  const ping = await timed('scontrol', ['ping'], env0, os.tmpdir());
  if (ping.code !== 0 || !/UP/.test(ping.out)) return [{ group: G, name: 'skipped', value: NaN, unit: '', note: 'the lab controller does not answer' }];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'reaper-slurm-bench-'));
  try {
    const batch = path.join(dir, 'bench.yaml');
    writeFileSync(batch, `name: bench\nbackend: slurm\nslurm: { gres: none }\ntasks: [${Array.from({ length: TASKS }, () => '{}').join(', ')}]\nstages:\n  t: { cmd: ["true"] }\n`);
    const env = { ...env0, XDG_STATE_HOME: dir };
    const reaper = async (): Promise<number> => {
      const r = await timed(process.execPath, [CLI, 'run', batch, '--json'], env, dir);
      if (r.code !== 0) throw new Error(`reaper run --backend slurm exited ${r.code}: ${r.out.slice(-300)}`);
      return r.ms;
    };
    const array = async (): Promise<number> => {
      const t0 = process.hrtime.bigint();
      const s = await timed('sbatch', ['--parsable', '--gres=none', '-J', 'reaper-bench-array', `--array=0-${TASKS - 1}`, '-o', '/dev/null', '-e', '/dev/null', WRAPPER, 'true'], env, dir);
      const id = s.out.trim().split(';')[0];
      if (s.code !== 0 || !id || !/^\d+$/.test(id)) throw new Error(`sbatch --array failed: ${s.out.slice(-300)}`);
      for (;;) {
        const q = await timed('squeue', ['-h', '-j', id, '-t', 'PENDING,RUNNING,COMPLETING', '-o', '%i'], env, dir);
        if (q.code === 0 && q.out.trim() === '') break;
        await sleep(200);
      }
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    // Alternated, best of 2: each pass takes tens of seconds on the lab.
    const best = { reaper: Infinity, array: Infinity };
    for (let i = 0; i < 2; i++) {
      best.array = Math.min(best.array, await array());
      best.reaper = Math.min(best.reaper, await reaper());
    }
    return [
      { group: G, name: 'reaper run --backend slurm', value: best.reaper, unit: 'ms', note: `${(best.reaper / TASKS).toFixed(0)} ms per task; one sbatch job per task, one squeue per 500 ms` },
      { group: G, name: 'sbatch --array (baseline)', value: best.array, unit: 'ms', note: `${(best.array / TASKS).toFixed(0)} ms per task; one submission, squeue polled every 200 ms` },
      { group: G, name: 'reaper / array', value: best.reaper / best.array, unit: 'x', note: 'end to end, best of 2 alternated' },
      { group: G, name: 'overhead per task', value: (best.reaper - best.array) / TASKS, unit: 'ms', note: 'reaper minus array, divided by the tasks' },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
