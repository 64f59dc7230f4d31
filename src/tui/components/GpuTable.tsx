import React from 'react';
import { Box } from 'ink';
import type { GpuInfo, GpuState } from '../../model/index.js';
import { sanitizeText } from '../../model/index.js';
import { bar, fit, fitLeft, formatMiB } from '../format.js';
import { useTheme } from '../theme-context.js';
import { Line, clipSegments, seg, type Segment } from './Line.js';

export interface GpuTableProps {
  readonly gpu: GpuState;
  readonly width: number;
  /** Lines this table may use (title included). */
  readonly height: number;
  /** "Now" for staleness, from the data (snapshot time), never the clock. */
  readonly nowMs: number | null;
  readonly intervalMs: number;
}

/** The probe problem to show in place, or null: the probe's own error, or a stall seen from the data's age. */
function gpuProblem(gpu: GpuState, nowMs: number | null, intervalMs: number): string | null {
  if (gpu.error) return sanitizeText(gpu.error.message);
  if (gpu.source !== 'none' && gpu.sampledAtMs !== null && nowMs !== null) {
    const age = (nowMs - gpu.sampledAtMs) / 1000;
    if (age * 1000 > Math.max(3 * intervalMs, 5000)) return `probe stalled ${Math.round(age)} s`;
  }
  return null;
}

export function gpuLineCount(gpu: GpuState, nowMs: number | null, intervalMs: number): number {
  return 1 + gpu.gpus.length + (gpuProblem(gpu, nowMs, intervalMs) !== null && gpu.gpus.length > 0 ? 1 : 0);
}

interface Widths {
  name: number;
  bar: number;
}

function widths(width: number): Widths {
  const name = Math.max(10, Math.min(28, Math.floor(width * 0.22)));
  // idx(3) name+1 util-bar pct(5)+1 mem-bar memtext(12)+1 temp(5)+1 power(10)
  const fixed = 3 + name + 1 + 5 + 1 + 12 + 1 + 5 + 1 + 10;
  const b = Math.max(0, Math.min(24, Math.floor((width - fixed - 2) / 2)));
  return { name, bar: b < 5 ? 0 : b };
}

function gpuRow(g: GpuInfo, w: Widths, simulated: boolean, t: ReturnType<typeof useTheme>): Segment[] {
  const util = g.utilizationGpu;
  const memFrac = g.memoryUsedMiB !== null && g.memoryTotalMiB ? g.memoryUsedMiB / g.memoryTotalMiB : null;
  // The simulator's names already say so; a real GPU behind a simulated source is labelled.
  const name = sanitizeText(g.name) + (simulated && !/simulated/i.test(g.name) ? ' (sim)' : '');
  const hot = (x: number | null, lim: number): ReturnType<typeof useTheme>['ok'] => (x !== null && x >= lim ? t.error : t.ok);
  return [
    seg(fitLeft(String(g.index), 2) + ' '),
    seg(fit(name, w.name) + ' '),
    seg(w.bar > 0 ? bar(util === null ? null : util / 100, w.bar) : '', hot(util, 90)),
    seg(fitLeft(util === null ? 'n/a' : `${util}%`, 5) + ' '),
    seg(w.bar > 0 ? bar(memFrac, w.bar) : '', hot(memFrac, 0.9)),
    seg(fitLeft(`${formatMiB(g.memoryUsedMiB)}/${formatMiB(g.memoryTotalMiB)}`, 12) + ' '),
    seg(fitLeft(g.temperatureC === null ? 'n/a' : `${g.temperatureC}C`, 5) + ' ', hot(g.temperatureC, 85)),
    seg(
      fitLeft(
        g.powerDrawW === null ? 'n/a' : `${Math.round(g.powerDrawW)}${g.powerLimitW !== null ? `/${Math.round(g.powerLimitW)}` : ''}W`,
        10,
      ),
    ),
  ];
}

/** One row per GPU (index, name, utilisation bar, memory bar, temperature, power) and probe errors in place. */
export function GpuTable(p: GpuTableProps): React.ReactElement | null {
  const t = useTheme();
  if (p.height <= 0) return null;
  const w = widths(p.width);
  const simulated = p.gpu.source === 'simulated';
  const problem = gpuProblem(p.gpu, p.nowMs, p.intervalMs);
  const lines: Segment[][] = [];
  const title: Segment[] = [
    seg(fit(`GPUs${simulated ? ' (simulated)' : ''}`, 3 + w.name + 1), t.header, { bold: true }),
    seg(fit('UTIL', w.bar + 6) + fit('MEMORY used/total', w.bar + 13) + 'TEMP  POWER', t.dim),
  ];
  if (p.gpu.gpus.length === 0) {
    const why = problem ?? (p.gpu.source === 'none' ? 'no GPU probe (--gpus none)' : p.gpu.sampledAtMs === null ? 'probing…' : 'no GPUs');
    lines.push([seg('GPUs  ', t.header, { bold: true }), seg(why, problem ? t.error : t.dim)]);
  } else {
    lines.push(title);
    for (const g of p.gpu.gpus) lines.push(gpuRow(g, w, simulated, t));
    if (problem) lines.push([seg('   ' + problem, t.error, { bold: true })]);
  }
  let shown = lines;
  if (lines.length > p.height) {
    // Keep the error row visible: it explains why the numbers may be stale.
    const keepProblem = problem !== null && p.gpu.gpus.length > 0;
    const room = p.height - (keepProblem ? 1 : 0);
    shown = lines.slice(0, Math.max(0, room));
    if (room >= 1 && shown.length > 0) {
      const hidden = lines.length - (keepProblem ? 1 : 0) - room;
      shown[shown.length - 1] = [...shown[shown.length - 1]!, seg(`  +${hidden} more`, t.dim)];
    }
    if (keepProblem) shown.push(lines[lines.length - 1]!);
  }
  return (
    <Box flexDirection="column">
      {shown.map((l, i) => (
        <Line key={i} segments={clipSegments(l, p.width)} />
      ))}
    </Box>
  );
}
