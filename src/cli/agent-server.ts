/**
 * The `reaper agent` server: one host's reaper answering a remote client over a byte stream
 * pair (stdin/stdout, an SSH channel). It streams snapshots (full, then deltas) and carries out
 * act requests under exactly the local rules: identity re-checked on a fresh /proc read, the
 * plan made by planForPids (pid 1, kernel threads, itself, its ancestors such as sshd and the
 * login shell, other users without allUsers: all refused), executed by the identity-checked
 * executor with this process's own privileges. It never leaves anything behind: when the
 * input ends (SSH dropped) it finishes the act in flight (a stopped tree is never abandoned
 * half-way), stops its probes and returns.
 */
import { hostname, userInfo } from 'node:os';
import { executeReap, openAuditLog } from '../actions/index.js';
import { analyze, deriveStateSince, DEFAULT_BATCH_PATTERNS, planForPids } from '../analysis/index.js';
import { NO_GPU_STATE, type GpuState } from '../model/gpu.js';
import type { RunSummary } from '../model/run.js';
import type { Snapshot } from '../model/snapshot.js';
import { createGpuLoop, resolveGpuProbeConfig, type GpuLoop } from '../probe/gpu-probe.js';
import { createProcScanner, type ProcScanner } from '../probe/snapshot.js';
import { diffProcs, type SentProcs } from '../remote/agent-delta.js';
import { createLineSplitter } from '../remote/agent-lines.js';
import { buildWireGpuProbe, buildWireGpus, buildWireMachine, buildWireProc, buildWireRuns } from '../remote/agent-wire.js';
import {
  CAP,
  capText,
  encodeMessage,
  MAX_CLIENT_LINE_BYTES,
  parseClientMessage,
  PROTO_VERSION,
  type ActMsg,
  type AgentMessage,
  type WireProc,
  type WireResult,
} from '../remote/protocol.js';
import type { GpuSelection } from './flags.js';
import { readGpuState, readRunSummaries } from './machine-view.js';
import { lsCpuPercent } from './render/ls-model.js';
import { errorLine } from '../model/errors.js';

export interface AgentOptions {
  readonly intervalMs: number;
  readonly gpus: GpuSelection;
  /** hello + one full snapshot, then return (one-shot `ls --hosts`). */
  readonly once: boolean;
  /** Explain other users' processes too (reasons); acting on them is each act's own allUsers. */
  readonly allUsers: boolean;
  /** A full snapshot every N messages, deltas between (1 = always full). */
  readonly fullEvery: number;
  readonly version: string;
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream & { writableLength?: number };
}

/** One minute at the screen's 1 s: a full snapshot is insurance only (a gap already asks for one). */
export const DEFAULT_FULL_EVERY = 60;
/** Output the client has not taken yet, past which snapshots are skipped (a full one follows). */
const MAX_PENDING_OUTPUT = 8 * 1024 * 1024;

const oneLine = (e: unknown): string => capText(errorLine(e, Infinity), CAP.message);

function whoAmI(): { uid: number; user: string | null } {
  const uid = process.getuid?.() ?? 0;
  try {
    return { uid, user: capText(userInfo().username, CAP.user) };
  } catch {
    return { uid, user: null };
  }
}

/** Runs until the input ends, a bye arrives or a signal asks; resolves with the exit code. */
export async function runAgent(opts: AgentOptions): Promise<number> {
  const out = opts.output;
  let outBroken = false;
  const onOutError = (): void => {
    outBroken = true; // the client is gone: stop as if the input had ended
    stop();
  };
  out.on('error', onOutError);
  const send = (msg: AgentMessage): boolean => {
    if (outBroken) return false;
    out.write(encodeMessage(msg));
    return true;
  };

  const host = capText(hostname(), CAP.host);
  const me = whoAmI();
  send({ type: 'hello', proto: PROTO_VERSION, reaperVersion: capText(opts.version, CAP.version), host, uid: me.uid, user: me.user, pid: process.pid, intervalMs: opts.intervalMs });

  const scanner = createProcScanner(opts.once ? {} : { idleSkip: 1 });
  let gpu: GpuState = opts.gpus.kind === 'none' ? NO_GPU_STATE : { ...NO_GPU_STATE, source: opts.gpus.kind === 'sim' ? 'simulated' : 'nvidia-smi' };
  let runs: RunSummary[] = [];
  let since: ReturnType<typeof deriveStateSince> | undefined;
  let seq = 0;
  let sent: SentProcs = new Map();
  let sinceFull = Infinity; // the first one is full
  let wantFull = true;

  const buildAndSend = async (snapshot: Snapshot): Promise<void> => {
    runs = (await readRunSummaries(snapshot)) ?? [];
    since = deriveStateSince(since, snapshot);
    const verdicts = analyze({ snapshot, runs, patterns: DEFAULT_BATCH_PATTERNS, allUsers: opts.allUsers, stateSinceMs: since });
    // The first scan has no interval to measure CPU over: send the lifetime average, as ls does
    // (0.0 for idle processes, so the second message is not a change of every process).
    const procs: WireProc[] = snapshot.processes.map((p) => buildWireProc(p, verdicts.get(p.pid), lsCpuPercent(snapshot, p)));
    const body = {
      seq: ++seq,
      t: snapshot.takenAtMs,
      host,
      machine: buildWireMachine(snapshot),
      gpuProbe: buildWireGpuProbe(gpu),
      gpus: buildWireGpus(gpu),
      runs: buildWireRuns(runs),
    };
    if ((out.writableLength ?? 0) > MAX_PENDING_OUTPUT) {
      // The client is not reading: skip this one, never queue without bound; resync with a full one.
      wantFull = true;
      return;
    }
    const diff = diffProcs(wantFull || sinceFull + 1 >= opts.fullEvery ? new Map() : sent, procs);
    if (wantFull || sinceFull + 1 >= opts.fullEvery) {
      wantFull = false;
      sinceFull = 0;
      sent = diff.sent;
      send({ type: 'snapshot', ...body, processes: procs });
    } else {
      sinceFull++;
      const base = seq - 1;
      sent = diff.sent;
      send({ type: 'delta', ...body, base, upserts: diff.upserts, removed: diff.removed });
    }
  };

  if (opts.once) {
    try {
      gpu = await readGpuState(opts.gpus);
      await buildAndSend(await scanner.scan(gpu));
    } finally {
      scanner.close();
      out.off('error', onOutError);
    }
    return 0;
  }

  // --- the live loop -------------------------------------------------------------------------
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let scanning = false;
  let again = false;
  let gpuLoop: GpuLoop | null = null;
  let acting: Promise<void> = Promise.resolve();
  let actScanner: ProcScanner | null = null;
  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((r) => (resolveDone = r));

  const tick = async (): Promise<void> => {
    if (stopped) return;
    if (scanning) {
      again = true;
      return;
    }
    scanning = true;
    timer = null;
    const t0 = performance.now();
    try {
      await buildAndSend(await scanner.scan(gpu));
    } catch (e) {
      send({ type: 'error', kind: 'scan', message: `scan failed: ${oneLine(e)}`, id: null });
    } finally {
      scanning = false;
      if (!stopped) {
        const wait = again ? 0 : Math.max(20, opts.intervalMs - (performance.now() - t0));
        again = false;
        timer = setTimeout(() => void tick(), wait);
      }
    }
  };

  const act = async (msg: ActMsg): Promise<WireResult[]> => {
    // A fresh read of every process (no idle skip): the identities the client captured are
    // checked against what is there now, then the executor re-checks before every signal.
    actScanner ??= createProcScanner();
    const snapshot = await actScanner.scan(gpu);
    const allUsers = msg.allUsers === true;
    const verdicts = analyze({ snapshot, runs, patterns: DEFAULT_BATCH_PATTERNS, allUsers });
    const results: WireResult[] = [];
    const pids: number[] = [];
    for (const t of msg.targets) {
      const p = snapshot.byPid.get(t.pid);
      if (p && p.startTime === t.startTime) {
        if (!pids.includes(t.pid)) pids.push(t.pid);
        continue;
      }
      const detail = p ? `gone or reused: pid ${t.pid} now belongs to another process (start time ${p.startTime}, not ${t.startTime})` : `gone or reused: no process ${t.pid} here any more`;
      results.push({ pid: t.pid, startTime: t.startTime, outcome: 'refused', detail, cmd: p ? capText(p.cmd, CAP.cmd) : '', reused: true });
    }
    if (pids.length === 0) return results;
    const plan = planForPids(snapshot, verdicts, pids, { action: msg.action, graceMs: msg.graceMs ?? 3000, allUsers });
    for (const s of plan.skipped) results.push({ pid: s.pid, startTime: s.startTime, outcome: 'refused', detail: capText(s.why, CAP.message), cmd: capText(s.cmd, CAP.cmd) });
    if (plan.targets.length === 0) return results;
    // Audited on this host: the act came over the agent link (a screen key or reap --host elsewhere).
    const from = (process.env.SSH_CLIENT ?? '').split(' ')[0] || 'its stdin';
    const audit = { asked: `${msg.action} through reaper agent (from ${from})`, log: openAuditLog(process.env) };
    for (const r of await executeReap(plan, { audit })) {
      results.push({ pid: r.pid, startTime: r.startTime, outcome: r.outcome, detail: r.why === null ? null : capText(r.why, CAP.message), cmd: capText(r.cmd, CAP.cmd), ...(r.reused ? { reused: true as const } : {}) });
    }
    return results;
  };

  // Acts run one at a time, in order: two overlapping ladders on one tree would race.
  const queueAct = (msg: ActMsg): void => {
    acting = acting.then(async () => {
      if (stopped) {
        send({ type: 'error', kind: 'act', message: 'agent is stopping: nothing done', id: msg.id });
        return;
      }
      try {
        send({ type: 'result', id: msg.id, results: await act(msg) });
      } catch (e) {
        send({ type: 'error', kind: 'act', message: `act failed: ${oneLine(e)}`, id: msg.id });
      }
      refreshNow();
    });
  };

  const refreshNow = (): void => {
    if (stopped) return;
    if (scanning) {
      again = true;
      return;
    }
    if (timer) clearTimeout(timer);
    void tick();
  };

  const splitter = createLineSplitter(MAX_CLIENT_LINE_BYTES, {
    line(text) {
      if (text.trim() === '') return;
      const r = parseClientMessage(text);
      if (!r.ok) {
        send({ type: 'error', kind: r.kind, message: r.message, id: null });
        return;
      }
      const m = r.msg;
      if (m.type === 'bye') stop();
      else if (m.type === 'refresh') {
        wantFull = true;
        refreshNow();
      } else queueAct(m);
    },
    oversized(bytes) {
      send({ type: 'error', kind: 'oversized', message: `request line over ${MAX_CLIENT_LINE_BYTES} bytes (${bytes} so far): skipped`, id: null });
    },
  });

  const input = opts.input;
  const onData = (chunk: Buffer | string): void => splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const onEnd = (): void => {
    splitter.end();
    stop();
  };
  const onSignal = (): void => stop();
  const signals: NodeJS.Signals[] = ['SIGHUP', 'SIGTERM', 'SIGINT'];

  function stop(): void {
    if (stopped) return;
    stopped = true;
    if (timer) clearTimeout(timer);
    timer = null;
    gpuLoop?.stop();
    gpuLoop = null;
    input.off('data', onData);
    input.off('end', onEnd);
    input.off('close', onEnd);
    input.off('error', onEnd);
    (input as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    for (const s of signals) process.off(s, onSignal);
    // The act in flight finishes first: its ladder may have stopped a tree it must now kill or resume.
    void acting.finally(() => {
      scanner.close();
      actScanner?.close();
      out.off('error', onOutError);
      resolveDone(0);
    });
  }

  for (const s of signals) process.on(s, onSignal);
  input.on('data', onData);
  input.on('end', onEnd);
  input.on('close', onEnd);
  input.on('error', onEnd);
  if (opts.gpus.kind !== 'none') {
    try {
      gpuLoop = createGpuLoop(resolveGpuProbeConfig(opts.gpus, process.env), opts.intervalMs, (s) => {
        gpu = s;
      });
    } catch (e) {
      gpu = { ...gpu, error: { kind: 'unknown', message: oneLine(e) } };
    }
  }
  void tick();
  return done;
}
