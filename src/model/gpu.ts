/** GPU state as reported by nvidia-smi (real or simulated). Unknown values are null. */

export type GpuSource = 'nvidia-smi' | 'simulated' | 'none';

export type GpuProbeErrorKind =
  | 'not-installed'
  | 'no-devices'
  | 'driver-not-reachable'
  | 'version-mismatch'
  | 'gpu-lost'
  | 'invalid-field'
  | 'timeout'
  | 'stalled'
  | 'unknown';

export interface GpuProbeError {
  readonly kind: GpuProbeErrorKind;
  /** One line, for the UI ("nvidia-smi: driver not reachable"). */
  readonly message: string;
}

export interface GpuInfo {
  readonly index: number;
  /** GPUs are keyed by uuid, never by index. */
  readonly uuid: string;
  readonly name: string;
  /** Normalised as /proc prints it: lower case, 4-hex-digit domain ("00000000:65:00.0" → "0000:65:00.0"). */
  readonly busId: string | null;
  readonly utilizationGpu: number | null;
  readonly memoryUsedMiB: number | null;
  readonly memoryTotalMiB: number | null;
  readonly temperatureC: number | null;
  readonly powerDrawW: number | null;
  readonly powerLimitW: number | null;
  readonly pstate: string | null;
  readonly persistenceMode: boolean | null;
  readonly migMode: string | null;
  /** /dev/nvidia<minor>; null when unknown. */
  readonly minor: number | null;
  /** Field name -> why it is missing ("[N/A]", "[Not Supported]" …). */
  readonly missing: Readonly<Record<string, string>>;
}

/** One row of --query-compute-apps. */
export interface GpuApp {
  readonly gpuUuid: string;
  readonly pid: number;
  readonly processName: string;
  readonly usedMemoryMiB: number | null;
}

export interface GpuState {
  readonly source: GpuSource;
  readonly ok: boolean;
  readonly error: GpuProbeError | null;
  readonly gpus: readonly GpuInfo[];
  readonly apps: readonly GpuApp[];
  /** When the data was read (ms since epoch); null if never. */
  readonly sampledAtMs: number | null;
}

export const NO_GPU_STATE: GpuState = {
  source: 'none',
  ok: false,
  error: null,
  gpus: [],
  apps: [],
  sampledAtMs: null,
};
