/**
 * The several-host screen (reaper --hosts) with hand-built hosts whose remote data comes the way
 * it does over SSH: the agent's wire records (buildWireProc), the client's validator and the
 * view layer's conversion (modelFromView). Pids repeat across hosts on purpose.
 */
import { App, createTheme, ESC, React, render } from '../helpers/tui-ink.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReactElement } from 'react';
import { FakeActions, FakeSource, data, plain, proc, reasons, snapshot } from '../helpers/tui-fake.js';
import { frameMatching, press } from '../helpers/tui-fake.js';
import type { HostLink, HostPane, LiveData } from '../../src/model/live.js';
import type { ProcInfo } from '../../src/model/index.js';
import { viewFromSnapshot } from '../../src/remote/agent-delta.js';
import { buildWireGpuProbe, buildWireGpus, buildWireMachine, buildWireProc } from '../../src/remote/agent-wire.js';
import { encodeMessage, parseAgentMessage, PROTO_VERSION, type SnapshotMsg } from '../../src/remote/protocol.js';
import { buildHostRows } from '../../src/tui/rows.js';
import { modelFromView } from '../../src/view/wire-snapshot.js';
import { NO_GPU_STATE } from '../../src/model/gpu.js';
import type { Verdict } from '../../src/model/leftover.js';
import type { ActionOutcome, ActionTarget, SignalAction } from '../../src/tui/types.js';

const KEY = { down: `${ESC}[B`, enter: '\r', space: ' ' };

/** A remote host's data as the screen gets it: through the wire, validated, converted. */
function remote(name: string, procs: ProcInfo[], verdicts: ReadonlyMap<number, Verdict>, link: HostLink): LiveData {
  const snap = snapshot(procs);
  const msg = {
    type: 'snapshot', seq: 1, t: snap.takenAtMs, host: name, machine: buildWireMachine(snap),
    gpuProbe: buildWireGpuProbe(NO_GPU_STATE), gpus: buildWireGpus(NO_GPU_STATE), runs: [],
    processes: snap.processes.map((p) => buildWireProc(p, verdicts.get(p.pid))),
  };
  const r = parseAgentMessage(encodeMessage(msg as SnapshotMsg).trimEnd());
  if (!r.ok) throw new Error(r.message);
  const hello = { type: 'hello', proto: PROTO_VERSION, reaperVersion: '0.1.0', host: name, uid: 1000, user: 'alice', pid: 99_999, intervalMs: 1000 } as const;
  const m = modelFromView(viewFromSnapshot(hello, r.msg as SnapshotMsg));
  return data({ snapshot: m.snapshot, verdicts: m.verdicts, runs: m.runs, host: m.host, link });
}

const OK: HostLink = { state: 'ok', error: null, latencyMs: 12, reaperVersion: '0.1.0' };
const DEAD: HostLink = { state: 'error', error: { kind: 'refused', message: 'connection refused: nothing listens there' }, latencyMs: null, reaperVersion: null };

function hosts(): HostPane[] {
  const localProcs = [proc(100, 1, { cmd: 'bash', user: 'alice' }), proc(110, 100, { cmd: 'python3 sample.py --tag local', stat: 'T', user: 'alice' })];
  const h2Procs = [proc(100, 1, { cmd: 'bash', user: 'alice' }), proc(110, 100, { cmd: 'python3 sample.py --tag h2', stat: 'T', user: 'alice' })];
  const stopped = new Map([[110, reasons(['stopped', 'stopped (T) 12 s'])]]);
  return [
    { name: 'local', local: true, data: data({ snapshot: snapshot(localProcs), verdicts: stopped }) },
    { name: 'host2', local: false, data: remote('host2', h2Procs, stopped, OK) },
    { name: 'host4', local: false, data: { ...data({ snapshot: null }), link: DEAD } },
  ];
}

/** As HostsView answers: every outcome names the host that acted. */
class HostActions extends FakeActions {
  override async signal(action: SignalAction, targets: readonly ActionTarget[]): Promise<readonly ActionOutcome[]> {
    const out = await super.signal(action, targets);
    return out.map((o, i) => ({ ...o, ...(targets[i]!.host !== undefined ? { host: targets[i]!.host } : {}) }));
  }
}

function mount(h: HostPane[], actions: FakeActions = new HostActions()) {
  const local = h.find((x) => x.local)!.data;
  const source = new FakeSource({ ...local, hosts: h });
  const el = React.createElement(App, { source, actions, size: { columns: 100, rows: 30 }, theme: createTheme(true), initialGrouping: 'all' }) as ReactElement;
  return { inst: render(el), source, actions };
}

describe('several hosts', () => {
  test('rows: each host its own line, then its processes; keys unique across hosts; a dead host is one line', () => {
    const rows = buildHostRows(hosts(), { grouping: 'all', filter: '', leftoversOnly: false, folded: new Set(), allUsers: false });
    assert.deepEqual(
      rows.map((r) => (r.kind === 'group' ? `[${r.label}]` : `${r.host}:${r.proc.pid}`)),
      ['[local  this machine · 2 processes]', 'local:100', 'local:110', '[host2  ok · 12 ms · reaper 0.1.0 · 2 processes]', 'host2:100', 'host2:110', '[host4  refused: connection refused: nothing listens there]'],
    );
    assert.equal(new Set(rows.map((r) => r.key)).size, rows.length);
    // A folded identity is per host: folding host2's 100 leaves local's 100 open.
    const folded = buildHostRows(hosts(), { grouping: 'all', filter: '', leftoversOnly: false, folded: new Set([`host2|100:${proc(100, 1).startTime}`]), allUsers: false });
    assert.deepEqual(folded.filter((r) => r.kind === 'proc').map((r) => `${r.host}:${r.kind === 'proc' ? r.proc.pid : ''}`), ['local:100', 'local:110', 'host2:100']);
  });

  test('frame: host states in the header, groups per host, the dead host one red line and nothing else', async () => {
    const { inst } = mount(hosts());
    const f = await frameMatching(inst, (p) => p.includes('== host4'), 'the hosts screen');
    const p = plain(f);
    assert.match(p.split('\n')[0]!, /^reaper 3 hosts:\s+local ok\s+host2 ok 12 ms\s+host4 refused/);
    assert.match(p, /== host2 {2}ok · 12 ms · reaper 0\.1\.0 · 2 processes/);
    assert.equal(p.split('\n').filter((l) => l.includes('host4')).length, 2, 'header item and its one line');
    const dead = f.split('\n').find((l) => plain(l).includes('== host4'))!;
    assert.match(dead, /\x1b\[(?:\d+;)*31(?:;\d+)*m/, 'in red');
    assert.match(p, /python3 sample\.py --tag local/);
    assert.match(p, /python3 sample\.py --tag h2/);
    inst.unmount();
  });

  test('tagging across hosts, K: the confirmation lists host:pid(user) command; each target keeps its host', async () => {
    const { inst, actions } = mount(hosts());
    await frameMatching(inst, (p) => p.includes('== host4'), 'the hosts screen');
    // Rows: == local, 100, 110, == host2, 100, 110. Tag local's 110 and host2's 110.
    await press(inst, KEY.down, KEY.down, KEY.space, KEY.down, KEY.down, KEY.space);
    await frameMatching(inst, (p) => /tagged: 2/.test(p), 'two tagged');
    await press(inst, 'K');
    const c = plain(await frameMatching(inst, (p) => p.includes('Kill'), 'the confirmation'));
    assert.match(c, /local:110\(alice\) T\s+python3 sample\.py --tag local/);
    assert.match(c, /host2:110\(alice\) T\s+python3 sample\.py --tag h2/);
    await press(inst, 'y');
    const done = plain(await frameMatching(inst, (p) => /host2: kill: 1 gone/.test(p), 'per-host result'));
    assert.match(done, /local: kill: 1 gone; host2: kill: 1 gone/);
    const targets = actions.calls[0]!.targets!;
    assert.deepEqual(targets.map((t) => `${t.host}:${t.pid}:${t.cmd}`), ['local:110:python3 sample.py --tag local', 'host2:110:python3 sample.py --tag h2']);
    inst.unmount();
  });

  test('K on one remote row acts on that host only; L there says it is not supported yet', async () => {
    const { inst, actions } = mount(hosts());
    await frameMatching(inst, (p) => p.includes('== host4'), 'the hosts screen');
    await press(inst, KEY.down, KEY.down, KEY.down, KEY.down, KEY.down);
    await press(inst, 'L');
    await frameMatching(inst, (p) => p.includes('L on host2: launching on another host is not supported yet'), 'L refused on a remote host');
    await press(inst, 'K');
    const c = plain(await frameMatching(inst, (p) => p.includes('Kill'), 'the confirmation'));
    assert.match(c, /host2:110\(alice\)/);
    assert.doesNotMatch(c, /local:110/);
    await press(inst, 'y');
    await frameMatching(inst, (p) => /host2: kill: 1 gone/.test(p), 'result');
    assert.deepEqual(actions.calls.map((x) => x.kind), ['signal']);
    assert.deepEqual(actions.calls[0]!.targets!.map((t) => t.host), ['host2']);
    inst.unmount();
  });
});
