/**
 * gpu-no-owner: holds a GPU (a compute app, or an open /dev/nvidiaN) while no live run owns it and
 * its tree lost its parent or its run ended. A REAPER_RUN marker that names a live run without
 * owning the process (forged) does not hide it: the sentence says why the marker does not count.
 */
import type { ReasonRule } from './rule.js';

export const gpuNoOwner: ReasonRule = {
  code: 'gpu-no-owner',
  role: 'evidence',
  explain: ({ p, gpu, owned, forged, root, endedRun }) => {
    if (gpu.length === 0 || owned || (root === null && !endedRun)) return null;
    // An app row and an open device of the same GPU are one holding: name the app (it has memory).
    const seen = new Set<number>();
    const held: string[] = [];
    for (const h of gpu) {
      if (h.via === 'app') {
        if (h.index !== null) seen.add(h.index);
        held.push(`GPU ${h.index ?? h.uuid}${h.usedMemoryMiB !== null ? ` (${h.usedMemoryMiB} MiB)` : ''}`);
      } else if (h.index === null || !seen.has(h.index)) {
        held.push(`/dev/nvidia${h.minor}${h.index !== null ? ` (GPU ${h.index})` : ''}`);
      }
    }
    const why = endedRun
      ? `its run ${p.runId} has ended`
      : root!.pid === p.pid && p.pgid === p.pid
        ? 'no live run owns it and nothing started it that is still alive (a detached process)'
        : `no live run owns it and its launcher is gone (tree adopted at ${root!.pid})`;
    return `holds ${held.join(', ')} but ${why}${forged ? `; ${forged}` : ''}`;
  },
};
