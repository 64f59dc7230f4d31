/**
 * Layer pidns: each stage in its own PID namespace (`unshare --pid --fork --kill-child`): when
 * its init dies the kernel kills every member, even after the launcher was SIGKILLed. Tried as
 * root first, then inside a user namespace (unprivileged). The namespace's PID 1 is a tiny init
 * (stage-init.ts) that runs the command, so the command keeps its ordinary signal semantics.
 */
import { tryRun, which } from './probe.js';
import type { ContainmentLayer } from './layer.js';
import { stageInitArgv } from './stage-init.js';

/** perl, for the stage init; null (the command is PID 1) without it. */
function findInit(): { argv: string[] | null; note: string } {
  const perl = which('perl');
  if (perl && tryRun([perl, '-e', '1']).ok) return { argv: stageInitArgv(perl), note: 'init: reaper-init (perl)' };
  return { argv: null, note: 'no perl: the command is the namespace\'s PID 1 (signals it has no handler for are dropped)' };
}

export const pidnsLayer: ContainmentLayer = {
  id: 'pidns',
  title: 'PID namespace per task',
  meaning: 'when the task leader dies the kernel kills every process in its namespace, even after the launcher was SIGKILLed',
  wanted: (req) => req.pidns,
  detect() {
    const unshare = which('unshare');
    if (!unshare) return { available: false, detail: 'unshare (util-linux) not found' };
    const base = [unshare, '--pid', '--fork', '--kill-child'];
    const direct = tryRun([...base, '--', 'true']);
    if (direct.ok) {
      const init = findInit();
      return { available: true, detail: `${unshare} --pid --fork --kill-child; ${init.note}`, settings: { pidnsPrefix: base, pidnsInit: init.argv } };
    }
    const user = [unshare, '--user', '--map-current-user', '--pid', '--fork', '--kill-child'];
    const viaUser = tryRun([...user, '--', 'true']);
    if (viaUser.ok) {
      const init = findInit();
      return { available: true, detail: `${unshare} --user --map-current-user --pid --fork --kill-child (unprivileged); ${init.note}`, settings: { pidnsPrefix: user, pidnsInit: init.argv } };
    }
    return { available: false, detail: `refused: ${direct.why}; with a user namespace: ${viaUser.why}` };
  },
  holdsEveryProcess: (c) => c.pidnsPrefix !== null,
  wrap: (c, argv) => (c.pidnsPrefix ? [...c.pidnsPrefix, '--', ...(c.pidnsInit ?? []), ...argv] : [...argv]),
  // The namespace died with its init: the kernel killed every member before the leader's wait returned.
  afterStage: async (c) => (c.pidnsPrefix ? { sweep: null, clean: true } : null),
};
