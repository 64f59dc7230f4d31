/**
 * Pure: a remote host's view (the agent's snapshot + deltas, already validated, capped and
 * sanitised by src/remote/protocol.ts) → what the screen renders for a host: a model Snapshot,
 * the GPU state, run summaries and verdicts built from the remote's own reasons. The host's
 * analysis ran there, with its journals; nothing here re-derives a reason. Strings are passed
 * through sanitizeText once more (the wire is untrusted even after validation), and fields the
 * wire does not carry are unknown (null), never 0.
 */
import type { HostView } from '../remote/agent-delta.js';
import type { WireGpuProbe, WireProc } from '../remote/protocol.js';
import type { GpuApp, GpuInfo, GpuProbeErrorKind, GpuSource, GpuState } from '../model/gpu.js';
import type { Reason, ReasonCode, Verdict } from '../model/leftover.js';
import type { HostStats } from '../model/live.js';
import type { ProcInfo, StateLetter } from '../model/proc.js';
import type { RunSummary } from '../model/run.js';
import { sanitizeText } from '../model/sanitize.js';
import type { Snapshot } from '../model/snapshot.js';

const REASON_CODES: readonly ReasonCode[] = ['stopped', 'traced', 'zombie', 'uninterruptible', 'orphaned', 'gpu-no-owner', 'gpu-unlisted', 'batch-pattern', 'ended-run'];
const GPU_SOURCES: readonly GpuSource[] = ['nvidia-smi', 'simulated', 'none'];
const GPU_ERRORS: readonly GpuProbeErrorKind[] = ['not-installed', 'no-devices', 'driver-not-reachable', 'version-mismatch', 'gpu-lost', 'invalid-field', 'timeout', 'stalled', 'unknown'];

export interface HostModel {
  readonly snapshot: Snapshot;
  readonly gpu: GpuState;
  readonly verdicts: ReadonlyMap<number, Verdict>;
  readonly runs: readonly RunSummary[];
  readonly host: HostStats;
}

/**
 * One process. ttyNr, tpgid, nice, CPU ticks and the raw argv are not on the wire: ttyNr is 1
 * when the host named a terminal (the analysis only asks "has one"), argv is unknown (null).
 */
function procFromWire(w: WireProc): ProcInfo {
  const tty = w.tty === null ? null : sanitizeText(w.tty);
  return {
    pid: w.pid,
    startTime: w.startTime,
    ppid: w.ppid,
    pgid: w.pgid,
    sid: w.sid,
    ttyNr: tty === null ? 0 : 1,
    tty,
    tpgid: -1,
    state: w.state as StateLetter,
    stat: sanitizeText(w.stat),
    nice: 0,
    threads: w.threads,
    uid: w.uid,
    user: w.user === null ? null : sanitizeText(w.user),
    comm: sanitizeText(w.comm),
    argv: null,
    cmd: sanitizeText(w.cmd),
    rssKiB: w.rssKiB,
    cpuTicks: 0,
    cpuPercent: w.cpu,
    wchan: null,
    tracerPid: null,
    // Kernel threads are kthreadd (2) and its children; a host in a PID namespace has none.
    isKernelThread: w.pid === 2 || w.ppid === 2,
    runId: w.runId === null ? null : sanitizeText(w.runId),
    taskId: w.taskId === null ? null : sanitizeText(w.taskId),
    nvidiaMinors: w.minors === null ? null : [...w.minors],
  };
}

/** The remote's reasons, as a verdict; an unknown code (a newer agent) still marks a leftover. */
function verdictFromWire(w: WireProc): Verdict | null {
  if (w.reasons.length === 0) return null;
  const reasons: Reason[] = w.reasons.map((r) => ({
    code: (REASON_CODES as readonly string[]).includes(r.code) ? (r.code as ReasonCode) : 'batch-pattern',
    text: sanitizeText(r.text),
  }));
  return { reasons };
}

function gpuFromWire(probe: WireGpuProbe, gpus: HostView['gpus'], t: number): GpuState {
  const source = (GPU_SOURCES as readonly string[]).includes(probe.source) ? (probe.source as GpuSource) : 'none';
  const infos: GpuInfo[] = gpus.map((g) => ({
    index: g.index,
    uuid: sanitizeText(g.uuid),
    name: sanitizeText(g.name),
    busId: g.busId === null ? null : sanitizeText(g.busId),
    utilizationGpu: g.util,
    memoryUsedMiB: g.memUsedMiB,
    memoryTotalMiB: g.memTotalMiB,
    temperatureC: g.tempC,
    powerDrawW: g.powerW,
    powerLimitW: g.powerLimitW,
    pstate: null,
    persistenceMode: null,
    migMode: null,
    minor: null,
    missing: {},
  }));
  const apps: GpuApp[] = gpus.flatMap((g, i) => g.holders.map((h) => ({ gpuUuid: infos[i]!.uuid, pid: h.pid, processName: '', usedMemoryMiB: h.memMiB })));
  const error = probe.error
    ? { kind: (GPU_ERRORS as readonly string[]).includes(probe.error.kind) ? (probe.error.kind as GpuProbeErrorKind) : 'unknown', message: sanitizeText(probe.error.message) }
    : null;
  return { source, ok: probe.ok, error, gpus: infos, apps, sampledAtMs: probe.ok ? t : null };
}

function runsFromWire(runs: HostView['runs']): RunSummary[] {
  return runs.map((r) => ({
    id: sanitizeText(r.id),
    name: sanitizeText(r.name),
    // The journal is on the host: no folder here, no identities (the host re-checks them when it acts).
    dir: '',
    startedAtMs: r.startedAtMs,
    endedAtMs: r.endedAtMs,
    launcher: null,
    guardian: null,
    live: r.live,
    state: r.state,
    tasks: [],
  }));
}

/**
 * The whole host. `cache` keeps each wire record's conversion while the record object stays
 * the same (a delta replaces only what changed), so a refresh costs the changed processes.
 */
export function modelFromView(view: HostView, cache: WeakMap<WireProc, ProcInfo> = new WeakMap()): HostModel {
  const procs: ProcInfo[] = [];
  const verdicts = new Map<number, Verdict>();
  for (const w of [...view.processes.values()].sort((a, b) => a.pid - b.pid)) {
    let p = cache.get(w);
    if (!p) {
      p = procFromWire(w);
      cache.set(w, p);
    }
    procs.push(p);
    const v = verdictFromWire(w);
    if (v) verdicts.set(w.pid, v);
  }
  const gpu = gpuFromWire(view.gpuProbe, view.gpus, view.t);
  const m = view.machine;
  const snapshot: Snapshot = Object.freeze({
    takenAtMs: view.t,
    bootTimeMs: m.bootTimeMs,
    clockTicks: m.clockTicks,
    uptimeSec: m.uptimeSec,
    selfPid: m.selfPid,
    selfUid: m.selfUid,
    selfAncestors: [...m.selfAncestors],
    processes: procs,
    byPid: new Map(procs.map((p) => [p.pid, p])),
    gpu,
  });
  return {
    snapshot,
    gpu,
    verdicts,
    runs: runsFromWire(view.runs),
    host: { hostname: sanitizeText(view.host), uptimeSec: m.uptimeSec, cpuPercent: null, cpuCount: null, memUsedKiB: null, memTotalKiB: null },
  };
}
