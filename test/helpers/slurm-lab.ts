/**
 * Is the Slurm lab (test/lab/start.sh, `npm run lab:start`) up, and where? Reads the env file the
 * lab writes, so `npm test` by hand finds it as CI does, then asks the controller (5 s deadline).
 * Tests that need the lab skip with the reason this gives.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { classifySlurmOutcome, runSlurmCommand } from '../../src/slurm/index.js';

const LAB_ENV_FILE = process.env.REAPER_SLURM_LAB_ENV ?? '/var/lib/reaper-lab/slurm/env';
/** <repo>/test/lab/, from <repo>/<outDir>/test/helpers/. */
export const labScripts = fileURLToPath(new URL('../../../test/lab/', import.meta.url));

export interface SlurmLab {
  /** The environment for Slurm clients and jobs: process.env plus the lab's file (SLURM_CONF …). */
  readonly env: Record<string, string>;
  readonly node: string;
  readonly partition: string;
  readonly gpus: number;
  readonly killWaitS: number;
  readonly version: string;
}

export type LabCheck = { lab: SlurmLab; why: null } | { lab: null; why: string };

const START = 'sudo npm run lab:start';

export function parseLabEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

let cached: Promise<LabCheck> | null = null;

/** Checked once per test file. */
export function slurmLab(): Promise<LabCheck> {
  cached ??= check();
  return cached;
}

async function check(): Promise<LabCheck> {
  if (!existsSync(LAB_ENV_FILE)) return { lab: null, why: `Slurm lab not running (no ${LAB_ENV_FILE}; start it: ${START})` };
  const file = parseLabEnv(readFileSync(LAB_ENV_FILE, 'utf8'));
  const node = file.REAPER_LAB_SLURM_NODE;
  if (!file.SLURM_CONF || !node) return { lab: null, why: `${LAB_ENV_FILE} lacks SLURM_CONF or the node name` };
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, file);
  const o = await runSlurmCommand('sinfo', ['--noheader', `--nodes=${node}`, '--format=%T'], { deadlineMs: 5000, env });
  const err = classifySlurmOutcome(o);
  if (err) return { lab: null, why: `Slurm lab not usable (${LAB_ENV_FILE} is there, but ${err.message}); restart it: ${START}` };
  const state = o.stdout.trim();
  // "planned": the backfill scheduler has reserved the node for a pending job (an earlier test
  // file's, still in the queue); it is up and takes jobs. One CI run skipped a test file on it.
  if (!/^(idle|mixed|allocated|completing|planned)/.test(state)) return { lab: null, why: `Slurm lab node ${node} is "${state}", not idle` };
  return {
    lab: {
      env,
      node,
      partition: file.REAPER_LAB_SLURM_PARTITION ?? 'lab',
      gpus: Number(file.REAPER_LAB_GPUS ?? 0),
      killWaitS: Number(file.REAPER_LAB_KILLWAIT_S ?? 30),
      version: file.REAPER_LAB_SLURM_VERSION ?? '?',
    },
    why: null,
  };
}
