import React from 'react';
import { Box } from 'ink';
import { sanitizeText } from '../../model/index.js';
import { bar, clip, formatKiB, formatUptime } from '../format.js';
import { GROUPING_LABEL, type Grouping } from '../rows.js';
import { useTheme } from '../theme-context.js';
import type { GpuState } from '../../model/index.js';
import { gpuStateText, procsStateText } from '../probe-status.js';
import type { HostPane, HostStats, ProbeStatus } from '../types.js';
import { Line, clipSegments, seg, segWidth, type Segment } from './Line.js';

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
  readonly gpu: GpuState;
  /** The data's time (last scan), for the GPU probe's quiet time. */
  readonly nowMs: number | null;
  /** Several-host screen: line one is each host's state instead of this machine's figures. */
  readonly hosts?: readonly HostPane[];
}

/** "host1 ok 310 ms" / "host4 refused" / "local ok": one host's state in the header (pure). */
function hostStateText(h: HostPane): { text: string; bad: boolean } {
  const l = h.data.link;
  if (!l) return { text: `${h.name} ${h.data.probe.state === 'error' ? 'scan failed' : 'ok'}`, bad: h.data.probe.state === 'error' };
  if (l.state === 'error') return { text: `${h.name} ${l.error?.kind ?? 'error'}`, bad: true };
  if (l.state === 'connecting' || !h.data.snapshot) return { text: `${h.name} connecting…`, bad: false };
  return { text: `${h.name} ok${l.latencyMs !== null ? ` ${l.latencyMs} ms` : ''}`, bad: false };
}

/**
 * Drop whole items, least important first, until the line fits: on 80 columns the two probe
 * states stay and the uptime, memory and CPU go first. Pure.
 */
function fitItems(items: ReadonlyArray<{ readonly segs: readonly Segment[]; readonly drop: number }>, width: number): Segment[] {
  const keep = items.map(() => true);
  const total = (): number => items.reduce((n, it, i) => n + (keep[i] ? segWidth(it.segs) : 0), 0);
  const order = items.map((it, i) => ({ i, d: it.drop })).filter((x) => x.d > 0).sort((a, b) => b.d - a.d);
  for (const { i } of order) {
    if (total() <= width) break;
    keep[i] = false;
  }
  return items.flatMap((it, i) => (keep[i] ? [...it.segs] : []));
}

/** Two lines: the machine (host, uptime, CPU, memory, the /proc scan and the GPU probe, apart) and the view. */
export function Header(p: HeaderProps): React.ReactElement {
  const t = useTheme();
  const h = p.host;
  const hostsLine = p.hosts
    ? [
        seg('reaper ', t.accent, { bold: true }),
        seg(`${p.hosts.length} host${p.hosts.length === 1 ? '' : 's'}:`),
        ...p.hosts.flatMap((x) => {
          const st = hostStateText(x);
          return [seg('  '), seg(sanitizeText(st.text), st.bad ? t.error : t.ok, { bold: st.bad })];
        }),
      ]
    : null;
  const cpu = h.cpuPercent;
  const memFrac = h.memUsedKiB !== null && h.memTotalKiB ? h.memUsedKiB / h.memTotalKiB : null;
  const barW = p.width >= 110 ? 12 : p.width >= 90 ? 8 : 0;
  const procs = procsStateText(p.probe, p.processCount);
  const gpu = gpuStateText(p.gpu, p.probe, p.nowMs);
  const line1 = fitItems(
    [
      { segs: [seg('reaper ', t.accent, { bold: true }), seg(clip(sanitizeText(h.hostname), p.width >= 100 ? 24 : 16), undefined, { bold: true })], drop: 0 },
      { segs: [seg(`  up ${formatUptime(h.uptimeSec)}`)], drop: 3 },
      {
        segs: [
          seg(`  CPU${h.cpuCount !== null ? `(${h.cpuCount})` : ''} `),
          seg(barW > 0 ? bar(cpu === null ? null : cpu / 100, barW) + ' ' : '', cpu !== null && cpu > 85 ? t.error : t.ok),
          seg(cpu === null ? 'n/a' : `${cpu.toFixed(0)}%`),
        ],
        drop: 1,
      },
      {
        segs: [
          seg('  Mem '),
          seg(barW > 0 ? bar(memFrac, barW) + ' ' : '', memFrac !== null && memFrac > 0.9 ? t.error : t.ok),
          seg(`${formatKiB(h.memUsedKiB)}/${formatKiB(h.memTotalKiB)}`),
        ],
        drop: 2,
      },
      { segs: [seg(`  ${procs.text}`, procs.bad ? t.error : t.dim, { bold: procs.bad })], drop: 0 },
      { segs: [seg(`  ${gpu.text}`, gpu.bad ? t.error : t.dim, { bold: gpu.bad })], drop: 0 },
    ],
    p.width,
  );
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
      <Line segments={clipSegments(hostsLine ?? line1, p.width)} />
      <Line segments={clipSegments(line2, p.width)} />
    </Box>
  );
}
