/**
 * `reaper ls --hosts` text: one forest per host with a HOST column first, then each host's runs,
 * then one line per host that did not answer ("host2: refused: nothing listens there (…) after
 * 12 ms"). Everything a host sent was sanitised when checked; it is sanitised again here, as
 * every text that reaches a terminal is. Pure.
 */
import { sanitizeText } from '../../model/sanitize.js';
import type { MergedLsDocument } from '../hosts/ls-merge.js';
import { formatElapsed, renderColumns } from './ls-text.js';
import { renderLsRunsText } from './ls-runs.js';

type Row = MergedLsDocument['processes'][number];

/** `ps f` order of one host's processes: [row, tree prefix]. */
function forestOrder(rows: readonly Row[]): Array<[Row, string]> {
  const byPid = new Map(rows.map((r) => [r.pid, r] as const));
  const kids = new Map<number, Row[]>();
  const roots: Row[] = [];
  for (const r of rows) {
    if (r.ppid !== r.pid && byPid.has(r.ppid)) {
      let l = kids.get(r.ppid);
      if (!l) kids.set(r.ppid, (l = []));
      l.push(r);
    } else roots.push(r);
  }
  const byPidOrder = (a: Row, b: Row): number => a.pid - b.pid;
  roots.sort(byPidOrder);
  for (const l of kids.values()) l.sort(byPidOrder);
  const out: Array<[Row, string]> = [];
  const seen = new Set<number>();
  const walk = (r: Row, depth: number, last: boolean, prefix: string): void => {
    if (seen.has(r.pid)) return; // a cycle in a lying host's ppids
    seen.add(r.pid);
    out.push([r, depth === 0 ? '' : `${prefix} \\_ `]);
    const l = kids.get(r.pid) ?? [];
    l.forEach((k, i) => walk(k, depth + 1, i === l.length - 1, depth === 0 ? '' : prefix + (last ? '    ' : ' |  ')));
  };
  roots.forEach((r, i) => walk(r, 0, i === roots.length - 1, ''));
  return out;
}

export interface LsHostsTextOptions {
  /** Cut lines to this many columns (a terminal's width); undefined: never cut. */
  readonly width?: number;
  /** Only rows with a leftover verdict (`--leftovers`: the hosts already filtered; kept for symmetry). */
  readonly leftoversOnly?: boolean;
}

export function renderLsHostsText(doc: MergedLsDocument, opts: LsHostsTextOptions = {}): string {
  const withReasons = doc.processes.some((p) => p.leftover !== null);
  const header = ['HOST', ' ', 'PID', 'USER', 'STAT', '%CPU', 'RSS', 'GPU', 'GPUMEM', 'ELAPSED', ...(withReasons ? ['REASONS'] : []), 'COMMAND'];
  const table: string[][] = [];
  for (const h of doc.hosts) {
    const rows = doc.processes.filter((p) => p.host === h.name && (!opts.leftoversOnly || p.leftover !== null));
    for (const [p, tree] of forestOrder(rows)) {
      const gpuCol = p.gpus.length === 0 ? '-' : p.gpus.map((x) => (x.index !== null ? String(x.index) : x.minor !== null ? `m${x.minor}` : '?')).join(',');
      const mems = p.gpus.filter((x) => x.usedMemoryMiB !== null);
      table.push([
        sanitizeText(p.host),
        p.leftover ? '!' : ' ',
        String(p.pid),
        sanitizeText(p.user ?? (p.uid === null ? '?' : String(p.uid))),
        sanitizeText(p.stat),
        p.cpuPercent.toFixed(1),
        p.rssKiB === null ? '-' : String(Math.round(p.rssKiB)),
        gpuCol,
        mems.length === 0 ? '-' : `${mems.reduce((a, x) => a + x.usedMemoryMiB!, 0)}MiB`,
        formatElapsed(p.elapsedSec),
        ...(withReasons ? [p.leftover ? p.leftover.reasons.map((x) => sanitizeText(x.code)).join(',') : '-'] : []),
        tree + sanitizeText(p.cmd),
      ]);
    }
  }
  let text = renderColumns(header, table, opts.width);
  // Each host's runs, its name first on every line.
  for (const h of doc.hosts) {
    const runs = doc.runs.filter((r) => r.host === h.name);
    const slurmError = h.slurm?.error ?? null;
    const part = renderLsRunsText(runs, { snapshot: null, slurmError });
    if (part === '') continue;
    const name = sanitizeText(h.name);
    text += `\n${part.trim().split('\n').map((l) => `${name}: ${l}`).join('\n')}\n`;
  }
  const failed = doc.hosts.filter((h) => !h.ok);
  if (failed.length > 0) text += '\n' + failed.map((h) => hostFailureLine(h)).join('\n') + '\n';
  return text;
}

/** "host2: refused: nothing listens there (ssh: connect to host … refused) after 12 ms" */
export function hostFailureLine(h: MergedLsDocument['hosts'][number]): string {
  const e = h.error ?? { kind: 'garbage', message: 'no answer' };
  // "refused: connection refused: …" says it twice: the kind only when the message does not.
  const what = e.message.includes(e.kind.replace('-', ' ')) ? e.message : `${e.kind}: ${e.message}`;
  return sanitizeText(`${h.name}: ${what} after ${h.latencyMs} ms`);
}

/** A host's GPU probe trouble worth a line (no nvidia-smi on a host without GPUs is normal). */
export function hostGpuNotices(doc: MergedLsDocument): string[] {
  const out: string[] = [];
  for (const h of doc.hosts) {
    const e = h.gpuProbe?.error;
    if (!e || e.kind === 'not-installed') continue;
    out.push(sanitizeText(`${h.name}: gpu probe: ${e.message}`));
  }
  return out;
}
