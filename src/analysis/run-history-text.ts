/**
 * A run's history as text lines: `reaper show` prints them, the TUI's details pane on a job row
 * shows the same lines. Pure; every string from the journal or a log is sanitised here, since
 * both are untrusted text (escape sequences in a log would rewrite the operator's screen).
 */
import type { SlurmJobStatus } from '../model/run.js';
import { sanitizeText } from '../model/sanitize.js';
import { jobsLeft, jobStateText, launcherGoneText, slurmElapsed } from './run-jobs.js';
import { formatMs, type RunHistory, type RunHistoryEntry, type StageHistory, type TaskHistory, type TaskCounts } from './run-history.js';

/** 2026-12-02 00:45:07 in the local time zone; "-" when unknown. */
export function formatLocalTime(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '-';
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** "1 ok, 2 failed" plus whatever else is non-zero. */
export function formatTaskCounts(c: TaskCounts): string {
  const parts = [`${c.succeeded} ok`, `${c.failed} failed`];
  const more: Array<[number, string]> = [
    [c.running, 'running'],
    [c.pending, 'pending'],
    [c.cancelled, 'cancelled'],
    [c.skipped, 'skipped'],
    [c.notRun, 'not run'],
    [c.unknown, 'unknown'],
  ];
  for (const [n, w] of more) if (n > 0) parts.push(`${n} ${w}`);
  return parts.join(', ');
}

/** Why a stage ended as it did: "exit 3", "timeout 1s (SIGKILL)", "signal SIGSEGV". */
function stageWhy(s: StageHistory): string {
  if (s.outcome === 'succeeded') return s.exitCode !== null ? `exit ${s.exitCode}` : 'ok';
  if (s.outcome === 'running') return '';
  const base = s.detail ?? (s.exitCode !== null ? `exit ${s.exitCode}` : s.signal !== null ? `signal ${s.signal}` : (s.reason ?? s.outcome));
  const extra: string[] = [];
  if (s.exitCode !== null && !base.includes(`exit ${s.exitCode}`)) extra.push(`exit ${s.exitCode}`);
  if (s.signal !== null && !base.includes(s.signal)) extra.push(s.signal);
  if (s.retried) extra.push('retried');
  return extra.length > 0 ? `${base} (${extra.join(', ')})` : base;
}

function clip(line: string, width: number | undefined): string {
  if (width === undefined || width <= 0 || line.length <= width) return line;
  return width <= 1 ? line.slice(0, width) : line.slice(0, width - 1) + '…';
}

const S = (s: string): string => sanitizeText(s);

/** What Slurm says now of a run's open jobs (src/launch/slurm-status.ts); null: not asked. */
export interface LiveJobs {
  readonly jobs: readonly SlurmJobStatus[];
  readonly error: string | null;
}

function runHeader(h: RunHistory, live: LiveJobs | null): string[] {
  const c = h.counts;
  const how = h.state === 'running' ? 'running' : `${h.state}${h.exitCode !== null ? `, exit ${h.exitCode}` : ''}`;
  const lines = [`run ${S(h.id)} ${h.name ? `"${S(h.name)}"` : '(no name)'}: ${how}; tasks ${formatTaskCounts(c)} of ${c.total}`];
  const took = h.durationMs === null ? '' : `, ${h.state === 'running' ? 'running for' : 'took'} ${formatMs(h.durationMs)}`;
  lines.push(`  started ${formatLocalTime(h.startedAtMs)}${took}; launcher pid ${h.launcherPid ?? '?'} on host ${h.host !== null ? S(h.host) : '-'}`);
  if (h.endedBy !== null || h.endDetail !== null) {
    const surv = h.survivors !== null ? `; processes left alive: ${h.survivors}` : '';
    lines.push(`  ended ${formatLocalTime(h.endedAtMs)} by ${S(h.endedBy ?? '?')}${h.endDetail ? `: ${S(h.endDetail)}` : ''}${surv}`);
  } else if (h.state === 'crashed') {
    lines.push('  no end record, and neither its launcher nor its guardian is alive');
    if (live) lines.push(`  ${launcherGoneText(h.id, { jobs: live.error === null ? jobsLeft(live.jobs) : null, processes: live.jobs.reduce((n, j) => n + j.pids.length, 0) })}`);
  }
  if (live?.error) lines.push(`  slurm: ${S(live.error)}`);
  if (h.file !== null) lines.push(`  batch  ${S(h.file)}`);
  lines.push(`  record ${S(h.dir)}`);
  for (const w of h.warnings) lines.push(`  warning: journal ${S(w)}`);
  return lines;
}

function taskLines(t: TaskHistory, stageWidth: number, tailIndent: string, live: LiveJobs | null): string[] {
  const vars = Object.entries(t.vars)
    .map(([k, v]) => `${k}=${v.length > 60 ? v.slice(0, 59) + '…' : v}`)
    .join(' ');
  const head = `task ${t.task}${vars ? ` [${S(vars)}]` : ''}${t.gpu !== null ? ` gpu ${S(t.gpu)}` : ''}: ${t.outcome}${t.detail && t.outcome !== 'succeeded' ? ` (${S(t.detail)})` : ''}${t.durationMs !== null ? `, ${formatMs(t.durationMs)}` : ''}`;
  const out = [head];
  for (const s of t.stages) {
    const name = `${s.stage}${s.attempt > 1 ? ` #${s.attempt}` : ''}`;
    const why = stageWhy(s);
    const cols = [`  ${S(name).padEnd(stageWidth)}`, why ? s.outcome.padEnd(9) : s.outcome];
    if (why) cols.push(S(why));
    if (s.durationMs !== null) cols.push(formatMs(s.durationMs));
    if (s.gpu !== null) cols.push(`gpu ${S(s.gpu)}`);
    if (s.pid !== null) cols.push(`pid ${s.pid}`);
    const now = s.jobId !== null ? live?.jobs.find((j) => j.id === s.jobId && j.task === s.task && j.stage === s.stage && j.attempt === s.attempt) : undefined;
    if (s.jobId !== null) cols.push(`Slurm job ${S(s.jobId)}${now ? `: ${jobStateText(now)}${now.elapsedS !== null && now.state !== 'PENDING' ? `, ${slurmElapsed(now.elapsedS)}` : ''}` : ''}`);
    out.push(cols.join('  '));
    if (now && now.pids.length > 0) out.push(`${tailIndent}processes here: ${now.pids.join(' ')}`);
    if (s.stuck) out.push(`${tailIndent}stuck: ${S(s.stuck)}`);
    if (s.stdoutLog) out.push(`${tailIndent}stdout ${S(s.stdoutLog)}`);
    if (s.stderrLog) out.push(`${tailIndent}stderr ${S(s.stderrLog)}`);
    const tail = s.stderrTail;
    if (tail) {
      if (tail.error) out.push(`${tailIndent}stderr tail: ${S(tail.error)}`);
      else if (tail.lines.length === 0) out.push(`${tailIndent}stderr: (empty)`);
      else {
        out.push(`${tailIndent}stderr, last ${tail.lines.length} line${tail.lines.length === 1 ? '' : 's'}:`);
        for (const l of tail.lines) out.push(`${tailIndent}  | ${S(l)}`);
      }
    }
  }
  return out;
}

/**
 * The whole history of one run, one string per line, each cut to `width` when given (the TUI
 * pane passes its width; `reaper show` on a pipe passes none). Every untrusted string is sanitised.
 */
export function formatRunHistoryLines(entry: RunHistoryEntry, width?: number, live: LiveJobs | null = null): string[] {
  if (entry.kind === 'unreadable') return [clip(`run ${S(entry.id)}: unreadable: ${S(entry.reason)}`, width), clip(`  record ${S(entry.dir)}`, width)];
  const stageWidth = Math.min(24, Math.max(8, ...entry.tasks.flatMap((t) => t.stages.map((s) => s.stage.length + (s.attempt > 1 ? 3 : 0)))));
  const lines = runHeader(entry, live);
  for (const t of entry.tasks) {
    lines.push('');
    lines.push(...taskLines(t, stageWidth, '      ', live));
  }
  return lines.map((l) => clip(l, width));
}
