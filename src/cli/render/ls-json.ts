/** `reaper ls --json`: the document, built by a pure function (README documents it). */
import { elapsedSec, type Snapshot } from '../../model/snapshot.js';
import { lsCpuPercent, selectLs, type LsGpuRef, type LsOptions, type LsVerdict } from './ls-model.js';

export interface LsJsonProcess {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  stat: string;
  state: string;
  threads: number;
  startTime: number;
  uid: number | null;
  user: string | null;
  cmd: string;
  gpus: LsGpuRef[];
  /** Filled by the leftover analysis (a later issue); null = not a leftover / not analysed. */
  leftover: LsVerdict | null;
  tty: string | null;
  comm: string;
  argv: readonly string[] | null;
  /** VmRSS, as ps -o rss prints it. */
  rssKiB: number | null;
  /** As the text's %CPU: ps's lifetime average on a one-shot `ls` (lsCpuPercent). */
  cpuPercent: number;
  elapsedSec: number;
  runId: string | null;
  taskId: string | null;
  nvidiaMinors: readonly number[] | null;
}

export interface LsDocument {
  gpuProbe: { source: string; ok: boolean; error: { kind: string; message: string } | null };
  gpus: Array<{
    index: number;
    uuid: string;
    name: string;
    busId: string | null;
    utilizationGpu: number | null;
    memoryUsedMiB: number | null;
    memoryTotalMiB: number | null;
    temperatureC: number | null;
    powerDrawW: number | null;
    powerLimitW: number | null;
  }>;
  processes: LsJsonProcess[];
}

/** Pure: snapshot (+ selection, + verdicts) → the JSON document. Processes in pid order. */
export function buildLsDocument(snapshot: Snapshot, opts: LsOptions = {}): LsDocument {
  const { shown, holdings } = selectLs(snapshot, opts.selection ?? { kind: 'all' }, opts.leftoversOnly ? (opts.verdicts ?? new Map()) : undefined);
  const g = snapshot.gpu;
  return {
    gpuProbe: { source: g.source, ok: g.ok, error: g.error ? { kind: g.error.kind, message: g.error.message } : null },
    gpus: g.gpus.map((x) => ({
      index: x.index,
      uuid: x.uuid,
      name: x.name,
      busId: x.busId,
      utilizationGpu: x.utilizationGpu,
      memoryUsedMiB: x.memoryUsedMiB,
      memoryTotalMiB: x.memoryTotalMiB,
      temperatureC: x.temperatureC,
      powerDrawW: x.powerDrawW,
      powerLimitW: x.powerLimitW,
    })),
    processes: shown.map((p) => ({
      pid: p.pid,
      ppid: p.ppid,
      pgid: p.pgid,
      sid: p.sid,
      stat: p.stat,
      state: p.state,
      threads: p.threads,
      startTime: p.startTime,
      uid: p.uid,
      user: p.user,
      cmd: p.cmd,
      gpus: holdings.get(p.pid) ?? [],
      leftover: opts.verdicts?.get(p.pid) ?? null,
      tty: p.tty,
      comm: p.comm,
      argv: p.argv,
      rssKiB: p.rssKiB,
      cpuPercent: Math.round(lsCpuPercent(snapshot, p) * 10) / 10,
      elapsedSec: Math.round(elapsedSec(snapshot, p.startTime) * 100) / 100,
      runId: p.runId,
      taskId: p.taskId,
      nvidiaMinors: p.nvidiaMinors,
    })),
  };
}
