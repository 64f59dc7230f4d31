/**
 * The agent's side of the wire (pure): a snapshot's processes, GPUs and runs as the compact,
 * JSON-safe records of protocol.ts, every string sanitised and capped before it leaves.
 */
import type { GpuState } from '../model/gpu.js';
import type { ProcInfo } from '../model/proc.js';
import type { RunSummary } from '../model/run.js';
import type { Snapshot } from '../model/snapshot.js';
import type { Verdict } from '../model/leftover.js';
import { CAP, MAX_GPUS, MAX_HOLDERS, MAX_MINORS, MAX_REASONS, MAX_RUNS, capText, type WireGpu, type WireGpuProbe, type WireMachine, type WireProc, type WireRun } from './protocol.js';

const capOrNull = (s: string | null, cap: number): string | null => (s === null ? null : capText(s, cap));

/** `cpu`: CPU % to send when the scanner has none yet (null = unknown). */
export function buildWireProc(p: ProcInfo, verdict: Verdict | undefined, cpu: number | null = p.cpuPercent): WireProc {
  return {
    pid: p.pid,
    ppid: p.ppid,
    pgid: p.pgid,
    sid: p.sid,
    uid: p.uid,
    user: capOrNull(p.user, CAP.user),
    state: p.state,
    stat: capText(p.stat, CAP.stat),
    threads: p.threads,
    startTime: p.startTime,
    rssKiB: p.rssKiB,
    // One decimal: finer figures would make every busy process a change in every delta.
    cpu: cpu === null ? null : Math.round(cpu * 10) / 10,
    tty: capOrNull(p.tty, CAP.tty),
    comm: capText(p.comm, CAP.comm),
    cmd: capText(p.cmd, CAP.cmd),
    runId: capOrNull(p.runId, CAP.id),
    taskId: capOrNull(p.taskId, CAP.id),
    minors: p.nvidiaMinors === null ? null : p.nvidiaMinors.slice(0, MAX_MINORS),
    reasons: (verdict?.reasons ?? []).slice(0, MAX_REASONS).map((r) => ({ code: capText(r.code, CAP.kind), text: capText(r.text, CAP.text) })),
  };
}

export function buildWireGpus(g: GpuState): WireGpu[] {
  return g.gpus.slice(0, MAX_GPUS).map((x) => ({
    index: x.index,
    uuid: capText(x.uuid, CAP.uuid),
    name: capText(x.name, CAP.name),
    busId: capOrNull(x.busId, CAP.kind),
    util: x.utilizationGpu,
    memUsedMiB: x.memoryUsedMiB,
    memTotalMiB: x.memoryTotalMiB,
    tempC: x.temperatureC,
    powerW: x.powerDrawW,
    powerLimitW: x.powerLimitW,
    holders: g.apps
      .filter((a) => a.gpuUuid === x.uuid)
      .slice(0, MAX_HOLDERS)
      .map((a) => ({ pid: a.pid, memMiB: a.usedMemoryMiB })),
  }));
}

export function buildWireGpuProbe(g: GpuState): WireGpuProbe {
  return { source: g.source, ok: g.ok, error: g.error ? { kind: capText(g.error.kind, CAP.kind), message: capText(g.error.message, CAP.message) } : null };
}

export function buildWireRuns(runs: readonly RunSummary[]): WireRun[] {
  return [...runs]
    .sort((a, b) => b.startedAtMs - a.startedAtMs)
    .slice(0, MAX_RUNS)
    .map((r) => ({ id: capText(r.id, CAP.id), name: capText(r.name, CAP.name), state: r.state, live: r.live, startedAtMs: r.startedAtMs, endedAtMs: r.endedAtMs }));
}

export function buildWireMachine(s: Snapshot): WireMachine {
  return {
    bootTimeMs: s.bootTimeMs,
    clockTicks: s.clockTicks,
    uptimeSec: s.uptimeSec,
    selfPid: s.selfPid,
    selfUid: s.selfUid,
    selfAncestors: s.selfAncestors.slice(0, 512),
  };
}
