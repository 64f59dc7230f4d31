/**
 * `reaper ls`: the process forest like `ps f` with STAT, GPU and GPU memory columns.
 *   --all        everyone (default: the current user's processes, no kernel threads)
 *   --pid N      that process and its descendants
 *   --gpu N      holders of GPU index N and their descendants
 *   --json       one JSON document (README: "reaper ls --json")
 *   --gpus auto|none|sim:N
 */
import { ReaperError } from '../../model/errors.js';
import { NO_GPU_STATE, type GpuState } from '../../model/gpu.js';
import type { Snapshot } from '../../model/snapshot.js';
import { takeSnapshot } from '../../probe/snapshot.js';
import { parseFlags, parseGpusFlag, parseIntFlag, type FlagSpec, type GpuSelection } from '../flags.js';
import { buildLsDocument } from '../render/ls-json.js';
import type { LsSelection } from '../render/ls-model.js';
import { renderLsText } from '../render/ls-text.js';

const HELP = `Usage
  reaper ls [--all] [--pid N] [--gpu N] [--json] [--gpus auto|none|sim:N]

Shows the process forest like "ps f" with STAT, GPU and GPU memory columns.
  --all        every user's processes and kernel threads (default: yours)
  --pid N      process N and its descendants
  --gpu N      processes holding GPU index N and their descendants
  --json       one JSON document instead of the table
  --gpus SEL   auto (nvidia-smi when present), none, or sim:N (simulated GPUs)`;

const SPEC: FlagSpec = {
  all: { type: 'boolean' },
  json: { type: 'boolean' },
  pid: { type: 'string' },
  gpu: { type: 'string' },
  gpus: { type: 'string' },
};

export interface LsArgs {
  readonly selection: LsSelection;
  readonly json: boolean;
  readonly gpus: GpuSelection;
}

/** Normalise argv once (USAGE errors for anything wrong). */
export function parseLsArgs(argv: string[], selfUid: number): LsArgs | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const { input, flags } = parseFlags(argv, SPEC, HELP);
  if (input.length > 0) throw new ReaperError('USAGE', `ls takes no arguments, got "${input[0]}"`);
  const pid = parseIntFlag('pid', flags.pid, { min: 1 });
  const gpu = parseIntFlag('gpu', flags.gpu, { min: 0 });
  if (pid !== undefined && gpu !== undefined) throw new ReaperError('USAGE', '--pid and --gpu cannot be combined');
  if (flags.pid === '' || flags.gpu === '') throw new ReaperError('USAGE', `--${flags.pid === '' ? 'pid' : 'gpu'} needs a value`);
  const selection: LsSelection =
    pid !== undefined ? { kind: 'pid', pid } : gpu !== undefined ? { kind: 'gpu', index: gpu } : flags.all ? { kind: 'all' } : { kind: 'user', uid: selfUid };
  return { selection, json: flags.json === true, gpus: parseGpusFlag(flags.gpus) };
}

/** GPU state for --gpus; a probe that cannot even start still leaves ls working. */
async function readGpuState(sel: GpuSelection): Promise<GpuState> {
  if (sel.kind === 'none') return NO_GPU_STATE;
  try {
    const { resolveGpuProbeConfig, createGpuProbe } = await import('../../probe/gpu-probe.js');
    return await createGpuProbe(resolveGpuProbeConfig(sel, process.env)).read();
  } catch (e) {
    const message = String((e as Error)?.message ?? e).split('\n')[0] ?? 'gpu probe failed';
    return { ...NO_GPU_STATE, source: sel.kind === 'sim' ? 'simulated' : 'nvidia-smi', error: { kind: 'unknown', message } };
  }
}

export async function run(argv: string[]): Promise<number> {
  const selfUid = process.getuid ? process.getuid() : -1;
  const args = parseLsArgs(argv, selfUid);
  if (args === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  // nvidia-smi runs while /proc is read.
  const gpuP = readGpuState(args.gpus);
  const procs = await takeSnapshot();
  const gpu = await gpuP;
  const snapshot: Snapshot = Object.freeze({ ...procs, gpu });
  if (args.json) {
    process.stdout.write(JSON.stringify(buildLsDocument(snapshot, { selection: args.selection })) + '\n');
  } else {
    const width = process.stdout.isTTY ? process.stdout.columns : undefined;
    process.stdout.write(renderLsText(snapshot, { selection: args.selection, ...(width ? { width } : {}) }));
    if (gpu.error) process.stderr.write(`reaper: gpu probe: ${gpu.error.message}\n`);
  }
  return 0;
}
