/** `reaper runs` as a table: one line per run, newest first; a malformed run is one "unreadable" line. Pure. */
import { formatLocalTime, formatMs, formatTaskCounts, type RunHistoryEntry } from '../../launch/index.js';
import type { LiveJobs } from '../../analysis/run-history-text.js';
import { jobCountsText, jobsLeft, launcherGoneText } from '../../analysis/run-jobs.js';
import { sanitizeText } from '../../model/sanitize.js';

const NAME_MAX = 24;

/**
 * `live`: by run id, what Slurm says of the open jobs of Slurm runs without an end record; each
 * such run gets one line after the table (its jobs now, or the launcher-gone flag).
 */
export function renderRunsText(entries: readonly RunHistoryEntry[], more: number, width?: number, live: ReadonlyMap<string, LiveJobs> = new Map()): string {
  if (entries.length === 0) return 'no runs recorded\n';
  const rows = entries.map((e) => {
    if (e.kind === 'unreadable') return [e.id, `unreadable: ${sanitizeText(e.reason)}`];
    const name = sanitizeText(e.name);
    return [
      e.id,
      name.length > NAME_MAX ? name.slice(0, NAME_MAX - 1) + '…' : name || '-',
      e.state,
      formatTaskCounts(e.counts),
      formatLocalTime(e.startedAtMs),
      e.durationMs === null ? '-' : formatMs(e.durationMs),
      e.host === null ? '-' : sanitizeText(e.host),
    ];
  });
  const head = ['RUN', 'NAME', 'STATE', 'TASKS', 'STARTED', 'DURATION', 'HOST'];
  const full = [head, ...rows.filter((r) => r.length === head.length)];
  const widths = head.map((_, i) => Math.max(...full.map((r) => r[i]!.length)));
  widths[0] = Math.max(widths[0]!, ...rows.map((r) => r[0]!.length));
  const line = (r: string[]): string => {
    // An unreadable run: its id, then the reason across the other columns.
    const text = r.length === head.length ? r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') : `${r[0]!.padEnd(widths[0]!)}  ${r[1]}`;
    return width !== undefined && text.length > width ? text.slice(0, Math.max(1, width - 1)) + '…' : text;
  };
  const out = [line(head), ...rows.map(line)];
  const errors = new Set<string>();
  for (const e of entries) {
    const l = e.kind === 'run' ? live.get(e.id) : undefined;
    if (!l || e.kind !== 'run') continue;
    if (l.error) errors.add(l.error);
    const left = l.error === null ? jobsLeft(l.jobs) : null;
    const what = e.state === 'crashed' ? launcherGoneText(e.id, { jobs: left, processes: l.jobs.reduce((n, j) => n + j.pids.length, 0) }) : l.error === null ? `Slurm jobs ${jobCountsText(l.jobs) || 'none open'}` : 'Slurm jobs unknown';
    out.push(line([`${e.id}:`, what]));
  }
  for (const err of errors) out.push(`slurm: ${sanitizeText(err)}`);
  if (more > 0) out.push(`(${more} older run${more === 1 ? '' : 's'} not shown: --all, or --limit N)`);
  return out.join('\n') + '\n';
}
