/** traced (t): stopped under a debugger or tracer; names the tracer, or says it is gone. */
import { describeProc } from '../relations.js';
import { forText, type ReasonRule } from './rule.js';

export const traced: ReasonRule = {
  code: 'traced',
  role: 'stuck',
  explain: ({ p, s, inState }) => {
    if (p.state !== 't') return null;
    const tracer = p.tracerPid !== null && p.tracerPid > 0 ? p.tracerPid : null;
    const who =
      tracer === null
        ? 'its tracer is unknown'
        : s.byPid.has(tracer)
          ? `tracer ${describeProc(s.byPid.get(tracer), tracer)} holds it`
          : `its tracer ${tracer} is gone`;
    return `traced (t)${forText(inState, 'traced')}: stopped under a debugger or tracer; ${who}; it resumes when the tracer continues or detaches`;
  },
};
