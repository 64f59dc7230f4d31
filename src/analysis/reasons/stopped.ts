/** stopped (T): where it sits (job, terminal), why it stopped (evidence only), who traces it. */
import { describeProc } from '../relations.js';
import { describeStopCause } from '../stop-cause.js';
import { forText, type ReasonRule } from './rule.js';

export const stopped: ReasonRule = {
  code: 'stopped',
  role: 'stuck',
  explain: ({ p, s, facts, tty, inState, stopCause }) => {
    if (p.state !== 'T') return null;
    const g = facts.groups.get(p.pgid);
    const groupNote = g && g.members > 1 ? ` (${g.stopped} of ${g.members} processes in group ${p.pgid} are stopped)` : '';
    let where: string;
    if (p.ttyNr !== 0 && p.tpgid !== -1 && p.pgid !== p.tpgid) where = `background job on ${tty} (group ${p.pgid}; the terminal's foreground group is ${p.tpgid})`;
    else if (p.ttyNr !== 0 && p.tpgid !== -1) where = `in the foreground of ${tty}`;
    else if (p.ttyNr !== 0) where = `on ${tty}, which has no foreground group any more (its shell is gone)`;
    else where = 'no controlling terminal';
    let why = `${where}${groupNote}: ${describeStopCause(s, p, stopCause!)}`;
    if (p.tracerPid !== null && p.tracerPid > 0) why += `; traced by ${describeProc(s.byPid.get(p.tracerPid), p.tracerPid)}`;
    return `stopped (T)${forText(inState, 'stopped')}: ${why}; it ignores SIGTERM until continued (SIGCONT) or killed`;
  },
};
