/** Text for `reaper reap`: the plan (every target with its reasons) and the results. Pure. */
import type { ReapJob, ReapPlan } from '../../analysis/index.js';
import type { ReapResult } from '../../actions/index.js';
import type { JobCancelResult } from '../../launch/slurm-jobs.js';
import { sanitizeText } from '../../model/index.js';

export function describeAction(plan: Pick<ReapPlan, 'action' | 'graceMs'>): string {
  switch (plan.action) {
    case 'kill':
      return 'kill (SIGSTOP the tree, rescan, SIGKILL, confirm)';
    case 'term':
      return `term (SIGTERM + SIGCONT, ${fmtSec(plan.graceMs)} grace, then SIGKILL)`;
    case 'cont':
      return 'cont (SIGCONT the stopped members of the tree)';
  }
}

function fmtSec(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

function clip(s: string, width: number): string {
  const t = sanitizeText(s);
  return t.length > width ? t.slice(0, width - 1) + '…' : t;
}

/** Word-wrap sanitised text to `width`, continuation lines indented by `indent`: never cut. */
export function wrapText(s: string, width: number, indent: string, first = ''): string[] {
  const words = sanitizeText(s).split(' ');
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const w of words) {
    if (!empty && line.length + 1 + w.length > width) {
      lines.push(line);
      line = indent + w;
    } else {
      line += (empty ? '' : ' ') + w;
    }
    empty = false;
  }
  lines.push(line);
  return lines;
}

export function renderPlanText(plan: ReapPlan, width = 120): string {
  const lines: string[] = [];
  const n = plan.targets.length;
  const jobs = plan.jobs ?? [];
  const jobsHead = jobs.length > 0 ? `${jobs.length} Slurm job${jobs.length === 1 ? '' : 's'} (scancel), ` : '';
  lines.push(`reap plan: ${describeAction(plan)}; ${jobsHead}${n} target${n === 1 ? '' : 's'}${plan.skipped.length ? `, ${plan.skipped.length} skipped` : ''}`);
  if (jobs.length > 0) {
    lines.push(`  Slurm jobs of the run (scancel${plan.action === 'kill' ? ' --signal=KILL' : ''}, then confirmed gone from squeue and, on this node, /proc):`);
    for (const j of jobs) lines.push(`    ${describeJob(j)}`);
  }
  if (n > 0 && plan.scope) lines.push(...wrapText(plan.scope, Math.max(40, width), '    ', '  scope: '));
  if (n > 0) {
    lines.push(`  ${'PID'.padStart(7)}  ${'USER'.padEnd(10)} ${'STAT'.padEnd(5)} COMMAND`);
    for (const t of plan.targets) {
      lines.push(`  ${String(t.pid).padStart(7)}  ${clip(t.user ?? String(t.uid ?? '?'), 10).padEnd(10)} ${t.stat.padEnd(5)} ${clip(t.cmd, Math.max(20, width - 30))}`);
      for (const r of t.reasons) lines.push(`           - ${sanitizeText(r.text)}`);
      if (t.note) lines.push(`           - ${sanitizeText(t.note)}`);
    }
  }
  if (plan.skipped.length > 0) {
    lines.push('skipped (left alone):');
    for (const s of plan.skipped) lines.push(`  ${String(s.pid).padStart(7)}  ${clip(s.cmd, 50)}: ${sanitizeText(s.why)}`);
  }
  // A Slurm warning (jobs that could not be checked) matters even with no process target.
  if (n > 0 || jobs.length > 0) for (const w of plan.warnings ?? []) lines.push(...wrapText(w, Math.max(40, width), '    ', 'warning: '));
  else for (const w of plan.warnings ?? []) if (/Slurm/.test(w)) lines.push(...wrapText(w, Math.max(40, width), '    ', 'warning: '));
  if (n === 0 && jobs.length === 0) lines.push('nothing to reap');
  return lines.join('\n') + '\n';
}

/** One result; the reason is wrapped onto indented lines, never cut (it says what to do next). */
export function renderResultLine(r: ReapResult, width = 120): string {
  const head = `  ${String(r.pid).padStart(7)}  ${r.outcome.padEnd(12)} ${clip(r.cmd, 40).padEnd(40)}`;
  if (!r.why) return head.trimEnd();
  return wrapText(r.why, Math.max(head.length + 20, width), ' '.repeat(12), head + ' ').join('\n');
}

/** "slurm job 123 reaper-…-0-sample RUNNING on vm" / "… PENDING (Resources)". */
function describeJob(j: ReapJob): string {
  const where = j.nodes ? ` on ${j.nodes}` : j.reason ? ` (${j.reason})` : '';
  return sanitizeText(`slurm job ${j.id} ${j.name} ${j.state}${where}`);
}

export function renderJobResultLine(r: JobCancelResult): string {
  return sanitizeText(`  slurm job ${r.id}  ${r.outcome.padEnd(10)} ${r.name}${r.why ? `: ${r.why}` : ''}`);
}

/** Counts by outcome; `not-stopped` (cont targets that were running) is not counted as resumed. */
export function summarizeResults(results: readonly ReapResult[], jobs: readonly JobCancelResult[] = []): string {
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  const order = ['gone', 'resumed', 'survived', 'kill-pending', 'skipped', 'not-stopped'];
  const label: Record<string, string> = { 'not-stopped': 'not stopped (left alone)' };
  const parts = order.filter((o) => counts.has(o)).map((o) => `${counts.get(o)} ${label[o] ?? o}`);
  const procs = parts.join(', ');
  if (jobs.length === 0) return `result: ${procs || 'nothing done'}`;
  const jc = new Map<string, number>();
  for (const j of jobs) jc.set(j.outcome, (jc.get(j.outcome) ?? 0) + 1);
  const jobText = `Slurm jobs: ${['cancelled', 'gone', 'survived'].filter((o) => jc.has(o)).map((o) => `${jc.get(o)} ${o}`).join(', ')}`;
  return `result: ${jobText}${procs ? `; processes: ${procs}` : ''}`;
}

