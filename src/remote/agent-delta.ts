/**
 * Deltas, both ends (pure). The agent diffs its process list against what it last sent;
 * the client applies a delta to its current view of the host. Processes are keyed by
 * (pid, startTime): a reused pid is a removal plus an addition, never an update.
 */
import type { DeltaMsg, HelloMsg, SnapshotMsg, WireGpu, WireGpuProbe, WireMachine, WireProc, WireRun } from './protocol.js';

/** What the agent last sent, per pid: the identity and its encoding (equal text = unchanged). */
export type SentProcs = ReadonlyMap<number, { readonly startTime: number; readonly json: string }>;

export interface ProcDiff {
  readonly upserts: WireProc[];
  readonly removed: (readonly [number, number])[];
  readonly sent: Map<number, { startTime: number; json: string }>;
}

/** Pure: which processes changed, appeared or left since `prev`. */
export function diffProcs(prev: SentProcs, next: readonly WireProc[]): ProcDiff {
  const sent = new Map<number, { startTime: number; json: string }>();
  const upserts: WireProc[] = [];
  const removed: (readonly [number, number])[] = [];
  for (const p of next) {
    const json = JSON.stringify(p);
    sent.set(p.pid, { startTime: p.startTime, json });
    const old = prev.get(p.pid);
    if (!old || old.json !== json) upserts.push(p);
    if (old && old.startTime !== p.startTime) removed.push([p.pid, old.startTime]);
  }
  for (const [pid, old] of prev) if (!sent.has(pid)) removed.push([pid, old.startTime]);
  return { upserts, removed, sent };
}

/** The client's current picture of one host. */
export interface HostView {
  readonly hello: HelloMsg;
  /** seq of the last snapshot or delta applied. */
  readonly seq: number;
  readonly t: number;
  readonly host: string;
  readonly machine: WireMachine;
  readonly gpuProbe: WireGpuProbe;
  readonly gpus: readonly WireGpu[];
  readonly runs: readonly WireRun[];
  /** By pid. */
  readonly processes: ReadonlyMap<number, WireProc>;
}

export function viewFromSnapshot(hello: HelloMsg, s: SnapshotMsg): HostView {
  return {
    hello,
    seq: s.seq,
    t: s.t,
    host: s.host,
    machine: s.machine,
    gpuProbe: s.gpuProbe,
    gpus: s.gpus,
    runs: s.runs,
    processes: new Map(s.processes.map((p) => [p.pid, p])),
  };
}

/**
 * Pure: the view after `d`, or 'gap' when `d` does not follow the view (a message was lost or
 * dropped): the caller asks for a full snapshot. Never mutates `view`.
 */
export function applyDelta(view: HostView, d: DeltaMsg): HostView | 'gap' {
  if (d.base !== view.seq) return 'gap';
  const processes = new Map(view.processes);
  for (const [pid, startTime] of d.removed) {
    if (processes.get(pid)?.startTime === startTime) processes.delete(pid);
  }
  for (const p of d.upserts) processes.set(p.pid, p);
  return { ...view, seq: d.seq, t: d.t, host: d.host, machine: d.machine, gpuProbe: d.gpuProbe, gpus: d.gpus, runs: d.runs, processes };
}

/** The processes of a view in pid order. */
export function viewProcesses(view: HostView): WireProc[] {
  return [...view.processes.values()].sort((a, b) => a.pid - b.pid);
}
