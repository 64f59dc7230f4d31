import React from 'react';
import { Box } from 'ink';
import type { RunHistoryEntry, TaskHistory } from '../../analysis/run-history.js';
import { formatRunHistoryLines } from '../../analysis/run-history-text.js';
import type { GpuState, RunSummary, Snapshot, Verdict } from '../../model/index.js';
import { elapsedSec, gpuHoldingsOf, sanitizeText, wrapperKindOf } from '../../model/index.js';
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
  /** The history of the row's run (read by the data source when the pane opened), if any. */
  readonly history?: RunHistoryEntry | null;
}

/** The run a row stands for in the details pane: a run's group row, or a process launched by a run. */
export function historyRunId(row: Row | undefined): string | null {
  if (row?.kind === 'group') return row.runId;
  if (row?.kind === 'proc') return row.proc.runId;
  return null;
}

const BAD_TASK: ReadonlySet<TaskHistory['outcome']> = new Set(['failed', 'unknown', 'cancelled']);

/**
 * A run's history as pane lines, the same text as `reaper show` (formatRunHistoryLines, which
 * sanitises every journal and log string), ordered for a short pane: the run's summary line,
 * then the selected task, then the tasks that did not succeed, then the others, then the rest
 * of the run's header (times, host, record folder). Blank separators are dropped.
 */
function historyLines(entry: RunHistoryEntry, width: number, t: Theme, task: number | null = null): Segment[][] {
  if (entry.kind === 'unreadable') return formatRunHistoryLines(entry, width).map((l) => [seg(l, t.error)]);
  const rank = (x: TaskHistory): number => (x.task === task ? 0 : BAD_TASK.has(x.outcome) ? 1 : 2);
  const tasks = [...entry.tasks].sort((a, b) => rank(a) - rank(b) || a.task - b.task);
  // Blocks: the header, then one per task (formatRunHistoryLines puts one blank line before each task).
  const blocks: string[][] = [[]];
  for (const l of formatRunHistoryLines({ ...entry, tasks }, width)) {
    if (l === '') blocks.push([]);
    else blocks[blocks.length - 1]!.push(l);
  }
  const [header = [], ...taskBlocks] = blocks;
  const out: Segment[][] = [];
  const runTone = entry.state === 'finished' || entry.state === 'running' ? undefined : t.error;
  if (header[0] !== undefined) out.push([seg(header[0], runTone, { bold: true })]);
  taskBlocks.forEach((b, i) => {
    const th = tasks[i];
    const selected = th !== undefined && th.task === task;
    const bad = th !== undefined && BAD_TASK.has(th.outcome);
    b.forEach((l, j) => {
      if (j === 0) out.push([seg(selected ? '▸ ' : '', t.accent, { bold: true }), seg(l, bad ? t.error : selected ? t.accent : undefined, { bold: selected || bad })]);
      else out.push([seg(l, /^\s+\| /.test(l) ? undefined : t.dim)]);
    });
  });
  for (const l of header.slice(1)) out.push([seg(l, t.dim)]);
  return out;
}

/** Every line of the details pane for the cursor row: identity, state, GPU use, run, command, every reason. */
export function detailLines(inp: DetailsInput, width: number, t: Theme): Segment[][] {
  const { row, snapshot } = inp;
  const rule = (title: string): Segment[] => [seg(`-- ${title} `.padEnd(Math.max(0, width), '-'), t.accent, { bold: true })];
  if (!row) return [rule('details'), [seg('nothing selected', t.dim)]];
  if (row.kind === 'group') {
    const lines: Segment[][] = [rule(`details: ${sanitizeText(row.label)}`)];
    if (row.runId && inp.history) return [...lines, ...historyLines(inp.history, width, t)];
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
  // The one join of GPU holders (model/gpu.ts): nvidia-smi's rows for this pid.
  const held = snapshot ? gpuHoldingsOf({ gpu: inp.gpu, processes: snapshot.processes }).get(p.pid) ?? [] : [];
  for (const h of held) if (h.via === 'app') gpuBits.push(`GPU ${h.index ?? '?'} ${formatMiB(h.usedMemoryMiB)}`);
  if (p.nvidiaMinors && p.nvidiaMinors.length > 0) gpuBits.push(`holds /dev/nvidia${p.nvidiaMinors.join(',')}`);
  const runBits = p.runId ? `run ${sanitizeText(p.runId)}${p.taskId ? ` task ${sanitizeText(p.taskId)}` : ''}` : '';
  if (gpuBits.length > 0 || runBits) lines.push([seg([runBits, gpuBits.join('; ')].filter((x) => x !== '').join('  '))]);
  for (const w of row.wrappers) {
    const kind = wrapperKindOf(w) ?? 'wrapper';
    const name = sanitizeText(w.comm);
    lines.push([seg(`⊂ inside reaper's wrapper: pid ${w.pid} ${name} (${kind} layer), folded into this row; actions take it too`, t.dim)]);
  }
  const prot = inp.protection(p.pid);
  if (prot) lines.push([seg(`protected: ${sanitizeText(prot)} (actions skip it)`, t.dim)]);
  for (const l of wrapText(`cmd: ${p.cmd}`, Math.max(10, width)).slice(0, 3)) lines.push([seg(l)]);
  if (p.runId && inp.history) {
    const task = p.taskId !== null && /^\d+$/.test(p.taskId) ? Number(p.taskId) : null;
    lines.push(rule(`run ${sanitizeText(p.runId)}`));
    lines.push(...historyLines(inp.history, width, t, task));
  }
  return lines;
}

export function DetailsPane({ lines, width, height }: { lines: readonly Segment[][]; width: number; height: number }): React.ReactElement | null {
  const t = useTheme();
  if (height <= 0) return null;
  // Never taller than its share: what does not fit is counted on the last line.
  let shown = lines.slice(0, height);
  if (lines.length > height) {
    const more = lines.length - height + 1;
    shown = [...lines.slice(0, height - 1), [seg(`… ${more} more line${more === 1 ? '' : 's'} (Esc closes)`, t.dim)]];
  }
  return (
    <Box flexDirection="column">
      {shown.map((l, i) => (
        <Line key={i} segments={clipSegments(l, width)} />
      ))}
    </Box>
  );
}
