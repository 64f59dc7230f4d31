/** The end-of-run summary of `reaper run`: what failed and why, where the record is. */
import type { RunOutcome } from '../../launch/index.js';
import { formatDuration } from '../../launch/index.js';
import { sanitizeText } from '../../model/sanitize.js';

export function renderRunSummary(o: RunOutcome, name: string): string {
  const count = (s: string): number => o.tasks.filter((t) => t.status === s).length;
  const parts = [`${count('succeeded')} succeeded`];
  if (count('failed')) parts.push(`${count('failed')} failed`);
  if (count('cancelled')) parts.push(`${count('cancelled')} cancelled`);
  if (count('skipped')) parts.push(`${count('skipped')} skipped`);
  const lines = [`run ${o.runId} (${sanitizeText(name)}) ${o.state}${o.signal ? ` by ${o.signal}` : ''}: ${o.tasks.length} tasks, ${parts.join(', ')} in ${formatDuration(o.durationMs)}; processes left alive: ${o.survivors}`];
  for (const t of o.tasks) {
    if (t.status === 'succeeded') continue;
    lines.push(`  task ${t.task}${t.gpu !== null ? ` gpu ${sanitizeText(t.gpu)}` : ''}${t.stage ? ` ${sanitizeText(t.stage)}` : ''}: ${t.status}${t.detail ? `: ${sanitizeText(t.detail)}` : ''}`);
  }
  lines.push(`record: ${sanitizeText(o.dir)}`);
  return lines.join('\n') + '\n';
}

/** The end of `reaper run -- COMMAND`: one line on stderr (stdout belongs to the driver). */
export function renderDriverSummary(o: RunOutcome, name: string): string {
  const t = o.tasks[0];
  const how = !t ? 'did not start' : t.status === 'succeeded' ? 'exited 0' : t.detail ? sanitizeText(t.detail) : t.status;
  return `reaper: run ${o.runId} (${sanitizeText(name)}) ${o.state}${o.signal ? ` by ${o.signal}` : ''}: driver ${how}${o.exitCode !== (t?.status === 'succeeded' ? 0 : Number(/^exit (\d+)$/.exec(t?.detail ?? '')?.[1] ?? NaN)) ? `; exit ${o.exitCode}` : ''}; processes left alive: ${o.survivors}; record: ${sanitizeText(o.dir)}\n`;
}
