/**
 * `reaper ls` text: the forest like `ps f`, one row per process, no colour (it is for
 * scripts and pipes). Rows with a verdict get `!` in the first column and a REASONS column.
 */
import { flattenForest } from '../../model/forest.js';
import { wrappedCommand, wrapperKindOf } from '../../model/wrappers.js';
import { sanitizeText } from '../../model/sanitize.js';
import { elapsedSec, type Snapshot } from '../../model/snapshot.js';
import { lsCpuPercent, selectLs, type LsOptions } from './ls-model.js';

/** ps's etime: [[dd-]hh:]mm:ss. */
export function formatElapsed(sec: number): string {
  const s = Math.max(0, Math.floor(sec));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  if (d > 0) return `${d}-${two(h)}:${two(m)}:${two(ss)}`;
  if (h > 0) return `${two(h)}:${two(m)}:${two(ss)}`;
  return `${two(m)}:${two(ss)}`;
}

export interface LsTextOptions extends LsOptions {
  /** Cut lines to this many columns (a terminal's width); undefined: never cut. */
  readonly width?: number;
}

/** Pure: snapshot → text table (ends with a newline; header only when nothing is shown). */
export function renderLsText(snapshot: Snapshot, opts: LsTextOptions = {}): string {
  const { forest, holdings } = selectLs(snapshot, opts.selection ?? { kind: 'all' }, opts.leftoversOnly ? (opts.verdicts ?? new Map()) : undefined);
  const rows = flattenForest(forest);
  const verdicts = opts.verdicts;
  const withReasons = !!verdicts && rows.some((r) => verdicts.has(r.pid));
  const header = [' ', 'PID', 'USER', 'STAT', '%CPU', 'RSS', 'GPU', 'GPUMEM', 'ELAPSED', ...(withReasons ? ['REASONS'] : []), 'COMMAND'];
  const table: string[][] = [];
  for (const r of rows) {
    const p = forest.byPid.get(r.pid)!;
    const refs = holdings.get(p.pid) ?? [];
    const gpuCol = refs.length === 0 ? '-' : refs.map((x) => (x.index !== null ? String(x.index) : x.minor !== null ? `m${x.minor}` : '?')).join(',');
    const mems = refs.filter((x) => x.usedMemoryMiB !== null);
    const memCol = mems.length === 0 ? '-' : `${mems.reduce((a, x) => a + x.usedMemoryMiB!, 0)}MiB`;
    const el = elapsedSec(snapshot, p.startTime);
    const cpu = lsCpuPercent(snapshot, p);
    const v = verdicts?.get(p.pid);
    const tree = r.depth === 0 ? '' : r.prefix + ' \\_ ';
    table.push([
      v ? '!' : ' ',
      String(p.pid),
      sanitizeText(p.user ?? (p.uid === null ? '?' : String(p.uid))),
      p.stat,
      cpu.toFixed(1),
      p.rssKiB === null ? '-' : String(Math.round(p.rssKiB)),
      gpuCol,
      memCol,
      formatElapsed(el),
      ...(withReasons ? [v ? v.reasons.map((x) => sanitizeText(x.code)).join(',') : '-'] : []),
      tree + sanitizeText(commandText(p)),
    ]);
  }
  return renderColumns(header, table, opts.width);
}

/**
 * A row's command: reaper's own wrappers (setpriv, the cgroup mover, unshare) are named by their
 * layer and followed by the user's command, so at 80 columns the script name is not pushed off
 * by the wrapper's flags. `--json` keeps the whole argv.
 */
function commandText(p: Snapshot['processes'][number]): string {
  const kind = wrapperKindOf(p);
  if (kind === null) return p.cmd;
  const inner = wrappedCommand(p.argv);
  return `[reaper ${kind}] ${inner ? inner.join(' ') : p.cmd}`;
}

const RIGHT_ALIGNED = new Set(['PID', '%CPU', 'RSS', 'GPUMEM', 'ELAPSED']);

/**
 * The `ls` table: numbers right-aligned, the last column (the command) as long as it is, every
 * line cut at `width` when given. Cells are already sanitised.
 */
export function renderColumns(header: readonly string[], table: readonly string[][], width?: number): string {
  const widths = header.map((h, i) => (i === header.length - 1 ? 0 : Math.max(h.length, ...table.map((t) => t[i]!.length))));
  const fmt = (cells: readonly string[]): string => {
    const line = cells
      .map((c, i) => (i === cells.length - 1 ? c : RIGHT_ALIGNED.has(header[i]!) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join(' ')
      .trimEnd();
    return width !== undefined && line.length > width ? line.slice(0, Math.max(0, width)) : line;
  };
  return [fmt(header), ...table.map(fmt)].join('\n') + '\n';
}
