/**
 * Identity of the simulated GPUs. The uuid prefix is how the probe recognises simulator
 * output even when it runs behind REAPER_NVIDIA_SMI (bin/nvidia-smi-sim): "5eed" = seed.
 */
const SIM_UUID_PREFIX = 'GPU-5eed0000-0000-4000-8000-';
export const SIM_GPU_NAME = 'Simulated GPU (reaper)';
/** Environment marker a process sets to "hold" simulated GPU memory (MiB). */
export const SIM_MIB_ENV = 'REAPER_SIM_GPU_MIB';
export const SIM_COUNT_ENV = 'REAPER_SIM_GPUS';
export const SIM_DEFAULT_COUNT = 2;
export const SIM_MAX_COUNT = 64;

export function simUuid(index: number): string {
  return SIM_UUID_PREFIX + index.toString(16).padStart(12, '0');
}

export function isSimUuid(uuid: string): boolean {
  return uuid.startsWith(SIM_UUID_PREFIX);
}
