import React from 'react';
import { Box } from 'ink';
import { sanitizeText } from '../../model/index.js';
import { bar, clip, formatKiB, formatUptime } from '../format.js';
import { GROUPING_LABEL, type Grouping } from '../rows.js';
import { useTheme } from '../theme-context.js';
import type { HostStats, ProbeStatus } from '../types.js';
import { Line, clipSegments, seg, type Segment } from './Line.js';

export interface HeaderProps {
  readonly width: number;
  readonly host: HostStats;
  readonly probe: ProbeStatus;
  readonly grouping: Grouping;
  readonly leftovers: number;
  readonly tagged: number;
  readonly filter: string;
  readonly leftoversOnly: boolean;
  readonly readonly: boolean;
  readonly processCount: number | null;
}

/** Two lines: the machine (host, uptime, CPU, memory, probe status) and the view. */
export function Header(p: HeaderProps): React.ReactElement {
  const t = useTheme();
  const h = p.host;
  const cpu = h.cpuPercent;
  const memFrac = h.memUsedKiB !== null && h.memTotalKiB ? h.memUsedKiB / h.memTotalKiB : null;
  const barW = p.width >= 110 ? 12 : p.width >= 90 ? 8 : 0;
  const probeText =
    p.probe.state === 'starting'
      ? 'probe: starting'
      : p.probe.state === 'error'
        ? `probe: ${sanitizeText(p.probe.message ?? 'error')}`
        : `probe: ok ${p.probe.scanMs !== null ? `${Math.round(p.probe.scanMs)}ms` : ''}/${(p.probe.intervalMs / 1000).toString()}s`;
  const line1: Segment[] = [
    seg('reaper ', t.accent, { bold: true }),
    seg(clip(sanitizeText(h.hostname), 24), undefined, { bold: true }),
    seg(`  up ${formatUptime(h.uptimeSec)}`),
    seg(`  CPU${h.cpuCount !== null ? `(${h.cpuCount})` : ''} `),
    seg(barW > 0 ? bar(cpu === null ? null : cpu / 100, barW) + ' ' : '', cpu !== null && cpu > 85 ? t.error : t.ok),
    seg(cpu === null ? 'n/a' : `${cpu.toFixed(0)}%`),
    seg('  Mem '),
    seg(barW > 0 ? bar(memFrac, barW) + ' ' : '', memFrac !== null && memFrac > 0.9 ? t.error : t.ok),
    seg(`${formatKiB(h.memUsedKiB)}/${formatKiB(h.memTotalKiB)}`),
    seg(p.processCount !== null ? `  ${p.processCount} procs` : ''),
    seg(`  ${probeText}`, p.probe.state === 'error' ? t.error : t.dim),
  ];
  const line2: Segment[] = [
    seg(`[${GROUPING_LABEL[p.grouping]}]`, t.accent),
    seg(p.leftoversOnly ? ' [leftovers only]' : '', t.leftover),
    seg(p.filter !== '' ? ` filter: "${sanitizeText(p.filter)}"` : '', t.tagged),
    seg(`  leftovers: ${p.leftovers}`, p.leftovers > 0 ? t.leftover : undefined, { bold: p.leftovers > 0 }),
    seg(p.tagged > 0 ? `  tagged: ${p.tagged}` : '', t.tagged),
    seg(p.readonly ? '  READ-ONLY' : '', t.dim, { bold: true }),
    seg('  ? help  q quit', t.dim),
  ];
  return (
    <Box flexDirection="column">
      <Line segments={clipSegments(line1, p.width)} />
      <Line segments={clipSegments(line2, p.width)} />
    </Box>
  );
}
