/**
 * `reaper ls`: the process forest like `ps f` with STAT, GPU and GPU memory columns.
 *   --all        everyone (default: the current user's processes, no kernel threads)
 *   --pid N      that process and its descendants
 *   --gpu N      holders of GPU index N and their descendants
 *   --json       one JSON document (README: "reaper ls --json")
 *   --gpus auto|none|sim:N
 */
import { ReaperError } from '../../model/errors.js';
import { sanitizeText, toSafeJson } from '../../model/sanitize.js';
import { parseFlags, parseGpusFlag, parseIntFlag, type FlagSpec, type GpuSelection } from '../flags.js';
import { readSlurmView, takeMachineView, verdictsOf } from '../machine-view.js';
import { buildLsDocument } from '../render/ls-json.js';
import type { LsSelection } from '../render/ls-model.js';
import { renderLsText } from '../render/ls-text.js';
import { buildLsRuns, renderLsRunsText } from '../render/ls-runs.js';

const HELP = `Usage
  reaper ls [--all] [--leftovers] [--match REGEX] [--pid N] [--gpu N] [--json] [--gpus auto|none|sim:N]

Shows the process forest like "ps f" with STAT, GPU and GPU memory columns, then the runs
with processes or Slurm jobs left (a Slurm run's jobs: state, reason or node, elapsed, exit).
  --all        every user's processes and kernel threads (default: yours)
  --leftovers  only leftovers (rows marked "!" with their reason codes)
  --match RE   one more batch pattern: matching processes no live launcher owns are leftovers
  --pid N      process N and its descendants
  --gpu N      processes holding GPU index N and their descendants
  --json       one JSON document instead of the table
  --gpus SEL   auto (nvidia-smi when present), none, or sim:N (simulated GPUs)`;

const SPEC: FlagSpec = {
  all: { type: 'boolean' },
  leftovers: { type: 'boolean' },
  match: { type: 'string' },
  json: { type: 'boolean' },
  pid: { type: 'string' },
  gpu: { type: 'string' },
  gpus: { type: 'string' },
};

export interface LsArgs {
  readonly selection: LsSelection;
  readonly json: boolean;
  readonly leftovers: boolean;
  readonly allUsers: boolean;
  readonly match: RegExp | null;
  readonly gpus: GpuSelection;
}

/** Normalise argv once (USAGE errors for anything wrong). */
export function parseLsArgs(argv: string[], selfUid: number): LsArgs | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const { flags } = parseFlags(argv, SPEC, HELP, { command: 'ls', args: 0 });
  const pid = parseIntFlag('pid', flags.pid, { min: 1 });
  const gpu = parseIntFlag('gpu', flags.gpu, { min: 0 });
  if (pid !== undefined && gpu !== undefined) throw new ReaperError('USAGE', '--pid and --gpu cannot be combined');
  const selection: LsSelection =
    pid !== undefined ? { kind: 'pid', pid } : gpu !== undefined ? { kind: 'gpu', index: gpu } : flags.all ? { kind: 'all' } : { kind: 'user', uid: selfUid };
  let match: RegExp | null = null;
  if (flags.match !== undefined) {
    try {
      match = new RegExp(String(flags.match));
    } catch (e) {
      throw new ReaperError('USAGE', sanitizeText(`--match: bad regular expression "${String(flags.match)}": ${(e as Error).message.split('\n')[0]}`));
    }
  }
  return {
    selection,
    match,
    json: flags.json === true,
    leftovers: flags.leftovers === true,
    allUsers: flags.all === true,
    gpus: parseGpusFlag(flags.gpus),
  };
}

export async function run(argv: string[]): Promise<number> {
  const selfUid = process.getuid ? process.getuid() : -1;
  const args = parseLsArgs(argv, selfUid);
  if (args === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const view = await takeMachineView(args.gpus);
  const { snapshot } = view;
  const gpu = snapshot.gpu;
  const verdicts = verdictsOf(view, { allUsers: args.allUsers, extraPatterns: args.match ? [args.match] : [] });
  const shared = { selection: args.selection, verdicts, leftoversOnly: args.leftovers };
  // Slurm is asked only when a Slurm run without an end record has open jobs (a deadline of a few s).
  const slurm = await readSlurmView(view.runs, snapshot);
  const runs = buildLsRuns(view.runs, snapshot, slurm);
  if (args.json) {
    process.stdout.write(toSafeJson({ ...buildLsDocument(snapshot, shared), runs, slurm: { asked: slurm !== null, error: slurm?.error ?? null } }) + '\n');
  } else {
    const width = process.stdout.isTTY ? process.stdout.columns : undefined;
    process.stdout.write(renderLsText(snapshot, { ...shared, ...(width ? { width } : {}) }));
    process.stdout.write(renderLsRunsText(runs, { snapshot, slurmError: slurm?.error ?? null }));
    // No nvidia-smi under auto is the normal case on a machine without NVIDIA GPUs: stay quiet.
    if (gpu.error && !(args.gpus.kind === 'auto' && gpu.error.kind === 'not-installed')) {
      process.stderr.write(`reaper: gpu probe: ${sanitizeText(gpu.error.message)}\n`);
    }
  }
  return 0;
}
