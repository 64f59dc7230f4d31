import React from 'react';
import { Box } from 'ink';
import type { GpuState, RunSummary, Snapshot, Verdict } from '../../model/index.js';
import { elapsedSec, parseWrapperArgv, sanitizeText } from '../../model/index.js';
import { formatElapsed, formatKiB, formatMiB, formatPercent } from '../format.js';
import { wrapText } from '../layout.js';
import type { Row } from '../rows.js';
import type { Theme } from '../theme.js';
import { useTheme } from '../theme-context.js';
import { Line, clipSegments, seg, type Segment } from './Line.js';

export interface DetailsInput {
  readonly row: Row | undefined;
  readonly snapshot: Snapshot | null;
  readonly verdicts: ReadonlyMap<number, Verdict>;
  readonly gpu: GpuState;
  readonly runs: readonly RunSummary[];
  readonly protection: (pid: number) => string | null;
}

/** Every line of the details pane for the cursor row: identity, state, GPU use, run, command, every reason. */
export function detailLines(inp: DetailsInput, width: number, t: Theme): Segment[][] {
  const { row, snapshot } = inp;
  const rule = (title: string): Segment[] => [seg(`-- ${title} `.padEnd(Math.max(0, width), '-'), t.accent, { bold: true })];
  if (!row) return [rule('details'), [seg('nothing selected', t.dim)]];
  if (row.kind === 'group') {
    const lines: Segment[][] = [rule(`details: ${sanitizeText(row.label)}`)];
    lines.push([seg(`${row.pids.length} process${row.pids.length === 1 ? '' : 'es'} in this group`)]);
    const run = row.runId ? inp.runs.find((r) => r.id === row.runId) : undefined;
    if (run) {
      lines.push([seg(`run ${sanitizeText(run.id)} "${sanitizeText(run.name)}" ${run.state}; launcher ${run.launcher ? run.launcher.pid : 'n/a'}, guardian ${run.guardian ? run.guardian.pid : 'n/a'}; record ${sanitizeText(run.dir)}`)]);
      for (const task of run.tasks) {
        if (task.detail) lines.push([seg(`task ${task.task} (gpu ${sanitizeText(task.gpu)}): ${task.status}: ${sanitizeText(task.detail)}`, task.status === 'failed' ? t.error : undefined)]);
      }
    }
    return lines;
  }
  const p = row.proc;
  const lines: Segment[][] = [rule(`details: pid ${p.pid} ${sanitizeText(p.comm)}`)];
  const el = snapshot ? elapsedSec(snapshot, p.startTime) : null;
  const parent = snapshot?.byPid.get(p.ppid);
  lines.push([
    seg('stat '),
    seg(p.stat, t.stat(p.stat), { bold: true }),
    seg(`  threads ${p.threads}  cpu ${formatPercent(p.cpuPercent)}%  rss ${formatKiB(p.rssKiB)}  elapsed ${formatElapsed(el)}`),
    seg(p.wchan ? `  wchan ${sanitizeText(p.wchan)}` : ''),
    seg(p.tracerPid ? `  traced by ${p.tracerPid}` : ''),
  ]);
  // The reasons come first: they are why the pane was opened (and the "why is it stuck" diagnosis).
  const reasons = inp.verdicts.get(p.pid)?.reasons ?? [];
  if (reasons.length === 0) lines.push([seg('not a leftover', t.ok)]);
  for (const r of reasons) {
    const wrapped = wrapText(`${r.code}: ${sanitizeText(r.text)}`, Math.max(10, width - 4));
    wrapped.forEach((l, i) => lines.push([seg(i === 0 ? '  ! ' : '    ', t.leftover, { bold: true }), seg(l, t.leftover)]));
  }
  lines.push([
    seg(`pid ${p.pid}  ppid ${p.ppid}${parent ? ` (${sanitizeText(parent.comm)} ${parent.stat})` : p.ppid > 1 ? ' (gone)' : ''}  pgid ${p.pgid}  sid ${p.sid}  tty ${p.tty ?? '-'}  user ${sanitizeText(p.user ?? '?')}(${p.uid ?? '?'})  start ${p.startTime}`),
  ]);
  const gpuBits: string[] = [];
  for (const a of inp.gpu.apps) {
    if (a.pid !== p.pid) continue;
    const g = inp.gpu.gpus.find((x) => x.uuid === a.gpuUuid);
    gpuBits.push(`GPU ${g ? g.index : '?'} ${formatMiB(a.usedMemoryMiB)}`);
  }
  if (p.nvidiaMinors && p.nvidiaMinors.length > 0) gpuBits.push(`holds /dev/nvidia${p.nvidiaMinors.join(',')}`);
  const runBits = p.runId ? `run ${sanitizeText(p.runId)}${p.taskId ? ` task ${sanitizeText(p.taskId)}` : ''}` : '';
  if (gpuBits.length > 0 || runBits) lines.push([seg([runBits, gpuBits.join('; ')].filter((x) => x !== '').join('  '))]);
  for (const w of row.wrappers) {
    const kind = parseWrapperArgv(w.argv)?.kind ?? 'wrapper';
    const name = sanitizeText(w.comm);
    lines.push([seg(`⊂ inside reaper's wrapper: pid ${w.pid} ${name} (${kind} layer), folded into this row; actions take it too`, t.dim)]);
  }
  const prot = inp.protection(p.pid);
  if (prot) lines.push([seg(`protected: ${sanitizeText(prot)} (actions skip it)`, t.dim)]);
  for (const l of wrapText(`cmd: ${p.cmd}`, Math.max(10, width)).slice(0, 3)) lines.push([seg(l)]);
  return lines;
}

export function DetailsPane({ lines, width, height }: { lines: readonly Segment[][]; width: number; height: number }): React.ReactElement | null {
  useTheme();
  if (height <= 0) return null;
  const shown = lines.slice(0, height);
  return (
    <Box flexDirection="column">
      {shown.map((l, i) => (
        <Line key={i} segments={clipSegments(l, width)} />
      ))}
    </Box>
  );
}
