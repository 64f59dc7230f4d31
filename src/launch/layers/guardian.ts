/**
 * Layer guardian: a detached process holding the launcher's lifeline pipe (src/launch/guardian.ts);
 * it tears the run down when the launcher dies, even by SIGKILL. Started before the run-start
 * record (which names it), released after the run-end record.
 */
import { startGuardian } from '../guardian.js';
import type { ContainmentLayer } from './layer.js';

export const guardianLayer: ContainmentLayer = {
  id: 'guardian',
  title: 'guardian process',
  meaning: 'a detached process tears the run down when the launcher dies, even by SIGKILL',
  wanted: (req) => req.guardian,
  detect: () => ({ available: true, detail: 'reaper __guardian on a lifeline pipe', settings: { guardian: true } }),
  openRun(c, run) {
    if (c.guardian) run.guardian = startGuardian({ runId: run.runId, state: run.state, paths: run.paths, env: run.env });
  },
  closeRun(run) {
    run.guardian?.release();
  },
};
