/**
 * Pure pieces of `reaper ls`: which processes are shown, which GPUs each holds, and the
 * rows in `ps f` order. No I/O; the command feeds it a Snapshot (with its GpuState).
 */
import { buildForest, descendants, type Forest } from '../../model/forest.js';
import { gpuHoldingsOf } from '../../model/gpu.js';
import type { ProcInfo } from '../../model/proc.js';
import { ReaperError } from '../../model/errors.js';
import { elapsedSec, type Snapshot } from '../../model/snapshot.js';
import type { GpuSelection } from '../flags.js';

export type LsSelection =
  | { readonly kind: 'user'; readonly uid: number }
  | { readonly kind: 'all' }
  | { readonly kind: 'pid'; readonly pid: number }
  | { readonly kind: 'gpu'; readonly index: number };

/** `reaper ls`'s flags, normalised (commands/ls.ts parses them; hosts/ls-hosts.ts passes them on). */
export interface LsArgs {
  readonly selection: LsSelection;
  readonly json: boolean;
  readonly leftovers: boolean;
  readonly allUsers: boolean;
  readonly match: RegExp | null;
  readonly gpus: GpuSelection;
  /** `--hosts`: its value, or null for the default hosts file; undefined: this machine only. */
  readonly hosts: string | null | undefined;
  readonly hostTimeoutMs: number;
  /** The same listing's flags, for each host's `reaper ls --json`. */
  readonly remoteArgs: readonly string[];
}

/** A verdict as ls needs it (structurally the model's Verdict). */
export interface LsVerdict {
  readonly reasons: readonly { readonly code: string; readonly text: string }[];
}

export interface LsOptions {
  readonly selection?: LsSelection;
  readonly verdicts?: ReadonlyMap<number, LsVerdict>;
  /** `ls --leftovers`: show only processes that have a verdict. */
  readonly leftoversOnly?: boolean;
}

/** One GPU a process holds: from nvidia-smi's compute apps, or from an open /dev/nvidia<minor>. */
export interface LsGpuRef {
  readonly uuid: string | null;
  readonly index: number | null;
  readonly usedMemoryMiB: number | null;
  /** /dev/nvidia<minor>, when known. */
  readonly minor: number | null;
}

/**
 * pid → GPUs held, one entry per GPU: the snapshot's one join (model/gpu.ts gpuHoldingsOf), with
 * a compute app and an open device of the same GPU merged and its app rows' memory summed.
 */
export function gpuHoldings(snapshot: Pick<Snapshot, 'gpu' | 'processes'>): Map<number, LsGpuRef[]> {
  const out = new Map<number, LsGpuRef[]>();
  for (const [pid, held] of gpuHoldingsOf(snapshot)) {
    const list: LsGpuRef[] = [];
    for (const h of held) {
      const ref: LsGpuRef = { uuid: h.uuid, index: h.index, usedMemoryMiB: h.usedMemoryMiB, minor: h.minor };
      const i = list.findIndex((r) => (ref.uuid !== null && r.uuid === ref.uuid) || (ref.uuid === null && r.minor === ref.minor));
      if (i < 0) list.push(ref);
      else if (ref.usedMemoryMiB !== null) list[i] = { ...list[i]!, usedMemoryMiB: (list[i]!.usedMemoryMiB ?? 0) + ref.usedMemoryMiB };
    }
    list.sort((a, b) => (a.index ?? 1e9) - (b.index ?? 1e9));
    out.set(pid, list);
  }
  return out;
}

export interface LsSelectionResult {
  /** Forest over the shown processes only: roots are those whose parent is not shown. */
  readonly forest: Forest;
  readonly shown: readonly ProcInfo[];
  readonly holdings: Map<number, LsGpuRef[]>;
}

/**
 * Which processes `ls` shows. user: that uid's processes (no kernel threads); all: everyone;
 * pid: that process and its descendants (NOT_FOUND if absent); gpu: holders of that GPU index
 * and their descendants (NOT_FOUND if the probe knows GPUs and none has that index).
 */
export function selectLs(
  snapshot: Snapshot,
  selection: LsSelection = { kind: 'all' },
  onlyPids?: { has(pid: number): boolean },
): LsSelectionResult {
  const holdings = gpuHoldings(snapshot);
  let shown: ProcInfo[];
  switch (selection.kind) {
    case 'all':
      shown = [...snapshot.processes];
      break;
    case 'user':
      shown = snapshot.processes.filter((p) => p.uid === selection.uid && !p.isKernelThread);
      break;
    case 'pid': {
      if (!snapshot.byPid.has(selection.pid)) throw new ReaperError('NOT_FOUND', `no process with pid ${selection.pid}`);
      const full = buildForest(snapshot.processes);
      const pids = new Set([selection.pid, ...descendants(full, selection.pid)]);
      shown = snapshot.processes.filter((p) => pids.has(p.pid));
      break;
    }
    case 'gpu': {
      const gpus = snapshot.gpu.gpus;
      if (gpus.length > 0 && !gpus.some((g) => g.index === selection.index)) {
        throw new ReaperError('NOT_FOUND', `no GPU with index ${selection.index} (GPUs: ${gpus.map((g) => g.index).join(', ')})`);
      }
      const full = buildForest(snapshot.processes);
      const pids = new Set<number>();
      for (const [pid, refs] of holdings) {
        if (!snapshot.byPid.has(pid) || !refs.some((r) => r.index === selection.index)) continue;
        pids.add(pid);
        for (const d of descendants(full, pid)) pids.add(d);
      }
      shown = snapshot.processes.filter((p) => pids.has(p.pid));
      break;
    }
  }
  if (onlyPids) shown = shown.filter((p) => onlyPids.has(p.pid));
  return { forest: buildForest(shown), shown, holdings };
}

/**
 * %CPU as ls prints it: since the previous scan of the same scanner when there was one (a
 * rate, like top), else the lifetime average, cpu time / elapsed time: what `ps` prints, and
 * what a one-shot `reaper ls` shows.
 */
export function lsCpuPercent(snapshot: Pick<Snapshot, 'uptimeSec' | 'clockTicks'>, p: Pick<ProcInfo, 'cpuPercent' | 'cpuTicks' | 'startTime'>): number {
  if (p.cpuPercent !== null) return p.cpuPercent;
  const el = elapsedSec(snapshot, p.startTime);
  return el > 0 ? (p.cpuTicks / snapshot.clockTicks / el) * 100 : 0;
}
