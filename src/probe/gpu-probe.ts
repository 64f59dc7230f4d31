/**
 * The GPU probe: nvidia-smi (or the simulator) through its CSV interface, no native
 * bindings. One-shot reads for `reaper ls`, loop-mode readers for the TUI (gpu-loop.ts).
 * A failed probe is a normal GpuState with ok:false and a classified error, never a throw.
 */
import { existsSync } from 'node:fs';
import { selfCommand } from './self-command.js';
import { NO_GPU_STATE, type GpuProbeError, type GpuState } from '../model/gpu.js';
import { createNvidiaSmiRunner, type KillGroupFn, type SpawnFn } from './nvidia-runner.js';
import { APP_FIELDS, GPU_BASE_FIELDS, GPU_OPTIONAL_FIELDS, appQueryArgs, gpuQueryArgs, parseComputeApps, parseQueryGpu } from './nvidia-parse.js';
import { classifyErrorText, classifyOutcome } from './nvidia-classify.js';
import { attachMinors, readGpuInformation, type GpuInformation } from './nvidia-info.js';
import { binaryName, errorOfRun, errorState, okState, type GpuProbeConfig, type GpuSelection } from './gpu-state.js';
import { SIM_COUNT_ENV } from './sim/sim-constants.js';

export type { GpuProbeConfig, GpuSelection } from './gpu-state.js';
export { createGpuLoop, type GpuLoop, type GpuLoopDeps } from './gpu-loop.js';

export const DEFAULT_GPU_TIMEOUT_MS = 10_000;


export function resolveGpuProbeConfig(sel: GpuSelection, env: NodeJS.ProcessEnv): GpuProbeConfig {
  const timeoutMs = DEFAULT_GPU_TIMEOUT_MS;
  switch (sel.kind) {
    case 'none':
      return { command: [], simulated: false, timeoutMs, disabled: true };
    case 'sim':
      return {
        // The simulator re-enters through this very binary (tree, bundle or single-file build).
        command: [...selfCommand(), 'sim-nvidia-smi'],
        simulated: true,
        timeoutMs,
        disabled: false,
        env: { [SIM_COUNT_ENV]: String(sel.count) },
        appsAlongside: true,
      };
    case 'auto': {
      const bin = env.REAPER_NVIDIA_SMI && env.REAPER_NVIDIA_SMI.trim() !== '' ? env.REAPER_NVIDIA_SMI : 'nvidia-smi';
      return { command: [bin], simulated: false, timeoutMs, disabled: false };
    }
  }
}

/** Test seams; production code passes nothing. */
export interface GpuProbeDeps {
  readonly spawnImpl?: SpawnFn;
  readonly killGroup?: KillGroupFn;
  readonly killGraceMs?: number;
  readonly now?: () => number;
  readonly readInfo?: () => Promise<GpuInformation[]>;
}

export interface GpuProbe {
  /** One sample. Concurrent callers share the read in flight. Never rejects. */
  read(): Promise<GpuState>;
  /** Kills a child still in flight. */
  close(): void;
}

/**
 * False only when `bin` is a bare name and no PATH folder holds a file of that name: the spawn
 * would fail with ENOENT. Anything else (a path, no PATH, a file there that may not run) is left
 * to the spawn, which classifies it as before.
 */
export function mayBeOnPath(bin: string, pathEnv: string | undefined): boolean {
  if (bin.includes('/') || pathEnv === undefined) return true;
  return pathEnv.split(':').some((dir) => existsSync(`${dir === '' ? '.' : dir}/${bin}`));
}

export function createGpuProbe(cfg: GpuProbeConfig, deps: GpuProbeDeps = {}): GpuProbe {
  if (cfg.disabled) {
    return { read: async () => ({ ...NO_GPU_STATE }), close: () => undefined };
  }
  const now = deps.now ?? Date.now;
  // No nvidia-smi anywhere on PATH (the usual machine without NVIDIA GPUs): the answer a failed
  // spawn would give, without forking this process (~30 ms of a one-shot ls with 2,000 processes).
  const bin0 = cfg.command[0];
  if (!deps.spawnImpl && !cfg.simulated && bin0 !== undefined && !mayBeOnPath(bin0, cfg.env?.PATH ?? process.env.PATH)) {
    const error = classifyOutcome({ exitCode: null, stdout: '', stderr: '', spawnError: 'ENOENT', binary: bin0 })!;
    return { read: async () => errorState(cfg, error, now()), close: () => undefined };
  }
  const readInfo = deps.readInfo ?? (() => readGpuInformation());
  const runner = createNvidiaSmiRunner({
    command: cfg.command,
    env: cfg.env,
    timeoutMs: cfg.timeoutMs,
    killGraceMs: deps.killGraceMs,
    spawnImpl: deps.spawnImpl,
    killGroup: deps.killGroup,
    now,
  });
  const bin = binaryName(cfg);
  // Whether this driver accepts the optional fields; learned once.
  let withOptional = true;
  let pending: Promise<GpuState> | null = null;

  const readOnce = async (): Promise<GpuState> => {
    let fields: string[] = withOptional ? [...GPU_BASE_FIELDS, ...GPU_OPTIONAL_FIELDS] : [...GPU_BASE_FIELDS];
    let r = await runner.run(gpuQueryArgs(withOptional));
    let error = errorOfRun(r, bin);
    if (error?.kind === 'invalid-field' && withOptional) {
      // An older driver without mig.mode.current: retry once without the optional fields.
      withOptional = false;
      fields = [...GPU_BASE_FIELDS];
      r = await runner.run(gpuQueryArgs(false));
      error = errorOfRun(r, bin);
    }
    if (error || r.kind !== 'exited') return errorState(cfg, error ?? { kind: 'unknown', message: 'nvidia-smi: no output' }, now());
    const parsed = parseQueryGpu(r.stdout, fields);
    let partial: GpuProbeError | null = null;
    for (const line of parsed.skipped) partial ??= classifyErrorText(line);
    const broken = parsed.gpus.find((g) => Object.values(g.missing).some((why) => /requires reset|GPU is lost/i.test(why)));
    if (!partial && broken) partial = { kind: 'gpu-lost', message: `nvidia-smi: GPU ${broken.index} (${broken.busId ?? broken.uuid}) requires reset` };
    if (parsed.gpus.length === 0) {
      return errorState(cfg, partial ?? { kind: 'no-devices', message: 'nvidia-smi: no devices found' }, now());
    }

    const ra = await runner.run(appQueryArgs());
    const appsError = errorOfRun(ra, bin);
    const apps = !appsError && ra.kind === 'exited' ? parseComputeApps(ra.stdout, APP_FIELDS).apps : [];
    const gpus = attachMinors(parsed.gpus, await readInfo().catch(() => []));
    return okState(cfg, gpus, apps, now(), partial ?? appsError);
  };

  return {
    read() {
      if (!pending) {
        pending = readOnce()
          .catch((e: unknown) => errorState(cfg, { kind: 'unknown', message: `nvidia-smi: ${String(e).split('\n')[0]}` }, now()))
          .finally(() => {
            pending = null;
          });
      }
      return pending;
    },
    close() {
      runner.close();
    },
  };
}
