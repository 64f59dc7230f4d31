/**
 * A host's `reaper ls --json`, checked before anything of it is used: size-capped, the schema
 * handshake (`lsSchema`, `reaperVersion`: another reaper is one clear `incompatible` error), then
 * every field `ls --hosts` prints or passes on, typed, range-checked, capped and sanitised. Pure.
 */
import type { LsDocument, LsJsonProcess } from '../render/ls-json.js';
import type { LsJob, LsRun } from '../render/ls-runs.js';
import { BadField, BIG, bool, fail, int, intOrNull, list, MAX_PID, num, numOrNull, obj, oneOf, parseJsonText, str, strOrNull, UID_MAX, type Obj } from './check.js';
import { hostError, type HostError } from './fanout.js';
import { LS_SCHEMA } from './version.js';

/** What one host's document may weigh (2,000 processes with their argv are ~2 MB). */
export const MAX_LS_BYTES = 64 * 1024 * 1024;
const MAX_PROCESSES = 200_000;
const CAP_CMD = 4096;
const CAP_ARG = 4096;
const MAX_ARGV = 1024;
const CAP_SHORT = 64;
const CAP_TEXT = 400;
const CAP_ID = 128;
const CAP_MESSAGE = 1000;

/** `ls --json` of one host, as `ls --hosts` keeps it. */
export interface HostLsDocument {
  readonly reaperVersion: string;
  readonly gpuProbe: LsDocument['gpuProbe'];
  readonly gpus: LsDocument['gpus'];
  readonly processes: LsJsonProcess[];
  readonly runs: LsRun[];
  readonly slurm: { readonly asked: boolean; readonly error: string | null } | null;
}

const RUN_STATES = ['running', 'finished', 'failed', 'interrupted', 'crashed'] as const;

function gpuRef(v: unknown, path: string): LsJsonProcess['gpus'][number] {
  const o = obj(v, path);
  return {
    uuid: strOrNull(o.uuid, 96, `${path}.uuid`),
    index: intOrNull(o.index, 0, 65_535, `${path}.index`),
    usedMemoryMiB: numOrNull(o.usedMemoryMiB, 0, 1e9, `${path}.usedMemoryMiB`),
    minor: intOrNull(o.minor, 0, 1_048_575, `${path}.minor`),
  };
}

function proc(v: unknown, path: string): LsJsonProcess {
  const o = obj(v, path);
  let leftover: LsJsonProcess['leftover'] = null;
  if (o.leftover !== null) {
    const lo = obj(o.leftover, `${path}.leftover`);
    leftover = {
      reasons: list(lo.reasons, 16, `${path}.leftover.reasons`).map((r, i) => {
        const ro = obj(r, `${path}.leftover.reasons[${i}]`);
        return { code: str(ro.code, 32, `${path}.leftover.reasons[${i}].code`), text: str(ro.text, CAP_TEXT, `${path}.leftover.reasons[${i}].text`) };
      }),
    };
  }
  return {
    pid: int(o.pid, 1, MAX_PID, `${path}.pid`),
    ppid: int(o.ppid, 0, MAX_PID, `${path}.ppid`),
    pgid: int(o.pgid, 0, MAX_PID, `${path}.pgid`),
    sid: int(o.sid, 0, MAX_PID, `${path}.sid`),
    stat: str(o.stat, 16, `${path}.stat`),
    state: str(o.state, 4, `${path}.state`),
    threads: int(o.threads, 0, 10_000_000, `${path}.threads`),
    startTime: int(o.startTime, 0, BIG, `${path}.startTime`),
    uid: intOrNull(o.uid, 0, UID_MAX, `${path}.uid`),
    user: strOrNull(o.user, CAP_SHORT, `${path}.user`),
    cmd: str(o.cmd, CAP_CMD, `${path}.cmd`),
    gpus: list(o.gpus, 64, `${path}.gpus`).map((g, i) => gpuRef(g, `${path}.gpus[${i}]`)),
    leftover,
    tty: strOrNull(o.tty, 32, `${path}.tty`),
    comm: str(o.comm, CAP_SHORT, `${path}.comm`),
    argv: o.argv === null ? null : list(o.argv, MAX_ARGV, `${path}.argv`).map((a, i) => str(a, CAP_ARG, `${path}.argv[${i}]`)),
    rssKiB: numOrNull(o.rssKiB, 0, 1e12, `${path}.rssKiB`),
    cpuPercent: num(o.cpuPercent, 0, 1e6, `${path}.cpuPercent`),
    elapsedSec: num(o.elapsedSec, 0, 1e12, `${path}.elapsedSec`),
    runId: strOrNull(o.runId, CAP_ID, `${path}.runId`),
    taskId: strOrNull(o.taskId, CAP_ID, `${path}.taskId`),
    nvidiaMinors: o.nvidiaMinors === null ? null : list(o.nvidiaMinors, 64, `${path}.nvidiaMinors`).map((m, i) => int(m, 0, 1_048_575, `${path}.nvidiaMinors[${i}]`)),
  };
}

function gpu(v: unknown, path: string): LsDocument['gpus'][number] {
  const o = obj(v, path);
  return {
    index: int(o.index, 0, 65_535, `${path}.index`),
    uuid: str(o.uuid, 96, `${path}.uuid`),
    name: str(o.name, 128, `${path}.name`),
    busId: strOrNull(o.busId, 32, `${path}.busId`),
    utilizationGpu: numOrNull(o.utilizationGpu, 0, 100, `${path}.utilizationGpu`),
    memoryUsedMiB: numOrNull(o.memoryUsedMiB, 0, 1e9, `${path}.memoryUsedMiB`),
    memoryTotalMiB: numOrNull(o.memoryTotalMiB, 0, 1e9, `${path}.memoryTotalMiB`),
    temperatureC: numOrNull(o.temperatureC, -100, 1000, `${path}.temperatureC`),
    powerDrawW: numOrNull(o.powerDrawW, 0, 1e6, `${path}.powerDrawW`),
    powerLimitW: numOrNull(o.powerLimitW, 0, 1e6, `${path}.powerLimitW`),
  };
}

function job(v: unknown, path: string): LsJob {
  const o = obj(v, path);
  let exit: LsJob['exit'] = null;
  if (o.exit !== null) {
    const e = obj(o.exit, `${path}.exit`);
    exit = { code: intOrNull(e.code, -1_000_000, 1_000_000, `${path}.exit.code`), signal: intOrNull(e.signal, 0, 1024, `${path}.exit.signal`) };
  }
  return {
    id: str(o.id, CAP_ID, `${path}.id`),
    name: str(o.name, 256, `${path}.name`),
    task: int(o.task, 0, 10_000_000, `${path}.task`),
    stage: str(o.stage, CAP_ID, `${path}.stage`),
    attempt: int(o.attempt, 0, 1_000_000, `${path}.attempt`),
    state: strOrNull(o.state, CAP_SHORT, `${path}.state`),
    active: bool(o.active, `${path}.active`),
    reason: strOrNull(o.reason, CAP_TEXT, `${path}.reason`),
    nodes: strOrNull(o.nodes, CAP_TEXT, `${path}.nodes`),
    elapsedSec: numOrNull(o.elapsedSec, 0, 1e12, `${path}.elapsedSec`),
    exit,
    source: o.source === null ? null : oneOf(o.source, ['squeue', 'sacct'] as const, `${path}.source`),
    pids: list(o.pids, 4096, `${path}.pids`).map((p, i) => int(p, 1, MAX_PID, `${path}.pids[${i}]`)),
  };
}

function run(v: unknown, path: string): LsRun {
  const o = obj(v, path);
  const t = obj(o.tasks, `${path}.tasks`);
  const count = (k: string): number => int(t[k], 0, 10_000_000, `${path}.tasks.${k}`);
  return {
    id: str(o.id, CAP_ID, `${path}.id`),
    name: str(o.name, 128, `${path}.name`),
    state: oneOf(o.state, RUN_STATES, `${path}.state`),
    live: bool(o.live, `${path}.live`),
    startedAtMs: num(o.startedAtMs, 0, 1e15, `${path}.startedAtMs`),
    endedAtMs: numOrNull(o.endedAtMs, 0, 1e15, `${path}.endedAtMs`),
    processes: int(o.processes, 0, MAX_PROCESSES, `${path}.processes`),
    tasks: { running: count('running'), succeeded: count('succeeded'), failed: count('failed'), pending: count('pending') },
    backend: oneOf(o.backend, ['local', 'slurm'] as const, `${path}.backend`),
    launcherGone: bool(o.launcherGone, `${path}.launcherGone`),
    jobs: list(o.jobs, 4096, `${path}.jobs`).map((j, i) => job(j, `${path}.jobs[${i}]`)),
    jobsLeft: intOrNull(o.jobsLeft, 0, 10_000_000, `${path}.jobsLeft`),
    flag: strOrNull(o.flag, CAP_TEXT, `${path}.flag`),
  };
}

function documentOf(o: Obj): HostLsDocument {
  const gp = obj(o.gpuProbe, 'gpuProbe');
  let probeError: LsDocument['gpuProbe']['error'] = null;
  if (gp.error !== null) {
    const e = obj(gp.error, 'gpuProbe.error');
    probeError = { kind: str(e.kind, 32, 'gpuProbe.error.kind'), message: str(e.message, CAP_MESSAGE, 'gpuProbe.error.message') };
  }
  const processes = list(o.processes, MAX_PROCESSES, 'processes').map((p, i) => proc(p, `processes[${i}]`));
  const seen = new Set<number>();
  for (const p of processes) {
    if (seen.has(p.pid)) fail('processes', `pid ${p.pid} listed twice`);
    seen.add(p.pid);
  }
  let slurm: HostLsDocument['slurm'] = null;
  if (o.slurm !== undefined && o.slurm !== null) {
    const s = obj(o.slurm, 'slurm');
    slurm = { asked: bool(s.asked, 'slurm.asked'), error: strOrNull(s.error, CAP_MESSAGE, 'slurm.error') };
  }
  return {
    reaperVersion: str(o.reaperVersion, 64, 'reaperVersion'),
    gpuProbe: { source: str(gp.source, 32, 'gpuProbe.source'), ok: bool(gp.ok, 'gpuProbe.ok'), error: probeError },
    gpus: list(o.gpus, 256, 'gpus').map((g, i) => gpu(g, `gpus[${i}]`)),
    processes,
    runs: list(o.runs, 2000, 'runs').map((r, i) => run(r, `runs[${i}]`)),
    slurm,
  };
}

export type LsCheck = { readonly ok: true; readonly doc: HostLsDocument } | { readonly ok: false; readonly error: HostError };

/** An already-parsed document (the local host's, built in-process, takes the same checks). */
export function checkLsValue(value: unknown, host: string): LsCheck {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: hostError('garbage', 'its ls --json is not a JSON object') };
  const o = value as Obj;
  // The handshake first: an older or newer reaper's document is one clear line, not a field path.
  const version = typeof o.reaperVersion === 'string' ? str(o.reaperVersion, 64, 'reaperVersion') : null;
  if (o.lsSchema !== LS_SCHEMA) {
    const theirs = typeof o.lsSchema === 'number' && Number.isSafeInteger(o.lsSchema) ? `schema ${o.lsSchema}` : 'no schema (an older reaper)';
    return {
      ok: false,
      error: hostError('incompatible', `reaper ${version ?? '(version unknown)'} there prints ls --json ${theirs}, this reaper reads schema ${LS_SCHEMA}: install a matching one (reaper install --host ${host})`),
    };
  }
  try {
    return { ok: true, doc: documentOf(o) };
  } catch (e) {
    if (e instanceof BadField) return { ok: false, error: hostError('garbage', `its ls --json has a bad field: ${e.message}`) };
    throw e;
  }
}

/** A host's stdout → its document, or its `garbage` / `too-large` / `incompatible` error. */
export function checkLsText(text: string, host: string): LsCheck {
  const parsed = parseJsonText(text, MAX_LS_BYTES);
  if (!parsed.ok) return { ok: false, error: hostError(parsed.why.startsWith('more than') ? 'too-large' : 'garbage', `ls --json answered ${parsed.why}`) };
  return checkLsValue(parsed.value, host);
}
