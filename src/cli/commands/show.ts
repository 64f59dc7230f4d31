/** `reaper show RUN|last`: what each task and stage of a run did, and why (src/launch/history.ts). */
import { ReaperError } from '../../model/errors.js';
import { formatRunHistoryLines, readRunHistory, resolveRunId, stateDir } from '../../launch/index.js';
import { sanitizeText } from '../../model/sanitize.js';
import { parseFlags, parseIntFlag, type FlagSpec } from '../flags.js';
import { buildShowDocument } from '../render/history-json.js';
import { toSafeJson } from '../../model/sanitize.js';

const HELP = `Usage
  reaper show RUN|last [--lines N] [--json]

Shows one run from its journal: each task and stage with its outcome, exit code or signal,
reason, duration, GPU and log files, and the last lines of stderr of each failed stage.
RUN is a whole run id, "last" (the newest run), or a unique prefix of at least 8 characters.
  --lines N  lines of stderr per failed stage (default 10; 0: none; at most 1000)
  --json     one JSON document
Exit: 0 shown, 1 the run's journal cannot be read, 2 unknown run or bad arguments.`;

const SPEC: FlagSpec = { lines: { type: 'string' }, json: { type: 'boolean' } };

export const DEFAULT_LINES = 10;

export interface ShowArgs {
  readonly run: string;
  readonly lines: number;
  readonly json: boolean;
}

export function parseShowArgs(argv: string[]): ShowArgs | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const { input, flags } = parseFlags(argv, SPEC, HELP);
  if (input.length !== 1) throw new ReaperError('USAGE', input.length === 0 ? 'show: expected a run id (or "last")' : `show: expected one run id, got ${input.length} arguments`);
  if (flags.lines === '' || flags.lines === null) throw new ReaperError('USAGE', '--lines needs a value');
  const lines = parseIntFlag('lines', flags.lines, { min: 0, max: 1000 }) ?? DEFAULT_LINES;
  return { run: String(input[0]), lines, json: flags.json === true };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseShowArgs(argv);
  if (args === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const state = stateDir(process.env);
  const id = resolveRunId(state, args.run);
  const entry = readRunHistory(state, id, { tailLines: args.lines });
  if (entry.kind === 'unreadable') {
    if (args.json) process.stdout.write(toSafeJson({ id: entry.id, dir: entry.dir, readable: false, unreadable: entry.reason }) + '\n');
    process.stderr.write(`reaper: run ${entry.id} is unreadable: ${sanitizeText(entry.reason)}\n`);
    return 1;
  }
  // A Slurm run's stage attempts without an end record: what Slurm says of their jobs now.
  const { openJobsOfHistory, readSlurmJobStatus } = await import('../../launch/slurm-status.js');
  const open = openJobsOfHistory(entry, { all: true });
  const status = open.length > 0 ? await readSlurmJobStatus(open) : null;
  const live = status ? { jobs: status.byRun.get(entry.id) ?? [], error: status.error } : null;
  if (args.json) process.stdout.write(toSafeJson(buildShowDocument(entry, live)) + '\n');
  // Not cut to the terminal: log paths and stderr lines are what the operator came for.
  else process.stdout.write(formatRunHistoryLines(entry, undefined, live).join('\n') + '\n');
  return 0;
}
