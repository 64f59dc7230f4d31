/** The agent protocol's pure parts and the client decoder, fed hostile streams. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { AgentActError, AgentClient, type AgentClientError } from '../../src/remote/agent-client.js';
import { applyDelta, diffProcs, viewFromSnapshot, viewProcesses } from '../../src/remote/agent-delta.js';
import { createLineSplitter } from '../../src/remote/agent-lines.js';
import { buildWireGpuProbe, buildWireGpus, buildWireMachine, buildWireProc, buildWireRuns } from '../../src/remote/agent-wire.js';
import { fakeGpuState, fakeProc, fakeSnapshot } from '../helpers/proc-fake.js';
import { CAP, parseAgentMessage, parseClientMessage, PROTO_VERSION, type DeltaMsg, type HelloMsg, type SnapshotMsg, type WireProc } from '../../src/remote/protocol.js';

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

function proc(pid: number, over: Partial<WireProc> = {}): WireProc {
  return {
    pid,
    ppid: 1,
    pgid: pid,
    sid: pid,
    uid: 1000,
    user: 'alice',
    state: 'S',
    stat: 'S',
    threads: 1,
    startTime: 1000 + pid,
    rssKiB: 1234,
    cpu: 0,
    tty: null,
    comm: 'python3',
    cmd: `python3 train.py --rank ${pid}`,
    runId: null,
    taskId: null,
    minors: [],
    reasons: [],
    ...over,
  };
}

const HELLO: HelloMsg = { type: 'hello', proto: PROTO_VERSION, reaperVersion: '0.1.0', host: 'gpu1', uid: 1000, user: 'alice', pid: 4242, intervalMs: 1000 };

function snapshot(seq: number, processes: WireProc[]): SnapshotMsg {
  return {
    type: 'snapshot',
    seq,
    t: 1_700_000_000_000 + seq,
    host: 'gpu1',
    machine: { bootTimeMs: 1_600_000_000_000, clockTicks: 100, uptimeSec: 1000, selfPid: 4242, selfUid: 1000, selfAncestors: [4241, 1] },
    gpuProbe: { source: 'none', ok: false, error: null },
    gpus: [],
    runs: [],
    processes,
  };
}

function delta(seq: number, base: number, prev: WireProc[], next: WireProc[]): DeltaMsg {
  const sent = new Map(prev.map((p) => [p.pid, { startTime: p.startTime, json: JSON.stringify(p) }]));
  const d = diffProcs(sent, next);
  const { processes: _drop, ...body } = snapshot(seq, []);
  void _drop;
  return { ...body, type: 'delta', base, upserts: d.upserts, removed: d.removed };
}

describe('line splitter', () => {
  it('splits across chunk boundaries, and a last unterminated line counts at the end', () => {
    const lines: string[] = [];
    const s = createLineSplitter(100, { line: (t) => lines.push(t), oversized: () => assert.fail('not oversized') });
    s.push(Buffer.from('ab'));
    s.push(Buffer.from('c\nde'));
    s.push(Buffer.from('f\n\ng'));
    s.end();
    assert.deepEqual(lines, ['abc', 'def', '', 'g']);
  });

  it('drops an oversized line as it arrives: one report, never more than the cap held, the next line intact', () => {
    const lines: string[] = [];
    const over: number[] = [];
    const s = createLineSplitter(1000, { line: (t) => lines.push(t), oversized: (n) => over.push(n) });
    s.push(Buffer.from('ok1\n' + 'x'.repeat(600)));
    let maxHeld = s.held;
    for (let i = 0; i < 200; i++) {
      s.push(Buffer.alloc(64 * 1024, 0x78)); // 12.5 MB of one line, no newline
      maxHeld = Math.max(maxHeld, s.held);
    }
    s.push(Buffer.from('yyy\nok2\n'));
    assert.deepEqual(lines, ['ok1', 'ok2']);
    assert.equal(over.length, 1);
    assert.ok(maxHeld <= 1000, `held ${maxHeld}`);
  });

  it('a multi-byte character split across chunks arrives whole', () => {
    const lines: string[] = [];
    const s = createLineSplitter(100, { line: (t) => lines.push(t), oversized: () => undefined });
    const b = Buffer.from('é€\n');
    s.push(b.subarray(0, 1));
    s.push(b.subarray(1, 3));
    s.push(b.subarray(3));
    assert.deepEqual(lines, ['é€']);
  });
});

describe('message validation', () => {
  it('a result carries reused only as true: anything else is a bad message', () => {
    const res = (extra: Record<string, unknown>) => JSON.stringify({ type: 'result', id: 'a1', results: [{ pid: 7, startTime: 1007, outcome: 'refused', detail: 'gone or reused', cmd: 'sleep', ...extra }] });
    const ok = parseAgentMessage(res({ reused: true }));
    assert.ok(ok.ok && (ok.msg as unknown as { results: Array<{ reused?: true }> }).results[0]!.reused === true);
    const none = parseAgentMessage(res({}));
    assert.ok(none.ok && !('reused' in (none.msg as unknown as { results: object[] }).results[0]!));
    for (const v of [false, 'true', 1, null]) {
      const bad = parseAgentMessage(res({ reused: v }));
      assert.ok(!bad.ok && /results\[0\]\.reused: not true/.test(bad.message), JSON.stringify(v));
    }
  });
  it('accepts a well-formed snapshot and sanitises strings (escape sequences, bidi overrides, newlines)', () => {
    const evil = proc(7, { cmd: 'sleep \x1b[2J\x1b]0;owned\x07 \u202efdp.exe\nX', comm: 'a\x9bb', user: 'bob\r' });
    const r = parseAgentMessage(JSON.stringify(snapshot(1, [evil])));
    assert.ok(r.ok, r.ok ? '' : r.message);
    const p = (r.msg as SnapshotMsg).processes[0]!;
    for (const s of [p.cmd, p.comm, p.user!]) assert.doesNotMatch(s, UNSAFE);
    assert.equal(p.cmd, 'sleep \\x1b[2J\\x1b]0;owned\\x07 \\u202efdp.exe\\nX');
  });

  const bad: Array<[string, (m: Record<string, unknown>) => unknown, RegExp]> = [
    ['a pid that is a string', (m) => ((m.processes as Record<string, unknown>[])[0]!.pid = '7'), /processes\[0\]\.pid/],
    ['a fractional start time', (m) => ((m.processes as Record<string, unknown>[])[0]!.startTime = 1.5), /startTime/],
    ['an unknown state letter', (m) => ((m.processes as Record<string, unknown>[])[0]!.state = 'Q'), /state/],
    ['a command over the cap', (m) => ((m.processes as Record<string, unknown>[])[0]!.cmd = 'x'.repeat(CAP.cmd + 1)), /cmd: longer than/],
    ['a pid listed twice', (m) => (m.processes = [proc(7), proc(7)]), /listed twice/],
    ['processes that are not a list', (m) => (m.processes = { 0: proc(7) }), /processes: not a list/],
    ['a NaN-ish cpu', (m) => ((m.processes as Record<string, unknown>[])[0]!.cpu = -1), /cpu/],
    ['a missing machine', (m) => delete m.machine, /machine: not an object/],
    ['an unknown type', (m) => (m.type = 'exec'), /unknown message type/],
  ];
  for (const [what, mutate, why] of bad) {
    it(`rejects ${what}`, () => {
      const m = JSON.parse(JSON.stringify(snapshot(1, [proc(7)]))) as Record<string, unknown>;
      mutate(m);
      const r = parseAgentMessage(JSON.stringify(m));
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.kind, 'bad-message');
        assert.match(r.message, why);
      }
    });
  }

  it('classifies bad JSON, and never throws on any input', () => {
    for (const line of ['{', 'null', '[]', '"x"', '42', '{"type":null}', '\u0000\u0001']) {
      const r = parseAgentMessage(line);
      assert.equal(r.ok, false, line);
    }
    assert.equal((parseAgentMessage('{') as { kind: string }).kind, 'bad-json');
  });

  it('client requests: act is validated (targets, action, grace), refresh and bye pass', () => {
    assert.ok(parseClientMessage('{"type":"act","id":"1","targets":[{"pid":5,"startTime":9}],"action":"kill"}').ok);
    assert.ok(parseClientMessage('{"type":"refresh"}').ok);
    assert.ok(parseClientMessage('{"type":"bye"}').ok);
    for (const line of [
      '{"type":"act","id":"1","targets":[],"action":"kill"}',
      '{"type":"act","id":"1","targets":[{"pid":0,"startTime":9}],"action":"kill"}',
      '{"type":"act","id":"1","targets":[{"pid":5}],"action":"kill"}',
      '{"type":"act","id":"1","targets":[{"pid":5,"startTime":9}],"action":"hup"}',
      '{"type":"act","id":"1","targets":[{"pid":5,"startTime":9}],"action":"kill","graceMs":-1}',
      '{"type":"act","id":"","targets":[{"pid":5,"startTime":9}],"action":"kill"}',
      '{"type":"shell","cmd":"rm -rf /"}',
    ]) {
      const r = parseClientMessage(line);
      assert.equal(r.ok, false, line);
    }
  });
});

describe("the agent's records", () => {
  it('whatever a process carries (huge, hostile argv, user, run id), the agent sends what a client accepts', () => {
    const p = fakeProc({ pid: 4711, cmd: '\x1b[2J'.repeat(5000) + 'python3', comm: 'c\x1b'.repeat(100), user: 'u\u202e'.repeat(100), runId: 'r\n'.repeat(500), stat: 'Ss+' });
    const snap = fakeSnapshot([p], fakeGpuState(2, [{ gpuUuid: 'GPU-00000000-aaaa-bbbb-cccc-dddddddddddd', pid: 4711, processName: 'x', usedMemoryMiB: 10 }]));
    const w = buildWireProc(p, { reasons: Array.from({ length: 40 }, () => ({ code: 'stopped' as const, text: 'y'.repeat(5000) })) }, 12.345);
    assert.equal(w.cpu, 12.3);
    assert.equal(w.cmd.length, CAP.cmd);
    assert.ok(w.cmd.endsWith('…'));
    const msg: SnapshotMsg = {
      type: 'snapshot',
      seq: 1,
      t: snap.takenAtMs,
      host: 'h',
      machine: buildWireMachine(snap),
      gpuProbe: buildWireGpuProbe(snap.gpu),
      gpus: buildWireGpus(snap.gpu),
      runs: buildWireRuns([]),
      processes: [w],
    };
    const r = parseAgentMessage(JSON.stringify(msg));
    assert.ok(r.ok, r.ok ? '' : r.message);
    const back = (r.msg as SnapshotMsg).processes[0]!;
    assert.equal(back.reasons.length, 16);
    assert.deepEqual((r.msg as SnapshotMsg).gpus[0]!.holders, [{ pid: 4711, memMiB: 10 }]);
    for (const s of [back.cmd, back.comm, back.user!, back.runId!]) assert.doesNotMatch(s, UNSAFE);
  });
});

describe('deltas', () => {
  it('diff then apply gives the next list: changed, added, removed, and a reused pid replaced', () => {
    const prev = [proc(10), proc(11), proc(12), proc(13)];
    const next = [proc(10), proc(11, { state: 'T', stat: 'T' }), proc(13, { startTime: 99_999 }), proc(14)];
    const v0 = viewFromSnapshot(HELLO, snapshot(1, prev));
    const d = delta(2, 1, prev, next);
    assert.deepEqual(d.upserts.map((p) => p.pid), [11, 13, 14]);
    assert.deepEqual(d.removed, [[13, 1013], [12, 1012]]);
    const v1 = applyDelta(v0, d);
    assert.notEqual(v1, 'gap');
    if (v1 !== 'gap') {
      assert.deepEqual(viewProcesses(v1), next);
      assert.equal(v1.seq, 2);
    }
    assert.equal(v0.processes.size, 4, 'the old view is untouched');
  });

  it('a delta that does not follow the view is a gap', () => {
    const v0 = viewFromSnapshot(HELLO, snapshot(5, [proc(10)]));
    assert.equal(applyDelta(v0, delta(7, 6, [proc(10)], [proc(10)])), 'gap');
  });
});

// ---------------------------------------------------------------------------------------------

function harness(opts: ConstructorParameters<typeof AgentClient>[2] = {}) {
  const fromAgent = new PassThrough();
  const toAgent = new PassThrough();
  const sent: string[] = [];
  toAgent.on('data', (c: Buffer) => sent.push(...c.toString().split('\n').filter(Boolean)));
  const client = new AgentClient(fromAgent, toAgent, { helloTimeoutMs: 0, ...opts });
  const errors: AgentClientError[] = [];
  const closed: string[] = [];
  client.on('error', (e) => errors.push(e));
  client.on('closed', (w) => closed.push(w));
  const write = (v: unknown): void => void fromAgent.write((typeof v === 'string' ? v : JSON.stringify(v)) + '\n');
  const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
  return { client, fromAgent, sent, errors, closed, write, tick };
}

describe('agent client on a hostile stream', () => {
  it('tolerates a login banner, then keeps a sanitised view through snapshots and deltas', async () => {
    const h = harness();
    h.write('Welcome to gpu1! \x1b[31mred\x1b[0m');
    h.write(HELLO);
    const evil = proc(7, { cmd: 'x\x1b]52;c;ZXZpbA==\x07' });
    h.write(snapshot(1, [evil]));
    h.write(delta(2, 1, [evil], [evil, proc(8)]));
    await h.tick();
    assert.deepEqual(h.errors, []);
    assert.equal(h.client.hello?.host, 'gpu1');
    const v = h.client.view!;
    assert.equal(v.seq, 2);
    assert.deepEqual([...v.processes.keys()], [7, 8]);
    assert.doesNotMatch(v.processes.get(7)!.cmd, UNSAFE);
  });

  it('an incompatible protocol is one fatal "proto" error naming the host and versions, and the connection ends', async () => {
    const h = harness();
    h.write({ ...HELLO, proto: 99, reaperVersion: '9.0.0' });
    h.write(snapshot(1, [proc(7)]));
    await h.tick();
    assert.equal(h.errors.length, 1);
    assert.equal(h.errors[0]!.kind, 'proto');
    assert.equal(h.errors[0]!.fatal, true);
    assert.match(h.errors[0]!.message, /gpu1: agent protocol 99 \(reaper 9\.0\.0\), this reaper speaks 1/);
    assert.equal(h.client.view, null);
    assert.equal(h.closed.length, 1);
  });

  it('a message other than hello first is a fatal handshake error', async () => {
    const h = harness();
    h.write(snapshot(1, [proc(7)]));
    await h.tick();
    assert.deepEqual(h.errors.map((e) => [e.kind, e.fatal]), [['handshake', true]]);
  });

  it('no hello in time is a fatal handshake error', async () => {
    const h = harness({ helloTimeoutMs: 30 });
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(h.errors.map((e) => e.kind), ['handshake']);
    assert.equal(h.client.closed, true);
  });

  it('bad JSON, a malformed message and an oversized line are classified, and the stream goes on (a refresh is asked)', async () => {
    const h = harness({ maxLineBytes: 4096 });
    h.write(HELLO);
    h.write(snapshot(1, [proc(7)]));
    h.write('{not json');
    h.write({ ...snapshot(2, [proc(7)]), processes: [{ pid: 'x' }] });
    h.write('{"type":"snapshot","pad":"' + 'A'.repeat(100_000) + '"}');
    h.write(snapshot(3, [proc(7), proc(9)]));
    await h.tick();
    assert.deepEqual(h.errors.map((e) => [e.kind, e.fatal]), [['bad-json', false], ['bad-message', false], ['oversized', false]]);
    assert.match(h.errors[1]!.message, /processes\[0\]\.pid/);
    assert.ok(h.sent.includes('{"type":"refresh"}'));
    assert.equal(h.client.view?.seq, 3);
    assert.equal(h.client.view?.processes.size, 2);
  });

  it('a delta with a gap asks for one full snapshot and keeps the last good view', async () => {
    const h = harness();
    h.write(HELLO);
    h.write(snapshot(1, [proc(7)]));
    h.write(delta(5, 4, [proc(7)], [proc(8)]));
    h.write(delta(6, 5, [proc(8)], [proc(9)]));
    await h.tick();
    assert.deepEqual(h.errors.map((e) => e.kind), ['gap']);
    assert.deepEqual(h.sent, ['{"type":"refresh"}']);
    assert.deepEqual([...h.client.view!.processes.keys()], [7]);
  });

  it('act: sends the captured identities, resolves with the answer, rejects on deadline and on close', async () => {
    const h = harness();
    h.write(HELLO);
    await h.tick();
    const p1 = h.client.act([{ pid: 7, startTime: 1007 }], 'kill');
    await h.tick();
    const req = JSON.parse(h.sent[0]!) as { id: string; targets: unknown; action: string };
    assert.deepEqual(req.targets, [{ pid: 7, startTime: 1007 }]);
    assert.equal(req.action, 'kill');
    h.write({ type: 'result', id: req.id, results: [{ pid: 7, startTime: 1007, outcome: 'gone', detail: null, cmd: 'sleep\x1b[1m' }] });
    const r1 = await p1;
    assert.equal(r1[0]!.outcome, 'gone');
    assert.equal(r1[0]!.cmd, 'sleep\\x1b[1m');

    const p2 = h.client.act([{ pid: 8, startTime: 1 }], 'term', { deadlineMs: 30 });
    await assert.rejects(p2, (e: unknown) => e instanceof AgentActError && e.kind === 'timeout');
    const late = JSON.parse(h.sent[1]!) as { id: string };
    h.write({ type: 'result', id: late.id, results: [] });
    await h.tick();
    assert.deepEqual(h.errors, [], 'a late answer after the deadline is dropped quietly');

    const p3 = h.client.act([{ pid: 9, startTime: 1 }], 'cont');
    h.fromAgent.end();
    await assert.rejects(p3, (e: unknown) => e instanceof AgentActError && e.kind === 'closed');
    assert.equal(h.closed.length, 1);
  });
});
