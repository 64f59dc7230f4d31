/**
 * Pure: the header's two probe states, apart. The /proc scan and the GPU probe fail
 * independently (a hung nvidia-smi never stops the scan), so one "probe: ok" would hide the
 * other. Every duration here is one this screen observed: since the GPU's last answer, or
 * since the screen started asking.
 */
import type { GpuState } from '../model/index.js';
import { sanitizeText } from '../model/index.js';
import { groupThousands } from './format.js';
import type { ProbeStatus } from './types.js';

export interface ProbeStateText {
  readonly text: string;
  readonly bad: boolean;
}

/** "procs: 2,073 · 35 ms", "procs: scanning…", "procs: scan failed: …". */
export function procsStateText(probe: ProbeStatus, processCount: number | null): ProbeStateText {
  if (probe.state === 'error') return { text: `procs: ${sanitizeText(probe.message ?? 'error')}`, bad: true };
  if (probe.state === 'starting' || processCount === null) return { text: 'procs: scanning…', bad: false };
  const ms = probe.scanMs !== null ? ` · ${Math.round(probe.scanMs)} ms` : '';
  return { text: `procs: ${groupThousands(processCount)}${ms}`, bad: false };
}

/** How old GPU data may get before the header calls the probe stalled (as the GPU table does). */
function gpuStaleAfterMs(intervalMs: number): number {
  return Math.max(3 * intervalMs, 5000);
}

/**
 * "gpu: ok", "gpu: off", "gpu: starting", "gpu: stalled 12 s" (no answer for 12 s since the
 * last one), "gpu: no answer 12 s" (none since this screen started), or the failure kind
 * ("gpu: driver not reachable"). `nowMs` is the data's time (the last scan), never the clock.
 */
export function gpuStateText(gpu: GpuState, probe: ProbeStatus, nowMs: number | null): ProbeStateText {
  if (gpu.source === 'none' && gpu.error === null) return { text: 'gpu: off', bad: false };
  const staleAfter = gpuStaleAfterMs(probe.intervalMs);
  const lastOk = probe.gpuOkAtMs ?? (gpu.ok ? gpu.sampledAtMs : null);
  const quiet = (): ProbeStateText => {
    const since = lastOk ?? probe.gpuSinceMs ?? null;
    const secs = nowMs !== null && since !== null ? ` ${Math.max(1, Math.round((nowMs - since) / 1000))} s` : '';
    return { text: lastOk !== null ? `gpu: stalled${secs}` : `gpu: no answer${secs}`, bad: true };
  };
  if (gpu.error !== null && (gpu.error.kind === 'stalled' || gpu.error.kind === 'timeout')) return quiet();
  if (gpu.error !== null && !gpu.ok) return { text: `gpu: ${gpu.error.kind.replace(/-/g, ' ')}`, bad: true };
  if (gpu.sampledAtMs === null) {
    const waited = nowMs !== null && probe.gpuSinceMs != null ? nowMs - probe.gpuSinceMs : 0;
    return waited > staleAfter ? quiet() : { text: 'gpu: starting', bad: false };
  }
  if (nowMs !== null && nowMs - gpu.sampledAtMs > staleAfter) return quiet();
  const n = gpu.gpus.length;
  return { text: `gpu: ok${gpu.source === 'simulated' ? ' (sim)' : ''} ${n} GPU${n === 1 ? '' : 's'}`, bad: false };
}
