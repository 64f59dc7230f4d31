/**
 * batch-pattern: its command line matches a batch pattern while its batch is gone (its run ended,
 * or its tree lost its parent). A detached process that leads its own group is the root of
 * whatever batch it runs: it still runs, so its batch is not gone (unless it holds a GPU or is stuck).
 */
import { matchText } from '../patterns.js';
import type { ReasonRule } from './rule.js';

export const batchPattern: ReasonRule = {
  code: 'batch-pattern',
  role: 'evidence',
  explain: ({ p, facts, owned, root, endedRun }) => {
    const batchGone = endedRun || (root !== null && !(root.pid === p.pid && p.pgid === p.pid));
    if (owned || facts.patterns.length === 0 || p.state === 'Z' || !batchGone) return null;
    const text = matchText(p);
    const hit = facts.patterns.find((re) => {
      re.lastIndex = 0;
      return re.test(text);
    });
    if (!hit) return null;
    const owner = root ? `its launcher is gone (tree adopted at ${root.pid})` : `its run ${p.runId} has ended`;
    return `matches batch pattern ${hit.source} while no live launcher owns it: ${owner}`;
  },
};
