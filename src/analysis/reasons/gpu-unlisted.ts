/**
 * gpu-unlisted: holds /dev/nvidiaN while nvidia-smi, which does list compute processes here, does
 * not list it. Context only: a live process in another PID namespace looks the same.
 */
import type { ReasonRule } from './rule.js';

export const gpuUnlisted: ReasonRule = {
  code: 'gpu-unlisted',
  role: 'context',
  explain: ({ s, gpu, owned }) => {
    const g = s.gpu;
    if (owned || !g.ok || g.source !== 'nvidia-smi' || g.apps.length === 0) return null;
    if (gpu.some((h) => h.via === 'app')) return null;
    const d = gpu.find((h) => h.via === 'device');
    if (!d) return null;
    return `holds /dev/nvidia${d.minor}${d.index !== null ? ` (GPU ${d.index})` : ''} but nvidia-smi does not list it as a compute process: a stale CUDA context, or a process in another PID namespace`;
  },
};
