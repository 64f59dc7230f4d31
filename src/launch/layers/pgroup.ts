/**
 * Layer pgroup: each stage is spawned in its own session and process group, stdin closed (the
 * spawn does it, see executors/local.ts). Terminal signals never stop a task, and the stage's
 * tree is signalled as one group. After a stage it sweeps what is left of the group, unless a
 * layer that holds every process already vouched for the stage.
 */
import { teardown } from '../../actions/index.js';
import { stageGroups, survivedOf, type ContainmentLayer } from './layer.js';

/** Whether any process is in the group (kill(-pgid, 0): ESRCH when empty, EPERM still means alive). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const pgroupLayer: ContainmentLayer = {
  id: 'pgroup',
  title: 'process group + session',
  meaning: 'terminal signals never stop a task (SIGTTIN/SIGTTOU); a task tree is signalled as one group',
  wanted: () => true,
  detect: () => ({ available: true, detail: 'setsid per task, stdin closed' }),
  // One syscall; escapees that left the group are found by marker (the watcher, the final sweep).
  async afterStage(_c, run, stage) {
    if (stage.pgid <= 1 || !groupAlive(stage.pgid)) return null;
    const res = await teardown({ roots: [], groups: stageGroups(run, stage), mode: 'term', graceMs: run.graceMs, owner: run.owner, ...(stage.audit ? { audit: stage.audit } : {}) });
    return { sweep: { found: res.length, survived: survivedOf(res), cgroupKilled: false }, clean: false };
  },
};
