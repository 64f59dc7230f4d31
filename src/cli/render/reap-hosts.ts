/**
 * `reaper reap --host H` text: the host's plan with every target as `host:pid(user) command`,
 * and one line per result the host's agent reported. Everything from the host was sanitised
 * when checked and is sanitised again here. Pure.
 */
import { sanitizeText } from '../../model/sanitize.js';
import type { WireResult } from '../../remote/protocol.js';
import type { HostPlan } from '../hosts/reap-validate.js';
import { describeAction, wrapText } from './reap-text.js';

function clip(s: string, width: number): string {
  const t = sanitizeText(s);
  return t.length > width ? `${t.slice(0, Math.max(1, width - 1))}…` : t;
}

/** "host2:4711(ana)" */
function hostPidUser(host: string, pid: number, user: string | null, uid: number | null): string {
  return sanitizeText(`${host}:${pid}(${user ?? (uid === null ? '?' : String(uid))})`);
}

export function renderHostPlanText(host: string, plan: HostPlan, width = 120): string {
  const n = plan.targets.length;
  const lines = [`reap plan on ${sanitizeText(host)}: ${describeAction(plan)}; ${n} target${n === 1 ? '' : 's'}${plan.skipped.length ? `, ${plan.skipped.length} skipped` : ''}`];
  if (n > 0 && plan.scope) lines.push(...wrapText(plan.scope, Math.max(40, width), '    ', '  scope: '));
  for (const t of plan.targets) {
    const who = hostPidUser(host, t.pid, t.user, t.uid);
    lines.push(`  ${who} ${sanitizeText(t.stat).padEnd(5)} ${clip(t.cmd, Math.max(20, width - who.length - 9))}`);
    for (const r of t.reasons) lines.push(`      - ${sanitizeText(r.text)}`);
    if (t.note) lines.push(`      - ${sanitizeText(t.note)}`);
  }
  if (plan.skipped.length > 0) {
    lines.push('skipped (left alone):');
    for (const s of plan.skipped) lines.push(`  ${sanitizeText(`${host}:${s.pid}`)} ${clip(s.cmd, 50)}: ${sanitizeText(s.why)}`);
  }
  for (const w of plan.warnings) lines.push(...wrapText(w, Math.max(40, width), '    ', 'warning: '));
  if (plan.jobs.length > 0) {
    lines.push(`warning: the run has Slurm jobs on ${sanitizeText(host)} that reap --host does not cancel (run "reaper reap --run …" there):`);
    for (const j of plan.jobs) lines.push(`    ${sanitizeText(j)}`);
  }
  if (n === 0) lines.push('nothing to reap');
  return lines.join('\n') + '\n';
}

/** One result: "  host2:4711  gone         python3 train.py: detail". */
export function renderHostResultLine(host: string, r: WireResult, width = 120): string {
  const head = `  ${sanitizeText(`${host}:${r.pid}`).padEnd(14)} ${r.outcome.padEnd(12)} ${clip(r.cmd || '?', 40)}`;
  if (!r.detail) return head.trimEnd();
  return wrapText(r.detail, Math.max(head.length + 20, width), ' '.repeat(16), `${head}: `).join('\n');
}

export function summarizeHostResults(results: readonly WireResult[]): string {
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  const order = ['gone', 'resumed', 'survived', 'kill-pending', 'skipped', 'refused', 'not-stopped'];
  const label: Record<string, string> = { 'not-stopped': 'not stopped (left alone)' };
  const parts = order.filter((o) => counts.has(o)).map((o) => `${counts.get(o)} ${label[o] ?? o}`);
  return `result: ${parts.join(', ') || 'nothing done'}`;
}

/**
 * 0: every target gone, resumed, left alone because it was running, or no longer there to act
 * on (gone or reused before the act: the plan's process is not there, nothing else is hunted);
 * 1: some survive or were refused for another reason.
 */
export function hostReapExitCode(results: readonly WireResult[]): number {
  const bad = results.some(
    (r) =>
      r.outcome === 'survived' ||
      r.outcome === 'kill-pending' ||
      ((r.outcome === 'skipped' || r.outcome === 'refused') && r.reused !== true),
  );
  return bad ? 1 : 0;
}
