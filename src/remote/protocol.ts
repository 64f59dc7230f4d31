/**
 * The `reaper agent` protocol: newline-delimited JSON over the agent's stdin/stdout (an SSH
 * channel in practice). Plain data only, so both ends validate every message field by field.
 *
 * agent → client: hello (once, first), then snapshot (full) or delta (changes since the
 * previous message) once per interval; result (answer to act); error (a request it refused).
 * client → agent: act, refresh (send a full snapshot now), bye.
 *
 * Never trust the other end: every line is size-capped before it is parsed (agent-lines.ts),
 * every string capped and sanitised here on the way in, every number range-checked, every list
 * length-capped. A message that fails any check is rejected whole.
 */
import { sanitizeText } from '../model/sanitize.js';

/** Bumped on any incompatible change; a client accepts exactly the versions it knows. */
export const PROTO_VERSION = 1;
export const SUPPORTED_PROTOS: readonly number[] = [1];

/** One agent → client line, at most (a full snapshot of ~2,000 processes is ~0.5 MB). */
export const MAX_AGENT_LINE_BYTES = 16 * 1024 * 1024;
/** One client → agent line, at most (an act of MAX_TARGETS targets fits with room). */
export const MAX_CLIENT_LINE_BYTES = 256 * 1024;

/** String caps (UTF-16 units, before sanitising). The agent truncates to them; a client rejects longer ones. */
export const CAP = {
  cmd: 512,
  comm: 64,
  user: 64,
  tty: 32,
  stat: 16,
  id: 128,
  text: 400,
  host: 255,
  version: 64,
  message: 1000,
  kind: 32,
  uuid: 96,
  name: 128,
} as const;

const MAX_PROCESSES = 200_000;
export const MAX_GPUS = 256;
export const MAX_RUNS = 2_000;
export const MAX_TARGETS = 2_048;
export const MAX_REASONS = 16;
export const MAX_MINORS = 64;
export const MAX_HOLDERS = 4_096;
const MAX_ANCESTORS = 512;
const MAX_RESULTS = 65_536;
/** Largest pid Linux allows (PID_MAX_LIMIT, 2^22). */
const MAX_PID = 4_194_304;
export const MAX_GRACE_MS = 120_000;

export type WireAction = 'term' | 'kill' | 'cont';
const ACTIONS: readonly WireAction[] = ['term', 'kill', 'cont'];
const STATES = ['R', 'S', 'D', 'T', 't', 'Z', 'X', 'I', 'P', 'W', 'K'] as const;
const RUN_STATES = ['running', 'finished', 'failed', 'interrupted', 'crashed'] as const;

interface WireReason {
  readonly code: string;
  readonly text: string;
}

/** One process, compact. Unknown values are null, never 0. */
export interface WireProc {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  readonly sid: number;
  readonly uid: number | null;
  readonly user: string | null;
  readonly state: string;
  /** ps STAT letters. */
  readonly stat: string;
  readonly threads: number;
  /** Clock ticks since boot (stat field 22): with pid, the identity an act names. */
  readonly startTime: number;
  readonly rssKiB: number | null;
  /** CPU % of one core over the last interval, one decimal; null on the first scan. */
  readonly cpu: number | null;
  readonly tty: string | null;
  readonly comm: string;
  /** Display command, sanitised, capped at CAP.cmd (ends with … when cut). */
  readonly cmd: string;
  readonly runId: string | null;
  readonly taskId: string | null;
  /** /dev/nvidia<N> minors held; null when unreadable. */
  readonly minors: readonly number[] | null;
  /** The agent's leftover reasons (empty: not a leftover). */
  readonly reasons: readonly WireReason[];
}

interface WireGpuHolder {
  readonly pid: number;
  readonly memMiB: number | null;
}

export interface WireGpu {
  readonly index: number;
  readonly uuid: string;
  readonly name: string;
  readonly busId: string | null;
  readonly util: number | null;
  readonly memUsedMiB: number | null;
  readonly memTotalMiB: number | null;
  readonly tempC: number | null;
  readonly powerW: number | null;
  readonly powerLimitW: number | null;
  readonly holders: readonly WireGpuHolder[];
}

export interface WireGpuProbe {
  readonly source: string;
  readonly ok: boolean;
  readonly error: { readonly kind: string; readonly message: string } | null;
}

export interface WireRun {
  readonly id: string;
  readonly name: string;
  readonly state: (typeof RUN_STATES)[number];
  readonly live: boolean;
  readonly startedAtMs: number;
  readonly endedAtMs: number | null;
}

/** The host's clock and who is looking (the agent): enough to compute ages and protections. */
export interface WireMachine {
  readonly bootTimeMs: number;
  readonly clockTicks: number;
  readonly uptimeSec: number;
  readonly selfPid: number;
  readonly selfUid: number;
  readonly selfAncestors: readonly number[];
}

export interface HelloMsg {
  readonly type: 'hello';
  readonly proto: number;
  readonly reaperVersion: string;
  readonly host: string;
  readonly uid: number;
  readonly user: string | null;
  readonly pid: number;
  readonly intervalMs: number;
}

interface Body {
  readonly seq: number;
  /** When the scan finished, ms since epoch (the agent's clock). */
  readonly t: number;
  readonly host: string;
  readonly machine: WireMachine;
  readonly gpuProbe: WireGpuProbe;
  readonly gpus: readonly WireGpu[];
  readonly runs: readonly WireRun[];
}

export interface SnapshotMsg extends Body {
  readonly type: 'snapshot';
  readonly processes: readonly WireProc[];
}

/** Changes since message `base`: processes keyed by (pid, startTime); GPUs and runs whole (small). */
export interface DeltaMsg extends Body {
  readonly type: 'delta';
  readonly base: number;
  /** Added or changed processes, whole. */
  readonly upserts: readonly WireProc[];
  /** [pid, startTime] of processes gone since base. */
  readonly removed: readonly (readonly [number, number])[];
}

/** What happened to one target: the executor's outcomes, plus refused (never signalled). */
type WireOutcome = 'gone' | 'resumed' | 'survived' | 'skipped' | 'kill-pending' | 'not-stopped' | 'refused';
const OUTCOMES: readonly WireOutcome[] = ['gone', 'resumed', 'survived', 'skipped', 'kill-pending', 'not-stopped', 'refused'];

export interface WireResult {
  readonly pid: number;
  readonly startTime: number;
  readonly outcome: WireOutcome;
  readonly detail: string | null;
  /** The command as the agent saw it ('' when the target was not found). */
  readonly cmd: string;
  /**
   * The planned identity is not there any more (gone, or its pid reused): refused or skipped
   * without a signal, and not a failure of the act. Absent otherwise.
   */
  readonly reused?: true;
}

interface ResultMsg {
  readonly type: 'result';
  readonly id: string;
  readonly results: readonly WireResult[];
}

/** bad-message / oversized: a request line it refused; act: an act it could not carry out. */
interface ErrorMsg {
  readonly type: 'error';
  readonly kind: string;
  readonly message: string;
  readonly id: string | null;
}

export type AgentMessage = HelloMsg | SnapshotMsg | DeltaMsg | ResultMsg | ErrorMsg;

export interface WireTarget {
  readonly pid: number;
  readonly startTime: number;
}

export interface ActMsg {
  readonly type: 'act';
  readonly id: string;
  readonly targets: readonly WireTarget[];
  readonly action: WireAction;
  readonly graceMs?: number;
  /** Other users' processes too (the kernel still refuses a non-root agent). */
  readonly allUsers?: boolean;
}

export type ClientMessage = ActMsg | { readonly type: 'refresh' } | { readonly type: 'bye' };

// ---------------------------------------------------------------------------------------------
// Validation: a message is accepted whole or rejected with the first bad field's path.

type ParseFailure = { readonly ok: false; readonly kind: 'bad-json' | 'bad-message'; readonly message: string };
export type ParseResult<T> = { readonly ok: true; readonly msg: T } | ParseFailure;

class Bad extends Error {}

type Obj = Record<string, unknown>;

function fail(path: string, what: string): never {
  throw new Bad(`${path}: ${what}`);
}

function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'not an object');
  return v as Obj;
}

function list(v: unknown, max: number, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, 'not a list');
  if (v.length > max) fail(path, `${v.length} entries, more than ${max}`);
  return v;
}

function int(v: unknown, min: number, max: number, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) fail(path, `not an integer in ${min}..${max}`);
  return v;
}

function intOrNull(v: unknown, min: number, max: number, path: string): number | null {
  return v === null ? null : int(v, min, max, path);
}

function num(v: unknown, min: number, max: number, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) fail(path, `not a number in ${min}..${max}`);
  return v;
}

function numOrNull(v: unknown, min: number, max: number, path: string): number | null {
  return v === null ? null : num(v, min, max, path);
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'not a boolean');
  return v;
}

/** An optional flag that is only ever `true` when present. */
function reusedFlag(v: unknown, path: string): boolean {
  if (v === undefined) return false;
  if (v !== true) fail(path, 'not true');
  return true;
}

/** A remote string: capped (rejected when longer), then sanitised for any terminal. */
function str(v: unknown, cap: number, path: string): string {
  if (typeof v !== 'string') fail(path, 'not a string');
  if (v.length > cap) fail(path, `longer than ${cap} characters`);
  return sanitizeText(v);
}

function strOrNull(v: unknown, cap: number, path: string): string | null {
  return v === null ? null : str(v, cap, path);
}

function oneOf<T extends string>(v: unknown, choices: readonly T[], path: string): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) fail(path, `not one of ${choices.join('|')}`);
  return v as T;
}

const BIG = Number.MAX_SAFE_INTEGER;
const UID_MAX = 0xffffffff;

function parseProc(v: unknown, path: string): WireProc {
  const o = obj(v, path);
  return {
    pid: int(o.pid, 1, MAX_PID, `${path}.pid`),
    ppid: int(o.ppid, 0, MAX_PID, `${path}.ppid`),
    pgid: int(o.pgid, 0, MAX_PID, `${path}.pgid`),
    sid: int(o.sid, 0, MAX_PID, `${path}.sid`),
    uid: intOrNull(o.uid, 0, UID_MAX, `${path}.uid`),
    user: strOrNull(o.user, CAP.user, `${path}.user`),
    state: oneOf(o.state, STATES, `${path}.state`),
    stat: str(o.stat, CAP.stat, `${path}.stat`),
    threads: int(o.threads, 0, 10_000_000, `${path}.threads`),
    startTime: int(o.startTime, 0, BIG, `${path}.startTime`),
    rssKiB: intOrNull(o.rssKiB, 0, BIG, `${path}.rssKiB`),
    cpu: numOrNull(o.cpu, 0, 1e6, `${path}.cpu`),
    tty: strOrNull(o.tty, CAP.tty, `${path}.tty`),
    comm: str(o.comm, CAP.comm, `${path}.comm`),
    cmd: str(o.cmd, CAP.cmd, `${path}.cmd`),
    runId: strOrNull(o.runId, CAP.id, `${path}.runId`),
    taskId: strOrNull(o.taskId, CAP.id, `${path}.taskId`),
    minors: o.minors === null ? null : list(o.minors, MAX_MINORS, `${path}.minors`).map((m, i) => int(m, 0, 1_048_575, `${path}.minors[${i}]`)),
    reasons: list(o.reasons, MAX_REASONS, `${path}.reasons`).map((r, i) => {
      const ro = obj(r, `${path}.reasons[${i}]`);
      return { code: str(ro.code, CAP.kind, `${path}.reasons[${i}].code`), text: str(ro.text, CAP.text, `${path}.reasons[${i}].text`) };
    }),
  };
}

function parseGpu(v: unknown, path: string): WireGpu {
  const o = obj(v, path);
  return {
    index: int(o.index, 0, 65_535, `${path}.index`),
    uuid: str(o.uuid, CAP.uuid, `${path}.uuid`),
    name: str(o.name, CAP.name, `${path}.name`),
    busId: strOrNull(o.busId, CAP.kind, `${path}.busId`),
    util: numOrNull(o.util, 0, 100, `${path}.util`),
    memUsedMiB: numOrNull(o.memUsedMiB, 0, 1e9, `${path}.memUsedMiB`),
    memTotalMiB: numOrNull(o.memTotalMiB, 0, 1e9, `${path}.memTotalMiB`),
    tempC: numOrNull(o.tempC, -100, 1000, `${path}.tempC`),
    powerW: numOrNull(o.powerW, 0, 1e6, `${path}.powerW`),
    powerLimitW: numOrNull(o.powerLimitW, 0, 1e6, `${path}.powerLimitW`),
    holders: list(o.holders, MAX_HOLDERS, `${path}.holders`).map((h, i) => {
      const ho = obj(h, `${path}.holders[${i}]`);
      return { pid: int(ho.pid, 1, MAX_PID, `${path}.holders[${i}].pid`), memMiB: numOrNull(ho.memMiB, 0, 1e9, `${path}.holders[${i}].memMiB`) };
    }),
  };
}

function parseRun(v: unknown, path: string): WireRun {
  const o = obj(v, path);
  return {
    id: str(o.id, CAP.id, `${path}.id`),
    name: str(o.name, CAP.name, `${path}.name`),
    state: oneOf(o.state, RUN_STATES, `${path}.state`),
    live: bool(o.live, `${path}.live`),
    startedAtMs: num(o.startedAtMs, 0, 1e15, `${path}.startedAtMs`),
    endedAtMs: numOrNull(o.endedAtMs, 0, 1e15, `${path}.endedAtMs`),
  };
}

function parseMachine(v: unknown, path: string): WireMachine {
  const o = obj(v, path);
  return {
    bootTimeMs: num(o.bootTimeMs, 0, 1e15, `${path}.bootTimeMs`),
    clockTicks: int(o.clockTicks, 1, 1_000_000, `${path}.clockTicks`),
    uptimeSec: num(o.uptimeSec, 0, 1e12, `${path}.uptimeSec`),
    selfPid: int(o.selfPid, 1, MAX_PID, `${path}.selfPid`),
    selfUid: int(o.selfUid, 0, UID_MAX, `${path}.selfUid`),
    selfAncestors: list(o.selfAncestors, MAX_ANCESTORS, `${path}.selfAncestors`).map((a, i) => int(a, 0, MAX_PID, `${path}.selfAncestors[${i}]`)),
  };
}

function parseGpuProbe(v: unknown, path: string): WireGpuProbe {
  const o = obj(v, path);
  let error: WireGpuProbe['error'] = null;
  if (o.error !== null) {
    const e = obj(o.error, `${path}.error`);
    error = { kind: str(e.kind, CAP.kind, `${path}.error.kind`), message: str(e.message, CAP.message, `${path}.error.message`) };
  }
  return { source: str(o.source, CAP.kind, `${path}.source`), ok: bool(o.ok, `${path}.ok`), error };
}

function parseBody(o: Obj): Body {
  return {
    seq: int(o.seq, 0, BIG, 'seq'),
    t: num(o.t, 0, 1e15, 't'),
    host: str(o.host, CAP.host, 'host'),
    machine: parseMachine(o.machine, 'machine'),
    gpuProbe: parseGpuProbe(o.gpuProbe, 'gpuProbe'),
    gpus: list(o.gpus, MAX_GPUS, 'gpus').map((g, i) => parseGpu(g, `gpus[${i}]`)),
    runs: list(o.runs, MAX_RUNS, 'runs').map((r, i) => parseRun(r, `runs[${i}]`)),
  };
}

function parseProcs(v: unknown, path: string): WireProc[] {
  const out = list(v, MAX_PROCESSES, path).map((p, i) => parseProc(p, `${path}[${i}]`));
  const seen = new Set<number>();
  for (const p of out) {
    if (seen.has(p.pid)) fail(path, `pid ${p.pid} listed twice`);
    seen.add(p.pid);
  }
  return out;
}

function idOf(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) fail(path, 'not a non-empty string');
  return str(v, CAP.id, path);
}

function parseAgentObject(o: Obj): AgentMessage {
  switch (o.type) {
    case 'hello':
      return {
        type: 'hello',
        proto: int(o.proto, 0, BIG, 'proto'),
        reaperVersion: str(o.reaperVersion, CAP.version, 'reaperVersion'),
        host: str(o.host, CAP.host, 'host'),
        uid: int(o.uid, 0, UID_MAX, 'uid'),
        user: strOrNull(o.user, CAP.user, 'user'),
        pid: int(o.pid, 1, MAX_PID, 'pid'),
        intervalMs: int(o.intervalMs, 0, 3_600_000, 'intervalMs'),
      };
    case 'snapshot':
      return { type: 'snapshot', ...parseBody(o), processes: parseProcs(o.processes, 'processes') };
    case 'delta':
      return {
        type: 'delta',
        ...parseBody(o),
        base: int(o.base, 0, BIG, 'base'),
        upserts: parseProcs(o.upserts, 'upserts'),
        removed: list(o.removed, MAX_PROCESSES, 'removed').map((k, i) => {
          const pair = list(k, 2, `removed[${i}]`);
          if (pair.length !== 2) fail(`removed[${i}]`, 'not a [pid, startTime] pair');
          return [int(pair[0], 1, MAX_PID, `removed[${i}][0]`), int(pair[1], 0, BIG, `removed[${i}][1]`)] as const;
        }),
      };
    case 'result':
      return {
        type: 'result',
        id: idOf(o.id, 'id'),
        results: list(o.results, MAX_RESULTS, 'results').map((r, i) => {
          const ro = obj(r, `results[${i}]`);
          return {
            pid: int(ro.pid, 1, MAX_PID, `results[${i}].pid`),
            startTime: int(ro.startTime, 0, BIG, `results[${i}].startTime`),
            outcome: oneOf(ro.outcome, OUTCOMES, `results[${i}].outcome`),
            detail: strOrNull(ro.detail, CAP.message, `results[${i}].detail`),
            cmd: str(ro.cmd, CAP.cmd, `results[${i}].cmd`),
            ...(reusedFlag(ro.reused, `results[${i}].reused`) ? { reused: true as const } : {}),
          };
        }),
      };
    case 'error':
      return {
        type: 'error',
        kind: str(o.kind, CAP.kind, 'kind'),
        message: str(o.message, CAP.message, 'message'),
        id: o.id === null || o.id === undefined ? null : idOf(o.id, 'id'),
      };
    default:
      return fail('type', `unknown message type ${typeof o.type === 'string' ? JSON.stringify(sanitizeText(o.type.slice(0, 40))) : typeof o.type}`);
  }
}

function parseClientObject(o: Obj): ClientMessage {
  switch (o.type) {
    case 'act': {
      const targets = list(o.targets, MAX_TARGETS, 'targets').map((t, i) => {
        const to = obj(t, `targets[${i}]`);
        return { pid: int(to.pid, 1, MAX_PID, `targets[${i}].pid`), startTime: int(to.startTime, 0, BIG, `targets[${i}].startTime`) };
      });
      if (targets.length === 0) fail('targets', 'empty');
      const msg: { -readonly [K in keyof ActMsg]: ActMsg[K] } = { type: 'act', id: idOf(o.id, 'id'), targets, action: oneOf(o.action, ACTIONS, 'action') };
      if (o.graceMs !== undefined) msg.graceMs = int(o.graceMs, 0, MAX_GRACE_MS, 'graceMs');
      if (o.allUsers !== undefined) msg.allUsers = bool(o.allUsers, 'allUsers');
      return msg;
    }
    case 'refresh':
      return { type: 'refresh' };
    case 'bye':
      return { type: 'bye' };
    default:
      return fail('type', 'not act, refresh or bye');
  }
}

function parseWith<T>(line: string, build: (o: Obj) => T): ParseResult<T> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return { ok: false, kind: 'bad-json', message: `not JSON: ${sanitizeText(String((e as Error).message)).slice(0, 200)}` };
  }
  try {
    return { ok: true, msg: build(obj(value, 'message')) };
  } catch (e) {
    if (e instanceof Bad) return { ok: false, kind: 'bad-message', message: e.message.slice(0, CAP.message) };
    throw e;
  }
}

/** One line from an agent → a validated, sanitised message, or why not. Never throws on input. */
export function parseAgentMessage(line: string): ParseResult<AgentMessage> {
  return parseWith(line, parseAgentObject);
}

/** One line from a client → a validated request, or why not. Never throws on input. */
export function parseClientMessage(line: string): ParseResult<ClientMessage> {
  return parseWith(line, parseClientObject);
}

/** A message as one protocol line (JSON has no raw newlines inside strings). */
export function encodeMessage(msg: AgentMessage | ClientMessage): string {
  return JSON.stringify(msg) + '\n';
}

/** Sanitise, then cap at `cap` characters (a cut string ends with …). What the agent sends. */
export function capText(s: string, cap: number): string {
  const t = sanitizeText(s);
  return t.length <= cap ? t : t.slice(0, cap - 1) + '…';
}
