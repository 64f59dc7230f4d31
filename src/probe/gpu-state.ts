/** Small pure helpers shared by the one-shot probe and the loop: building GpuState values. */
import type { GpuApp, GpuInfo, GpuProbeError, GpuSource, GpuState } from '../model/gpu.js';
import type { RunResult } from './nvidia-runner.js';
import { classifyOutcome } from './nvidia-classify.js';
import { isSimUuid } from './sim/sim-constants.js';

/** Same union as cli/flags.ts GpuSelection (probe must not import cli). */
export type GpuSelection = { kind: 'auto' } | { kind: 'none' } | { kind: 'sim'; count: number };

export interface GpuProbeConfig {
  /** argv of the binary: ["nvidia-smi"], or [node, main.js, "sim-nvidia-smi"]. */
  readonly command: readonly string[];
  /** True for --gpus sim:N. */
  readonly simulated: boolean;
  /** Deadline of one call (ms). */
  readonly timeoutMs: number;
  /** --gpus none: read() resolves NO_GPU_STATE. */
  readonly disabled: boolean;
  /** Extra environment for the child (REAPER_SIM_GPUS for the simulator). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * The loop's GPU reader also writes the compute-apps rows, on fd 3 (`--reaper-apps=FIELDS`,
   * reaper's simulator only): one process and one /proc scan per tick instead of two.
   */
  readonly appsAlongside?: boolean;
}

export function stalledError(sinceMs: number): GpuProbeError {
  return { kind: 'stalled', message: `probe stalled ${Math.max(1, Math.round(sinceMs / 1000))} s` };
}

function timeoutError(afterMs: number): GpuProbeError {
  return { kind: 'timeout', message: `nvidia-smi: no answer in ${Math.round(afterMs / 1000)} s (killed)` };
}

/** A run's failure, or null when it exited cleanly. */
export function errorOfRun(r: RunResult, binary: string): GpuProbeError | null {
  switch (r.kind) {
    case 'spawn-error':
      return classifyOutcome({ exitCode: null, stdout: '', stderr: '', spawnError: r.code, binary });
    case 'timeout':
      return timeoutError(r.afterMs);
    case 'stalled':
      return stalledError(r.sinceMs);
    case 'exited':
      return classifyOutcome({ exitCode: r.exitCode, signal: r.signal, stdout: r.stdout, stderr: r.stderr, binary });
  }
}

/**
 * 'simulated' when configured so, or when every GPU carries the simulator's uuid prefix:
 * REAPER_NVIDIA_SMI may point at bin/nvidia-smi-sim, and the config cannot know that, so the
 * output itself says it.
 */
function sourceOf(cfg: Pick<GpuProbeConfig, 'simulated'>, gpus: readonly GpuInfo[]): GpuSource {
  if (cfg.simulated) return 'simulated';
  if (gpus.length > 0 && gpus.every((g) => isSimUuid(g.uuid))) return 'simulated';
  return 'nvidia-smi';
}

export function errorState(cfg: Pick<GpuProbeConfig, 'simulated'>, error: GpuProbeError, atMs: number): GpuState {
  return { source: cfg.simulated ? 'simulated' : 'nvidia-smi', ok: false, error, gpus: [], apps: [], sampledAtMs: atMs };
}

export function okState(
  cfg: Pick<GpuProbeConfig, 'simulated'>,
  gpus: readonly GpuInfo[],
  apps: readonly GpuApp[],
  atMs: number,
  partial: GpuProbeError | null = null,
): GpuState {
  return { source: sourceOf(cfg, gpus), ok: true, error: partial, gpus, apps, sampledAtMs: atMs };
}

export function binaryName(cfg: Pick<GpuProbeConfig, 'command' | 'simulated'>): string {
  return cfg.simulated ? 'reaper sim-nvidia-smi' : (cfg.command[0] ?? 'nvidia-smi');
}
