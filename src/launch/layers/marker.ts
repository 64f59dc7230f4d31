/**
 * Layer marker: REAPER_RUN / REAPER_TASK / REAPER_STAGE in every task's environment (set by the
 * local executor). Escapees that leave the group (setsid, double fork) are still found by
 * /proc/PID/environ; `env -i` escapees are not. The final sweep tears down every marked process.
 */
import { teardown } from '../../actions/index.js';
import { survivedOf, type ContainmentLayer } from './layer.js';

const MARKER_VARS = ['REAPER_RUN', 'REAPER_TASK', 'REAPER_STAGE'] as const;

export const markerLayer: ContainmentLayer = {
  id: 'marker',
  title: 'environment marker',
  meaning: 'escapees that leave the group (setsid, double fork) are still found by /proc/*/environ; `env -i` escapees are not',
  wanted: () => true,
  detect: () => ({ available: true, detail: MARKER_VARS.join(', ') }),
  async atRunEnd(run, mode) {
    const res = await teardown({ runId: run.runId, mode, graceMs: run.graceMs, owner: run.owner, ...(run.audit ? { audit: run.audit } : {}) });
    const survived = survivedOf(res);
    return { sweep: res.length > 0 ? { found: res.length, survived, cgroupKilled: false } : null, survived };
  },
};
