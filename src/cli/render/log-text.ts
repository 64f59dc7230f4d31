/**
 * `reaper log` as text (pure): one line per signalled process, oldest first:
 *   TIME  WHO  [WHAT ASKED]  pid PID(OWNER) COMMAND  SIGNAL  OUTCOME[: why]  reasons: …
 * A Slurm job reads `job ID(OWNER) NAME  SIGTERM (scancel)`.
 * Every field comes from a checked log line and is sanitised again on the way out.
 */
import { outcomeText, targetText, whoText, type LogEntry } from '../../actions/audit-read.js';
import { sanitizeText } from '../../model/sanitize.js';

;

/** "2026-12-02 03:20:11Z" (UTC: the log's own clock, whatever the reader's time zone). */
function formatLogTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

function cap(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, Math.max(0, max - 1))}…` : s;
}

export function renderLogLine(e: LogEntry, cmdWidth = 60): string {
  const signal = e.via ? `${e.signal} (${e.via})` : e.signal;
  const parts = [
    formatLogTime(e.atMs),
    whoText(e),
    `[${e.asked}]`,
    `${targetText(e)} ${cap(e.cmd, cmdWidth)}`,
    signal,
    outcomeText(e),
    `reasons: ${e.reasons.length > 0 ? e.reasons.join(', ') : '-'}`,
  ];
  return sanitizeText(parts.join('  '));
}

/** `hidden`: older matching entries left out by --limit; `anyLogged`: the logs hold entries at all. */
export function renderLogText(entries: readonly LogEntry[], sources: readonly string[], hidden: number, anyLogged: boolean): string {
  if (entries.length === 0) {
    return `no signals recorded${anyLogged ? ' that match' : ''} (read: ${sources.map(sanitizeText).join(', ') || 'no log yet'})\n`;
  }
  const lines = entries.map((e) => renderLogLine(e));
  if (hidden > 0) lines.push(`(${hidden} older entr${hidden === 1 ? 'y' : 'ies'} not shown: --limit)`);
  return lines.join('\n') + '\n';
}

/** The --json document: entries oldest first, every field as checked. */
export function buildLogJson(entries: readonly LogEntry[], sources: readonly string[], skipped: number): unknown {
  return {
    sources,
    skipped,
    entries: entries.map((e) => ({
      id: e.id,
      time: new Date(e.atMs).toISOString(),
      ended: e.endedAtMs === null ? null : new Date(e.endedAtMs).toISOString(),
      host: e.host,
      by: e.by,
      asked: e.asked,
      run: e.run,
      task: e.task,
      pid: e.pid,
      startTime: e.start,
      job: e.job,
      owner: e.owner,
      cmd: e.cmd,
      reasons: e.reasons,
      signal: e.signal,
      via: e.via,
      sent: e.sent,
      outcome: e.outcome,
      detail: e.detail,
    })),
  };
}
