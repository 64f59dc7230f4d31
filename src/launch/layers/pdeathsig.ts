/**
 * Layer pdeathsig: `setpriv --pdeathsig KILL` outermost, so the launcher's direct child gets
 * SIGKILL when the launcher dies (that one process only: the rest is the other layers' job).
 */
import { tryRun, which } from './probe.js';
import type { ContainmentLayer } from './layer.js';

export const pdeathsigLayer: ContainmentLayer = {
  id: 'pdeathsig',
  title: 'parent-death signal',
  meaning: "the task's direct child gets SIGKILL when the launcher dies (only that process)",
  wanted: (req) => req.pdeathsig,
  detect() {
    const setpriv = which('setpriv');
    if (!setpriv) return { available: false, detail: 'setpriv (util-linux) not found' };
    const r = tryRun([setpriv, '--pdeathsig', 'KILL', '--', 'true']);
    return r.ok ? { available: true, detail: `${setpriv} --pdeathsig KILL`, settings: { setpriv } } : { available: false, detail: `setpriv refused: ${r.why}` };
  },
  wrap: (c, argv) => (c.setpriv ? [c.setpriv, '--pdeathsig', 'KILL', '--', ...argv] : [...argv]),
};
