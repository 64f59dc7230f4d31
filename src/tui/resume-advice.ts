/**
 * Pure: what the resume confirmation must say before SIGCONT is sent, and what its result may
 * claim. A group stopped by SIGTTIN (it read the terminal from the background) or SIGTTOU
 * (it wrote to it under TOSTOP, or changed its modes) stops again as soon as it is resumed:
 * what works is `fg` in the shell that owns the job, or a kill. The cause comes from the
 * analysis (`Verdict.stopCause`, from evidence only); without evidence nothing is claimed.
 */
import type { Snapshot, StopCause, Verdict } from '../model/index.js';
import { procKeyString, sanitizeText } from '../model/index.js';
import { clip } from './format.js';
import type { ActionOutcome, ActionTarget } from './types.js';

/** The terminal-access stop causes of the targets, one per (shell, terminal, kind). */
export function terminalStops(targets: readonly ActionTarget[], verdicts: ReadonlyMap<number, Verdict>): StopCause[] {
  const seen = new Map<string, StopCause>();
  for (const t of targets) {
    const c = verdicts.get(t.pid)?.stopCause;
    if (!c || (c.kind !== 'ttin' && c.kind !== 'ttou')) continue;
    const k = `${c.kind}|${c.shellPid ?? '?'}|${c.tty ?? '?'}|${c.culpritPid ?? t.pid}`;
    if (!seen.has(k)) seen.set(k, c.culpritPid === null ? { ...c, culpritPid: t.pid } : c);
  }
  return [...seen.values()];
}

function who(pid: number | null, snapshot: Snapshot | null): string {
  if (pid === null) return 'a process of the group';
  const p = snapshot?.byPid.get(pid);
  return p ? `pid ${pid} (${clip(sanitizeText(p.cmd), 40)})` : `pid ${pid}`;
}

/** One warning per terminal stop: why resuming is pointless, and what works instead. */
export function resumeWarnings(causes: readonly StopCause[], snapshot: Snapshot | null): string[] {
  return causes.map((c) => {
    const did = c.kind === 'ttin' ? 'read the terminal from a background job (SIGTTIN)' : 'wrote to the terminal or changed its modes from a background job (SIGTTOU)';
    const again = c.kind === 'ttin' ? 'reads' : 'writes';
    const tty = c.tty ? sanitizeText(c.tty) : null;
    const fg =
      c.shellPid !== null
        ? `\`fg\` in shell ${c.shellPid}${tty ? ` on ${tty}` : ''}`
        : `\`fg\` in the shell that started it${tty ? ` (on ${tty})` : ''}`;
    return `Resuming is pointless: ${who(c.culpritPid, snapshot)} ${did}; resumed, it ${again} again and the group stops again. What works: ${fg}, or K to kill.`;
  });
}

const wasStopped = (t: ActionTarget): boolean => t.stat.startsWith('T') || t.stat.startsWith('t');

/**
 * Outcomes of a resume counted against what was stopped when it was confirmed: a process
 * that was running is not "resumed". Returns the outcomes that count and how many were not stopped.
 */
export function resumeCounted(targets: readonly ActionTarget[], outcomes: readonly ActionOutcome[]): { counted: ActionOutcome[]; notStopped: number } {
  const stopped = new Set(targets.filter(wasStopped).map((t) => procKeyString(t)));
  const known = new Set(targets.map((t) => procKeyString(t)));
  const counted: ActionOutcome[] = [];
  let notStopped = 0;
  for (const o of outcomes) {
    const k = procKeyString(o);
    // Running before and running after: SIGCONT changed nothing for it.
    if (o.outcome === 'resumed' && known.has(k) && !stopped.has(k)) notStopped++;
    else counted.push(o);
  }
  return { counted, notStopped };
}
