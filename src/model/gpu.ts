/** GPU state as reported by nvidia-smi (real or simulated). Unknown values are null. */
import type { ProcInfo } from './proc.js';

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

/**
 * One GPU a process holds, as one piece of evidence: a row of nvidia-smi's compute apps, or an
 * open /dev/nvidia<minor> (what a process in another PID namespace, or a stale context, shows).
 */
export interface GpuHolding {
  readonly via: 'app' | 'device';
  /** The app row's GPU, or the GPU whose minor is this device's; null when no listed GPU has that minor. */
  readonly uuid: string | null;
  /** That GPU's index; null when the probe lists no such GPU. */
  readonly index: number | null;
  /** /dev/nvidia<minor>: the open device's, or the app's GPU's when known. */
  readonly minor: number | null;
  /** The app row's memory; null for a device file or when nvidia-smi does not say. */
  readonly usedMemoryMiB: number | null;
}

/**
 * pid → what it holds: its compute-app rows in nvidia-smi's order, then its open device files in
 * its nvidiaMinors order. Pids nvidia-smi lists that are not in the process list are kept (another
 * PID namespace): a reader looks up the pids it has.
 */
export type GpuHoldings = ReadonlyMap<number, readonly GpuHolding[]>;

export const NO_GPU_HOLDINGS: readonly GpuHolding[] = Object.freeze([]);

const holdingsMemo = new WeakMap<GpuState, WeakMap<readonly ProcInfo[], GpuHoldings>>();

/**
 * The one join of GPU holders to processes (analysis, ls, the screen and reap's --gpu all read
 * it). Pure; memoised per (GPU state, process list) object pair, so every reader of one
 * snapshot shares one join. GPUs are matched by uuid (apps) and by minor (device files).
 */
export function gpuHoldingsOf(snapshot: { readonly gpu: GpuState; readonly processes: readonly ProcInfo[] }): GpuHoldings {
  let byProcs = holdingsMemo.get(snapshot.gpu);
  if (!byProcs) holdingsMemo.set(snapshot.gpu, (byProcs = new WeakMap()));
  let out = byProcs.get(snapshot.processes);
  if (!out) byProcs.set(snapshot.processes, (out = joinGpuHoldings(snapshot.gpu, snapshot.processes)));
  return out;
}

function joinGpuHoldings(gpu: GpuState, processes: readonly ProcInfo[]): GpuHoldings {
  const byUuid = new Map<string, GpuInfo>();
  const byMinor = new Map<number, GpuInfo>();
  for (const g of gpu.gpus) {
    byUuid.set(g.uuid, g);
    if (g.minor !== null) byMinor.set(g.minor, g);
  }
  const out = new Map<number, GpuHolding[]>();
  const add = (pid: number, h: GpuHolding): void => {
    const list = out.get(pid);
    if (list) list.push(h);
    else out.set(pid, [h]);
  };
  for (const a of gpu.apps) {
    const g = byUuid.get(a.gpuUuid);
    add(a.pid, { via: 'app', uuid: a.gpuUuid, index: g ? g.index : null, minor: g ? g.minor : null, usedMemoryMiB: a.usedMemoryMiB });
  }
  for (const p of processes) {
    for (const m of p.nvidiaMinors ?? []) {
      const g = byMinor.get(m);
      add(p.pid, { via: 'device', uuid: g ? g.uuid : null, index: g ? g.index : null, minor: m, usedMemoryMiB: null });
    }
  }
  return out;
}

/** GPU indices in a holding list, ascending, each once (holdings of unknown GPUs left out). */
export function gpuIndicesIn(held: readonly GpuHolding[]): number[] {
  const out = new Set<number>();
  for (const h of held) if (h.index !== null) out.add(h.index);
  return [...out].sort((a, b) => a - b);
}

/** Pids holding the GPU with this uuid (by a compute app or an open device file), in join order. */
export function gpuHolders(holdings: GpuHoldings, uuid: string): Set<number> {
  const out = new Set<number>();
  for (const [pid, held] of holdings) if (held.some((h) => h.uuid === uuid)) out.add(pid);
  return out;
}

/** Compute-app memory per pid (MiB), summed over its rows, optionally of one GPU; 0 when nvidia-smi does not say. */
export function appMemoryByPid(holdings: GpuHoldings, uuid?: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const [pid, held] of holdings) {
    for (const h of held) {
      if (h.via !== 'app' || (uuid !== undefined && h.uuid !== uuid)) continue;
      out.set(pid, (out.get(pid) ?? 0) + (h.usedMemoryMiB ?? 0));
    }
  }
  return out;
}
