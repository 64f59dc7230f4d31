/**
 * `reaper log`: what reaper signalled, for whom, who asked, why, and what became of it, from
 * the audit log (src/actions/audit.ts): the user's own, and as root also the system-wide one,
 * merged by time, each entry once. Lines that are not reaper's own shape are skipped with a
 * warning on stderr (src/cli/render/log-entries.ts).
 */
import { filterLogEntries, parseSince, readAuditLogs, type LogFilter } from '../../actions/audit-read.js';
import { ReaperError } from '../../model/errors.js';
import { toSafeJson } from '../../model/sanitize.js';
import { parseFlags, parseIntFlag, type FlagSpec } from '../flags.js';
import { buildLogJson, renderLogText } from '../render/log-text.js';

const HELP = `Usage
  reaper log [--since 1h|30m|2d|ISO] [--user U] [--pid N] [--run ID] [--limit N] [--json]

Every signal reaper sent (reap, the screen's keys, stop, a run's teardowns and its guardian),
one line per process (or Slurm job, cancelled with scancel), oldest first: when, who asked (and through sudo), what asked, the process
(pid, owner, command), the signal, what became of it, and why it was a target.
Reads $XDG_STATE_HOME/reaper/audit.jsonl (default ~/.local/state/reaper); as root also the
system-wide log /var/log/reaper/audit.jsonl. Each log keeps one older file (audit.jsonl.1).
  --since T   only entries newer than T: 45s, 30m, 1h, 2d, 1w, or a date/time (2026-12-01T09:00)
  --user U    only processes of U, or signals U asked for (a name or a uid)
  --pid N     only process N
  --run ID    only signals of run ID (its teardowns, stop, reap --run), its Slurm jobs' scancels too
  --limit N   the N newest entries (default 100)
  --json      one JSON document: { "sources": [...], "skipped": N, "entries": [...] }`;

const SPEC: FlagSpec = {
  since: { type: 'string' },
  user: { type: 'string' },
  pid: { type: 'string' },
  run: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
};

export const DEFAULT_LOG_LIMIT = 100;

export interface LogArgs {
  readonly filter: LogFilter;
  readonly json: boolean;
}

export function parseLogArgs(argv: string[], nowMs: number): LogArgs | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const { input, flags } = parseFlags(argv, SPEC, HELP);
  if (input.length > 0) throw new ReaperError('USAGE', `log takes no arguments, got "${input[0]}" (use --pid N, --user U, --run ID …)`);
  for (const name of ['since', 'user', 'pid', 'run', 'limit'] as const) {
    if (flags[name] === '' || flags[name] === null) throw new ReaperError('USAGE', `--${name} needs a value`);
  }
  const filter: { -readonly [K in keyof LogFilter]: LogFilter[K] } = {};
  if (flags.since !== undefined) {
    const t = parseSince(String(flags.since), nowMs);
    if (t === null) throw new ReaperError('USAGE', `--since expects a duration (45s, 30m, 1h, 2d, 1w) or a date/time (2026-12-01T09:00), got "${String(flags.since)}"`);
    filter.sinceMs = t;
  }
  if (flags.user !== undefined) {
    const u = String(flags.user);
    if (!/^[A-Za-z0-9_.][A-Za-z0-9_.$-]{0,63}$/.test(u)) throw new ReaperError('USAGE', `--user expects a user name or uid, got "${u}"`);
    filter.user = u;
  }
  const pid = parseIntFlag('pid', flags.pid, { min: 1 });
  if (pid !== undefined) filter.pid = pid;
  if (flags.run !== undefined) filter.run = String(flags.run);
  filter.limit = parseIntFlag('limit', flags.limit, { min: 1, max: 10_000_000 }) ?? DEFAULT_LOG_LIMIT;
  return { filter, json: flags.json === true };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseLogArgs(argv, Date.now());
  if (args === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const warn = (line: string): void => void process.stderr.write(line + '\n');
  const euid = process.geteuid?.() ?? -1;
  const built = readAuditLogs(process.env, euid, warn);
  const { sources, skipped } = built;
  const { limit, ...rest } = args.filter;
  const all = filterLogEntries(built.entries, rest);
  const shown = limit !== undefined && all.length > limit ? all.slice(all.length - limit) : all;
  if (args.json) process.stdout.write(toSafeJson(buildLogJson(shown, sources, skipped), 2) + '\n');
  else process.stdout.write(renderLogText(shown, sources, all.length - shown.length, built.entries.length > 0));
  return 0;
}
