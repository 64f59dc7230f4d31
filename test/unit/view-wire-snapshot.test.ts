/**
 * The remote host's view → what the screen renders (src/view/wire-snapshot.ts), on real data
 * shapes: this machine's own snapshot and verdicts go through the agent's builders, the wire
 * encoding and the client's validator, exactly as they would over SSH, and must come back as
 * the same processes, identities, trees and leftover reasons.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, DEFAULT_BATCH_PATTERNS } from '../../src/analysis/index.js';
import { NO_GPU_STATE } from '../../src/model/gpu.js';
import { takeSnapshot } from '../../src/probe/snapshot.js';
import { applyDelta, diffProcs, viewFromSnapshot } from '../../src/remote/agent-delta.js';
import { buildWireGpuProbe, buildWireGpus, buildWireMachine, buildWireProc } from '../../src/remote/agent-wire.js';
import { encodeMessage, parseAgentMessage, PROTO_VERSION, type HelloMsg, type SnapshotMsg, type WireProc } from '../../src/remote/protocol.js';
import { modelFromView } from '../../src/view/wire-snapshot.js';
import { fakeGpuState } from '../helpers/proc-fake.js';

const hello: HelloMsg = { type: 'hello', proto: PROTO_VERSION, reaperVersion: '0.1.0', host: 'host2', uid: 1000, user: 'lab', pid: 4242, intervalMs: 1000 };

function overTheWire<T>(msg: T): T {
  const r = parseAgentMessage(encodeMessage(msg as never).trimEnd());
  if (!r.ok) throw new Error(r.message);
  return r.msg as T;
}

test("this machine's snapshot through the agent's wire comes back with the same processes, trees and reasons", async () => {
  const snap = await takeSnapshot();
  const verdicts = analyze({ snapshot: snap, runs: [], patterns: DEFAULT_BATCH_PATTERNS, allUsers: true });
  const msg: SnapshotMsg = overTheWire({
    type: 'snapshot',
    seq: 1,
    t: snap.takenAtMs,
    host: 'host2',
    machine: buildWireMachine(snap),
    gpuProbe: buildWireGpuProbe(NO_GPU_STATE),
    gpus: buildWireGpus(NO_GPU_STATE),
    runs: [],
    processes: snap.processes.map((p) => buildWireProc(p, verdicts.get(p.pid))),
  });
  const m = modelFromView(viewFromSnapshot(hello, msg));
  assert.equal(m.snapshot.processes.length, snap.processes.length);
  assert.equal(m.snapshot.selfPid, snap.selfPid);
  assert.deepEqual(m.snapshot.selfAncestors, snap.selfAncestors);
  for (const p of snap.processes) {
    const q = m.snapshot.byPid.get(p.pid);
    assert.ok(q, `pid ${p.pid}`);
    assert.deepEqual([q.startTime, q.ppid, q.pgid, q.sid, q.uid, q.user, q.state, q.runId], [p.startTime, p.ppid, p.pgid, p.sid, p.uid, p.user, p.state, p.runId]);
    assert.equal(q.cmd, p.cmd.length > 512 ? q.cmd : p.cmd);
    assert.equal(q.argv, null, 'argv is not on the wire: unknown, not empty');
    assert.deepEqual(m.verdicts.get(p.pid)?.reasons.map((r) => r.code) ?? [], verdicts.get(p.pid)?.reasons.map((r) => r.code) ?? []);
  }
  assert.equal(m.host.hostname, 'host2');
  assert.equal(m.host.cpuPercent, null, 'not on the wire: unknown');
});

test('GPU holders become GPU apps of that GPU; a delta reuses the converted records of unchanged processes', () => {
  const uuid1 = fakeGpuState(2).gpus[1]!.uuid;
  const gpu = fakeGpuState(2, [{ gpuUuid: uuid1, pid: 30, processName: 'python', usedMemoryMiB: 512 }]);
  const proc = (pid: number, over: Partial<WireProc> = {}): WireProc => ({
    pid, ppid: 1, pgid: pid, sid: pid, uid: 1000, user: 'lab', state: 'S', stat: 'S', threads: 1, startTime: 100 + pid, rssKiB: 1000, cpu: 0,
    tty: null, comm: 'python', cmd: `python train.py --rank ${pid}`, runId: null, taskId: null, minors: null, reasons: [], ...over,
  });
  const base = {
    t: 1_700_000_000_000, host: 'host2', runs: [],
    machine: { bootTimeMs: 1_699_000_000_000, clockTicks: 100, uptimeSec: 1000, selfPid: 50, selfUid: 1000, selfAncestors: [49, 1] },
    gpuProbe: buildWireGpuProbe(gpu), gpus: buildWireGpus(gpu),
  };
  const first = [proc(30), proc(31, { state: 'T', stat: 'T', reasons: [{ code: 'stopped', text: 'stopped (T) 12 s' }] })];
  const s1: SnapshotMsg = overTheWire({ type: 'snapshot', seq: 1, ...base, processes: first });
  const cache = new WeakMap();
  const v1 = viewFromSnapshot(hello, s1);
  const m1 = modelFromView(v1, cache);
  assert.deepEqual(m1.gpu.apps, [{ gpuUuid: uuid1, pid: 30, processName: '', usedMemoryMiB: 512 }]);
  assert.deepEqual(m1.gpu.gpus.map((g) => g.uuid), gpu.gpus.map((g) => g.uuid));
  assert.deepEqual([...m1.verdicts.keys()], [31]);
  const next = [first[0]!, proc(32)];
  const d = diffProcs(new Map(first.map((p) => [p.pid, { startTime: p.startTime, json: JSON.stringify(p) }])), next);
  const v2 = applyDelta(v1, overTheWire({ type: 'delta', seq: 2, base: 1, ...base, upserts: d.upserts, removed: d.removed }));
  assert.notEqual(v2, 'gap');
  const m2 = modelFromView(v2 as Exclude<typeof v2, 'gap'>, cache);
  assert.deepEqual(m2.snapshot.processes.map((p) => p.pid), [30, 32]);
  assert.equal(m2.snapshot.byPid.get(30), m1.snapshot.byPid.get(30), 'the unchanged process is the same converted record');
  assert.equal(m2.verdicts.size, 0);
});

test('escape sequences in a remote command line never come through', () => {
  const evil = '\x1b]0;owned\x07python \x1b[2J\u202etrain.py';
  const s: SnapshotMsg = overTheWire({
    type: 'snapshot', seq: 1, t: 1, host: 'h\x1b[31m', runs: [{ id: 'r\x1b[1m', name: 'n\x07', state: 'running', live: true, startedAtMs: 1, endedAtMs: null }],
    machine: { bootTimeMs: 0, clockTicks: 100, uptimeSec: 1, selfPid: 2000, selfUid: 0, selfAncestors: [] },
    gpuProbe: { source: 'weird', ok: false, error: { kind: 'odd', message: 'bad\x1b[0m' } }, gpus: [],
    processes: [{ pid: 7, ppid: 1, pgid: 7, sid: 7, uid: 0, user: 'r\x1boot', state: 'S', stat: 'S', threads: 1, startTime: 5, rssKiB: null, cpu: null, tty: null, comm: 'x\x1b', cmd: evil, runId: null, taskId: null, minors: null, reasons: [{ code: 'future-code', text: 'why\x1b[5m' }] }],
  });
  const m = modelFromView(viewFromSnapshot(hello, s));
  const p = m.snapshot.byPid.get(7)!;
  const all = JSON.stringify([p.cmd, p.user, p.comm, m.host.hostname, m.runs, m.gpu.error, [...m.verdicts.values()]]);
  assert.doesNotMatch(all, /\\u001b|\\u0007|\u202e/);
  assert.equal(m.gpu.source, 'none', 'an unknown GPU source is none');
  assert.equal(m.gpu.error?.kind, 'unknown');
  assert.equal(m.verdicts.get(7)?.reasons.length, 1, 'an unknown reason code still marks a leftover');
});
