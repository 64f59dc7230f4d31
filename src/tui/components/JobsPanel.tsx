import React from 'react';
import { Box } from 'ink';
import { jobLine, jobsLeft, launcherGoneText } from '../../analysis/run-jobs.js';
import type { RunSummary, SlurmRunsStatus, TaskSummary } from '../../model/index.js';
import { sanitizeText } from '../../model/index.js';
import { fit, formatElapsed } from '../format.js';
import { launcherGone, spanSec, taskEndMs } from '../run-view.js';
import type { Theme } from '../theme.js';
import { useTheme } from '../theme-context.js';
import { Line, clipSegments, seg, type Segment } from './Line.js';

export interface JobsPanelProps {
  readonly runs: readonly RunSummary[];
  /** The last Slurm read (state, node, elapsed, exit of Slurm runs' open jobs); null: none. */
  readonly slurm?: SlurmRunsStatus | null;
  readonly width: number;
  readonly height: number;
  readonly nowMs: number | null;
  readonly batchFile: string | null;
}

function taskColor(t: Theme, s: TaskSummary['status']): Theme['ok'] {
  return s === 'failed' ? t.error : s === 'running' ? t.ok : s === 'succeeded' ? undefined : t.dim;
}

function elapsed(startMs: number | null, endMs: number | null): string {
  const s = spanSec(startMs, endMs);
  return s === null ? '' : formatElapsed(s);
}

/**
 * Lines for the jobs panel, most important first (live runs with their tasks, then ended runs).
 * A Slurm run's task is followed by its open jobs as the last Slurm read saw them.
 */
export function jobLines(runs: readonly RunSummary[], nowMs: number | null, t: Theme, batchFile: string | null, slurm: SlurmRunsStatus | null = null): Segment[][] {
  if (runs.length === 0) {
    return [[seg('Jobs  ', t.header, { bold: true }), seg(batchFile ? `none yet: L launches ${sanitizeText(batchFile)}` : 'none (reaper run BATCH.yaml --detach, or --batch FILE and L)', t.dim)]];
  }
  const ordered = [...runs].sort((a, b) => Number(b.live) - Number(a.live) || b.startedAtMs - a.startedAtMs);
  const out: Segment[][] = [];
  const later: Segment[][] = [];
  for (const r of ordered) {
    const counts = new Map<string, number>();
    for (const task of r.tasks) counts.set(task.status, (counts.get(task.status) ?? 0) + 1);
    const summary = [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
    const gone = launcherGone(r);
    const onSlurm = r.backend === 'slurm';
    const jobs = onSlurm ? (slurm?.byRun.get(r.id) ?? []) : [];
    const asked = onSlurm && slurm !== null && (r.jobs ?? []).some((j) => j.open);
    // "LAUNCHER GONE, 2 jobs left: reaper reap --run ID" once Slurm has answered for it.
    const goneText = !gone ? '' : asked ? ` LAUNCHER GONE, ${launcherGoneText(r.id, { jobs: slurm.error === null ? jobsLeft(jobs) : null, processes: jobs.reduce((n, j) => n + j.pids.length, 0) }).replace(/^launcher gone, /, '')}` : ' LAUNCHER GONE';
    const head: Segment[] = [
      seg('Job ', t.header, { bold: true }),
      seg(`${sanitizeText(r.id)} `, undefined, { bold: true }),
      seg(`${sanitizeText(r.name)} `),
      seg(r.state, r.state === 'running' ? t.ok : r.state === 'finished' ? undefined : t.error),
      seg(goneText, t.error, { bold: true }),
      seg(`  ${summary}`, t.dim),
      seg(`  ${elapsed(r.startedAtMs, r.endedAtMs ?? nowMs)}`, t.dim),
    ];
    const target = r.live || gone ? out : later;
    target.push(head);
    if (!r.live && !gone) continue;
    for (const task of r.tasks) {
      target.push([
        seg(`  #${fit(String(task.task), 3)} gpu ${fit(sanitizeText(task.gpu), 3)} `),
        seg(fit(sanitizeText(task.stage ?? '-'), 12) + ' '),
        seg(fit(task.status, 10), taskColor(t, task.status)),
        seg(fit(elapsed(task.startedAtMs, taskEndMs(task, r, nowMs)), 9)),
        seg(task.detail ? sanitizeText(task.detail) : '', task.status === 'failed' ? t.error : t.dim),
        // A Slurm task's open job on the same row: the panel is a few lines high.
        ...jobs.filter((j) => j.task === task.task).map((j) => seg(`${task.detail ? '  ' : ''}${jobLine(j, { short: true })}`, j.active ? (j.state === 'RUNNING' ? t.ok : undefined) : t.dim)),
      ]);
    }
  }
  if (slurm?.error) out.push([seg(`slurm: ${sanitizeText(slurm.error)}`, t.error)]);
  return [...out, ...later];
}

export function JobsPanel(p: JobsPanelProps): React.ReactElement | null {
  const t = useTheme();
  if (p.height <= 0) return null;
  const lines = jobLines(p.runs, p.nowMs, t, p.batchFile, p.slurm ?? null);
  let shown = lines.slice(0, p.height);
  if (lines.length > p.height) {
    shown = lines.slice(0, p.height - 1);
    shown.push([seg(`  … ${lines.length - p.height + 1} more job line${lines.length - p.height + 1 === 1 ? '' : 's'} (g: group by run)`, t.dim)]);
  }
  return (
    <Box flexDirection="column">
      {shown.map((l, i) => (
        <Line key={i} segments={clipSegments(l, p.width)} />
      ))}
    </Box>
  );
}
