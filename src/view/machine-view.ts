/**
 * What `ls` and `reap` both need before they can explain anything: one snapshot with the GPU
 * state read alongside it, the run summaries from the journals, and the verdicts.
 */
import { analyze, DEFAULT_BATCH_PATTERNS } from '../analysis/index.js';
import { NO_GPU_STATE, type GpuState } from '../model/gpu.js';
import type { RunSummary, SlurmRunsStatus, Verdict } from '../model/index.js';
import type { Snapshot } from '../model/snapshot.js';
import { takeSnapshot } from '../probe/snapshot.js';
import type { GpuSelection } from '../probe/gpu-state.js';

/** GPU state for --gpus; a probe that cannot even start still leaves the command working. */
export async function readGpuState(sel: GpuSelection): Promise<GpuState> {
  if (sel.kind === 'none') return NO_GPU_STATE;
  const { resolveGpuProbeConfig, createGpuProbe } = await import('../probe/gpu-probe.js');
  const probe = createGpuProbe(resolveGpuProbeConfig(sel, process.env));
  try {
    return await probe.read();
  } catch (e) {
    const message = String((e as Error)?.message ?? e).split('\n')[0] ?? 'gpu probe failed';
    return { ...NO_GPU_STATE, source: sel.kind === 'sim' ? 'simulated' : 'nvidia-smi', error: { kind: 'unknown', message } };
  } finally {
    probe.close();
  }
}

/** Run summaries from the launcher's journals; null when they cannot be read. */
export async function readRunSummaries(snapshot: Snapshot): Promise<RunSummary[] | null> {
  try {
    // The two modules it needs, not the launcher's index (which loads the launcher, yaml, …).
    const [{ readRuns }, { stateDir }] = await Promise.all([import('../launch/journal.js'), import('../launch/paths.js')]);
    return readRuns(stateDir(process.env), snapshot);
  } catch {
    return null; // unreadable journals: REAPER_RUN markers alone still mark members
  }
}

export interface MachineView {
  readonly snapshot: Snapshot;
  readonly runs: RunSummary[] | null;
}

/** nvidia-smi runs while /proc is read. */
export async function takeMachineView(gpus: GpuSelection): Promise<MachineView> {
  const gpuP = readGpuState(gpus);
  const procs = await takeSnapshot();
  const gpu = await gpuP;
  const snapshot: Snapshot = Object.freeze({ ...procs, gpu });
  return { snapshot, runs: await readRunSummaries(snapshot) };
}

/**
 * What Slurm says now of the open jobs of the runs' Slurm runs without an end record; null, with
 * no Slurm client spawned (none even loaded), when there is no such job.
 */
export async function readSlurmView(runs: readonly RunSummary[] | null, snapshot: Snapshot): Promise<SlurmRunsStatus | null> {
  if (!runs || !runs.some((r) => r.backend === 'slurm' && r.endedAtMs === null && (r.jobs ?? []).some((j) => j.open))) return null;
  const { openJobsOf, readSlurmJobStatus } = await import('../launch/slurm-status.js');
  const jobs = openJobsOf(runs);
  return jobs.length === 0 ? null : readSlurmJobStatus(jobs, { snapshot });
}

/** `extraPatterns` (from --match) add to the default batch patterns. */
export function verdictsOf(view: MachineView, opts: { allUsers: boolean; extraPatterns?: readonly RegExp[] }): Map<number, Verdict> {
  return analyze({
    snapshot: view.snapshot,
    runs: view.runs ?? [],
    patterns: [...DEFAULT_BATCH_PATTERNS, ...(opts.extraPatterns ?? [])],
    allUsers: opts.allUsers,
  });
}
