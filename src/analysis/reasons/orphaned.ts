/**
 * orphaned: its parent (or its tree's root's parent) died and init or a subreaper adopted it.
 * Context only: every daemon looks like this. It counts when the process is stuck, has evidence
 * of its own, or its orphaned tree or process group holds a process with evidence (then
 * explain.ts appends brokenBatchText).
 */
import type { ProcInfo, Snapshot } from '../../model/index.js';
import type { ReasonRule } from './rule.js';

export const orphaned: ReasonRule = {
  code: 'orphaned',
  role: 'context',
  explain: ({ p, s, root }) => {
    if (!root) return null;
    const adopter = root.ppid === 1 ? 'init (pid 1)' : `subreaper ${root.ppid} (${s.byPid.get(root.ppid)?.comm ?? '?'})`;
    if (root.pid === p.pid && p.pgid === p.pid && p.sid === p.pid) return `orphaned: started detached (setsid: its own session) and its parent is gone; ${adopter} adopted it, so no terminal, parent or run owns it`;
    if (root.pid === p.pid && p.pgid === p.pid) return `orphaned: the shell that started it (session leader ${p.sid}) is gone and ${adopter} adopted it, so no terminal, parent or run owns it`;
    if (root.pid === p.pid) return `orphaned: its parent died and ${adopter} adopted it; it was started inside process group ${p.pgid}${groupLeaderNote(s, p)}`;
    return `orphaned: in the tree of ${root.pid} (${root.comm}), whose parent died (adopted by ${adopter})`;
  },
};

/** The orphaned sentence of a process with no evidence of its own, in the tree or group of `via`, which has some. */
export function brokenBatchText(text: string, via: ProcInfo, where: string): string {
  return `${text}; part of a broken batch: ${via.pid} (${via.comm}) in ${where} is one`;
}

function groupLeaderNote(s: Snapshot, p: ProcInfo): string {
  const l = s.byPid.get(p.pgid);
  const alive = l !== undefined && l.state !== 'Z' && l.pgid === p.pgid && l.startTime <= p.startTime;
  return alive ? ` (its leader ${p.pgid}, ${l.comm}, is alive but is not its parent)` : `, whose leader ${p.pgid} is gone`;
}
