/**
 * `reaper ls`: the process forest like `ps f` with STAT, GPU and GPU memory columns.
 *   --all        everyone (default: the current user's processes, no kernel threads)
 *   --pid N      that process and its descendants
 *   --gpu N      holders of GPU index N and their descendants
 *   --json       one JSON document (README: "reaper ls --json")
 *   --gpus auto|none|sim:N
 *   --hosts H1,H2|@FILE  the same listing from several hosts at once (cli/hosts/)
 */
import { ReaperError } from '../../model/errors.js';
import { sanitizeText, toSafeJson } from '../../model/sanitize.js';
import { parseFlags, parseGpusFlag, parseIntFlag, parseSecondsFlag, type FlagSpec } from '../flags.js';
import { readSlurmView, takeMachineView, verdictsOf } from '../machine-view.js';
import { buildLsDocument } from '../render/ls-json.js';
import type { LsArgs, LsSelection } from '../render/ls-model.js';
import { renderLsText } from '../render/ls-text.js';
import { buildLsRuns, renderLsRunsText } from '../render/ls-runs.js';
import { LS_SCHEMA, readReaperVersion } from '../hosts/version.js';

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
  --gpus SEL   auto (nvidia-smi when present), none, or sim:N (simulated GPUs)
Several hosts (each runs its own "reaper ls --json" over ssh, all at once; "local" is this machine):
  --hosts H1,H2   these ssh destinations; --hosts @FILE: the hosts listed in FILE; --hosts alone:
                  the default hosts file ($XDG_CONFIG_HOME/reaper/hosts, one host and optional
                  remote command per line). Rows get a HOST column, JSON rows a "host" field.
  --host-timeout S  seconds each host has to answer, connection included (default 20)
Exit status: 0; 3 when some host did not answer (its line says why; the others are listed).`;

const SPEC: FlagSpec = {
  all: { type: 'boolean' },
  leftovers: { type: 'boolean' },
  match: { type: 'string' },
  json: { type: 'boolean' },
  pid: { type: 'string' },
  gpu: { type: 'string' },
  gpus: { type: 'string' },
  hosts: { type: 'string' },
  hostTimeout: { type: 'string' },
};

/** Normalise argv once (USAGE errors for anything wrong). */
export function parseLsArgs(argv: string[], selfUid: number): LsArgs | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  // `--hosts` with no value (last, or followed by a flag): the default hosts file. No host name
  // starts with "-" (ssh would read it as an option), so this cannot swallow a host.
  let hostsDefault = false;
  argv = argv.filter((a, i) => {
    if (a !== '--hosts' || (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-'))) return true;
    hostsDefault = true;
    return false;
  });
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
  const gpus = parseGpusFlag(flags.gpus);
  const hosts = flags.hosts !== undefined ? String(flags.hosts) : hostsDefault ? null : undefined;
  const timeout = parseSecondsFlag('hostTimeout', flags.hostTimeout, { min: 1, max: 600 });
  if (timeout !== undefined && hosts === undefined) throw new ReaperError('USAGE', '--host-timeout needs --hosts');
  const remoteArgs = ['ls', '--json'];
  if (flags.all === true) remoteArgs.push('--all');
  if (flags.leftovers === true) remoteArgs.push('--leftovers');
  if (flags.match !== undefined) remoteArgs.push('--match', String(flags.match));
  if (pid !== undefined) remoteArgs.push('--pid', String(pid));
  if (gpu !== undefined) remoteArgs.push('--gpu', String(gpu));
  if (flags.gpus !== undefined) remoteArgs.push('--gpus', String(flags.gpus));
  return {
    selection,
    match,
    json: flags.json === true,
    leftovers: flags.leftovers === true,
    allUsers: flags.all === true,
    gpus,
    hosts,
    hostTimeoutMs: Math.round((timeout ?? 20) * 1000),
    remoteArgs,
  };
}

/** This machine's `ls --json` document (what a remote `reaper ls --json` prints), and its text. */
export async function buildLocalLs(args: LsArgs, width?: number): Promise<{ doc: Record<string, unknown>; text: () => string; gpuNotice: string | null }> {
  const view = await takeMachineView(args.gpus);
  const { snapshot } = view;
  const gpu = snapshot.gpu;
  const verdicts = verdictsOf(view, { allUsers: args.allUsers, extraPatterns: args.match ? [args.match] : [] });
  const shared = { selection: args.selection, verdicts, leftoversOnly: args.leftovers };
  // Slurm is asked only when a Slurm run without an end record has open jobs (a deadline of a few s).
  const slurm = await readSlurmView(view.runs, snapshot);
  const runs = buildLsRuns(view.runs, snapshot, slurm);
  // reaperVersion and lsSchema first: `ls --hosts` checks them before reading anything else.
  const doc = { reaperVersion: await readReaperVersion(), lsSchema: LS_SCHEMA, ...buildLsDocument(snapshot, shared), runs, slurm: { asked: slurm !== null, error: slurm?.error ?? null } };
  const text = (): string =>
    renderLsText(snapshot, { ...shared, ...(width ? { width } : {}) }) + renderLsRunsText(runs, { snapshot, slurmError: slurm?.error ?? null });
  // No nvidia-smi under auto is the normal case on a machine without NVIDIA GPUs: stay quiet.
  const gpuNotice = gpu.error && !(args.gpus.kind === 'auto' && gpu.error.kind === 'not-installed') ? `reaper: gpu probe: ${sanitizeText(gpu.error.message)}` : null;
  return { doc, text, gpuNotice };
}

export async function run(argv: string[]): Promise<number> {
  const selfUid = process.getuid ? process.getuid() : -1;
  const args = parseLsArgs(argv, selfUid);
  if (args === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const width = process.stdout.isTTY ? process.stdout.columns : undefined;
  if (args.hosts !== undefined) {
    const { runLsHosts } = await import('../hosts/ls-hosts.js');
    return runLsHosts(args, { width, buildLocal: () => buildLocalLs(args) });
  }
  const local = await buildLocalLs(args, width);
  if (args.json) {
    process.stdout.write(toSafeJson(local.doc) + '\n');
  } else {
    process.stdout.write(local.text());
    if (local.gpuNotice) process.stderr.write(local.gpuNotice + '\n');
  }
  return 0;
}
