/** zombie (Z): exited, its parent does not collect it; says what would. */
import { describeProc } from '../relations.js';
import type { ReasonRule } from './rule.js';

export const zombie: ReasonRule = {
  code: 'zombie',
  role: 'stuck',
  explain: ({ p, s, facts, inState, ageSec }) => {
    if (p.state !== 'Z') return null;
    const parent = s.byPid.get(p.ppid);
    // A running parent normally reaps a child within moments of its exit: flag it only once the
    // zombie has lasted stuckAfterSec (or, from one snapshot, was alive that long), unless the
    // parent cannot reap at all (stopped, in D, itself a zombie).
    const parentBlocked = parent !== undefined && (parent.state === 'T' || parent.state === 't' || parent.state === 'D' || parent.state === 'Z');
    const lasting = inState !== null ? inState.sec >= facts.stuckAfterSec : ageSec >= facts.stuckAfterSec;
    // A zombie of init is reaped within seconds (facts.md): not a leftover.
    if (!(p.ppid > 1 && (parentBlocked || lasting))) return null;
    let what: string;
    if (!parent) what = `its parent ${p.ppid} is gone; init reaps it shortly`;
    else if (parent.state === 'T' || parent.state === 't') what = `continue or kill parent ${p.ppid} (${parent.stat})`;
    else if (parent.state === 'D') what = `parent ${p.ppid} (${parent.stat}) is in uninterruptible sleep: it reaps when its kernel call returns, or kill it`;
    else if (parent.state === 'Z') what = `parent ${p.ppid} is itself a zombie: kill its parent ${parent.ppid}`;
    else what = `parent ${p.ppid} (${parent.stat}) does not wait() for it: kill parent ${p.ppid} and init reaps it`;
    return `zombie (Z): exited, but parent ${describeProc(parent, p.ppid)} has not collected its exit status; ${what}`;
  },
};
