/** ended-run: its REAPER_RUN marker names a run that is not live (ended, or never recorded). */
import type { ReasonRule } from './rule.js';

export const endedRun: ReasonRule = {
  code: 'ended-run',
  role: 'evidence',
  explain: ({ p, facts, endedRun }) => {
    if (!endedRun) return null;
    const r = facts.runsById.get(p.runId!);
    const task = p.taskId ? ` (task ${p.taskId})` : '';
    const how = r ? `which has ended (${r.state}${r.launcher ? `, launcher ${r.launcher.pid} gone` : ''})` : 'whose launcher is gone (no live run has that id)';
    return `member of run ${p.runId}${task}, ${how}`;
  },
};
