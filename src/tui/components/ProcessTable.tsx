import React from 'react';
import { Box } from 'ink';
import type { Snapshot } from '../../model/index.js';
import { elapsedSec, sanitizeText } from '../../model/index.js';
import { fit, fitLeft, formatElapsed, formatKiB, formatMiB, formatPercent } from '../format.js';
import { WRAPPED_MARKER, rowTagKey, type Row } from '../rows.js';
import type { Theme } from '../theme.js';
import { useTheme } from '../theme-context.js';
import { Line, clipSegments, seg, segWidth, type Segment } from './Line.js';

export interface ProcessTableProps {
  readonly rows: readonly Row[];
  readonly cursor: number;
  readonly top: number;
  /** Viewport lines (the column header is extra). */
  readonly height: number;
  readonly width: number;
  readonly tagged: ReadonlySet<string>;
  readonly snapshot: Snapshot | null;
  readonly emptyText: string;
  /** Several-host screen: each host's snapshot (a row's elapsed time is its host's clock). */
  readonly snapshots?: ReadonlyMap<string, Snapshot | null>;
}

const COLUMNS =
  '  ' + fitLeft('PID', 6) + ' ' + fit('USER', 8) + ' ' + fit('STAT', 5) + ' ' + fitLeft('CPU%', 5) + ' ' + fitLeft('RSS', 6) + ' ' + fitLeft('GPUMEM', 6) + ' ' + fitLeft('ELAPSED', 8) + ' ' + 'COMMAND';

export function rowSegments(row: Row, snapshot: Snapshot | null, tagged: ReadonlySet<string>, t: Theme): Segment[] {
  if (row.kind === 'group') {
    if (row.link) {
      // A host's own line: red with its error, or its state.
      const bad = row.link.state === 'error';
      return [seg('== ', bad ? t.error : t.accent, { bold: true }), seg(sanitizeText(row.label), bad ? t.error : row.link.state === 'ok' ? t.accent : t.dim, { bold: true })];
    }
    return [seg('-- ', t.header), seg(sanitizeText(row.label), t.header, { bold: true })];
  }
  const p = row.proc;
  const isTagged = tagged.has(rowTagKey(row));
  const el = snapshot ? elapsedSec(snapshot, p.startTime) : null;
  const dim = row.context;
  const cmdColor = row.leftover ? t.leftover : dim ? t.dim : undefined;
  const fold = row.folded ? ` [+${row.hiddenCount}]` : '';
  return [
    seg(isTagged ? '*' : ' ', t.tagged, { bold: true }),
    seg(row.leftover ? '!' : ' ', t.leftover, { bold: true }),
    seg(fitLeft(String(p.pid), 6) + ' ', dim ? t.dim : undefined),
    seg(fit(sanitizeText(p.user ?? String(p.uid ?? '?')), 8) + ' ', dim ? t.dim : undefined),
    seg(fit(p.stat, 5), t.stat(p.stat), { bold: t.stat(p.stat) !== undefined }),
    seg(' '),
    seg(fitLeft(formatPercent(p.cpuPercent), 5) + ' ', dim ? t.dim : undefined),
    seg(fitLeft(formatKiB(p.rssKiB), 6) + ' ', dim ? t.dim : undefined),
    seg(fitLeft(row.gpuMemMiB === null ? '-' : formatMiB(row.gpuMemMiB), 6) + ' ', dim ? t.dim : undefined),
    seg(fitLeft(formatElapsed(el), 8) + ' ', dim ? t.dim : undefined),
    seg(row.prefix, t.dim),
    seg(row.wrappers.length > 0 ? WRAPPED_MARKER : '', t.dim),
    seg(p.cmd, cmdColor, { bold: row.leftover }),
    seg(fold, t.accent),
  ];
}

/** The column header and a viewport of `height` rows starting at `top`; the cursor row is inverted. */
export function ProcessTable(p: ProcessTableProps): React.ReactElement {
  const t = useTheme();
  const visible = p.rows.slice(p.top, p.top + p.height);
  const lines: React.ReactElement[] = [];
  visible.forEach((row, i) => {
    const idx = p.top + i;
    const snap = row.host !== undefined && p.snapshots ? (p.snapshots.get(row.host) ?? null) : p.snapshot;
    const segs = clipSegments(rowSegments(row, snap, p.tagged, t), p.width);
    const isCursor = idx === p.cursor;
    if (isCursor) {
      const pad = p.width - segWidth(segs);
      if (pad > 0) segs.push(seg(' '.repeat(pad)));
    }
    lines.push(<Line key={row.key} segments={segs} inverse={isCursor} />);
  });
  if (p.rows.length === 0 && p.height > 0) lines.push(<Line key="empty" segments={[seg(p.emptyText, t.dim)]} />);
  while (lines.length < p.height) lines.push(<Line key={`pad${lines.length}`} segments={[]} />);
  const more = p.rows.length > p.height ? ` ${p.top + 1}-${Math.min(p.rows.length, p.top + p.height)}/${p.rows.length}` : '';
  const header = clipSegments([seg(COLUMNS, t.header, { bold: true }), seg(more ? ' '.repeat(Math.max(1, p.width - COLUMNS.length - more.length)) + more : '', t.dim)], p.width);
  return (
    <Box flexDirection="column">
      <Line segments={header} />
      {lines}
    </Box>
  );
}
