/** uninterruptible (D) for at least stuckAfterSec: names the kernel function, and the GPU reset the NVIDIA driver usually needs. */
import { forText, type ReasonRule } from './rule.js';

const NVIDIA_WCHAN = /nvidia|^_*nv(?!me)[a-z0-9]*_|^uvm|^os_(acquire|release|schedule|delay)/i;

export const uninterruptible: ReasonRule = {
  code: 'uninterruptible',
  role: 'stuck',
  explain: ({ p, facts, inState, ageSec }) => {
    if (p.state !== 'D') return null;
    const stuck = inState !== null ? inState.sec >= facts.stuckAfterSec : ageSec >= facts.stuckAfterSec;
    if (!stuck) return null;
    const where = p.wchan && p.wchan !== '0' ? `in ${p.wchan}` : 'in an unknown kernel function';
    const nvidia = (p.wchan !== null && NVIDIA_WCHAN.test(p.wchan)) || (p.nvidiaMinors !== null && p.nvidiaMinors.length > 0);
    const dur = inState !== null ? forText(inState, 'in D') : ' (how long: unknown from one snapshot)';
    let text = `uninterruptible (D)${dur} ${where}: a kill waits until that kernel call returns`;
    if (nvidia) text += '; it is inside the NVIDIA driver or holds a GPU device, which usually needs a GPU reset (nvidia-smi -r) to release';
    return text;
  },
};
