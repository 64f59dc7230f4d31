/** `reaper runs`: the recent runs from their journals, newest first (src/launch/history.ts). */
import { ReaperError } from '../../model/errors.js';
import type { LiveJobs } from '../../analysis/run-history-text.js';
import { listRunIds, readRunHistories, stateDir, type RunHistory, type RunHistoryEntry } from '../../launch/index.js';
import { parseFlags, parseIntFlag, type FlagSpec } from '../flags.js';
import { buildRunsDocument } from '../render/history-json.js';
import { renderRunsText } from '../render/history-text.js';
import { toSafeJson } from '../../model/sanitize.js';

const HELP = `Usage
  reaper runs [--limit N] [--all] [--json]

Lists the runs recorded by "reaper run", newest first: id, name, state, tasks ok and failed,
start, duration and the launcher's host; a Slurm run without an end record gets one more line
with its jobs now (or "launcher gone, N jobs left"). A run whose journal cannot be read is listed as
"unreadable: <why>"; the others are shown as usual. "reaper show RUN" tells what each task did.
  --limit N  show the N newest runs (default 20)
  --all      show every run
  --json     one JSON document: { "runs": [...], "more": <runs not shown> }`;

const SPEC: FlagSpec = { limit: { type: 'string' }, all: { type: 'boolean' }, json: { type: 'boolean' } };

export interface RunsArgs {
  readonly limit: number | null;
  readonly json: boolean;
}

export const DEFAULT_LIMIT = 20;

export function parseRunsArgs(argv: string[]): RunsArgs | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const { input, flags } = parseFlags(argv, SPEC, HELP);
  if (input.length > 0) throw new ReaperError('USAGE', `runs takes no arguments, got "${input[0]}" (did you mean "reaper show ${input[0]}"?)`);
  if (flags.limit === '' || flags.limit === null) throw new ReaperError('USAGE', '--limit needs a value');
  const limit = parseIntFlag('limit', flags.limit, { min: 1, max: 1_000_000 });
  if (limit !== undefined && flags.all === true) throw new ReaperError('USAGE', '--limit and --all cannot be combined');
  return { limit: flags.all === true ? null : (limit ?? DEFAULT_LIMIT), json: flags.json === true };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseRunsArgs(argv);
  if (args === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const state = stateDir(process.env);
  const total = listRunIds(state).length;
  const entries = readRunHistories(state, args.limit === null ? {} : { limit: args.limit });
  const more = Math.max(0, total - entries.length);
  const live = await readLiveJobs(entries);
  if (args.json) process.stdout.write(toSafeJson(buildRunsDocument(entries, more, live)) + '\n');
  else process.stdout.write(renderRunsText(entries, more, process.stdout.isTTY ? process.stdout.columns : undefined, live));
  return 0;
}

/** One Slurm read for the open jobs of the shown Slurm runs without an end record; none spawned without such a job. */
async function readLiveJobs(entries: readonly RunHistoryEntry[]): Promise<Map<string, LiveJobs>> {
  const out = new Map<string, LiveJobs>();
  const runs = entries.filter((e): e is RunHistory => e.kind === 'run' && e.backend === 'slurm' && e.endedAtMs === null);
  if (runs.length === 0) return out;
  const { openJobsOfHistory, readSlurmJobStatus } = await import('../../launch/slurm-status.js');
  const open = runs.flatMap((h) => openJobsOfHistory(h));
  if (open.length === 0) return out;
  const status = await readSlurmJobStatus(open);
  for (const h of runs) if (openJobsOfHistory(h).length > 0) out.set(h.id, { jobs: status.byRun.get(h.id) ?? [], error: status.error });
  return out;
}
