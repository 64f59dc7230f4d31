/**
 * Layer pidns: each stage in its own PID namespace (`unshare --pid --fork --kill-child`): when
 * its init dies the kernel kills every member, even after the launcher was SIGKILLed. Tried as
 * root first, then inside a user namespace (unprivileged).
 */
import { tryRun, which } from './probe.js';
import type { ContainmentLayer } from './layer.js';

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
    if (direct.ok) return { available: true, detail: `${unshare} --pid --fork --kill-child`, settings: { pidnsPrefix: base } };
    const user = [unshare, '--user', '--map-current-user', '--pid', '--fork', '--kill-child'];
    const viaUser = tryRun([...user, '--', 'true']);
    if (viaUser.ok) return { available: true, detail: `${unshare} --user --map-current-user --pid --fork --kill-child (unprivileged)`, settings: { pidnsPrefix: user } };
    return { available: false, detail: `refused: ${direct.why}; with a user namespace: ${viaUser.why}` };
  },
  holdsEveryProcess: (c) => c.pidnsPrefix !== null,
  wrap: (c, argv) => (c.pidnsPrefix ? [...c.pidnsPrefix, '--', ...argv] : [...argv]),
  // The namespace died with its init: the kernel killed every member before the leader's wait returned.
  afterStage: async (c) => (c.pidnsPrefix ? { sweep: null, clean: true } : null),
};
