/**
 * `reaper agent` as a remote client meets it, minus SSH: the built binary spawned with pipes,
 * read through the real client decoder. Every process signalled here is one this test started.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { PYTHON } from '../helpers/proc-tree.js';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AgentClient, type AgentClientError } from '../../src/remote/agent-client.js';
import type { HostView } from '../../src/remote/agent-delta.js';
import { parseAgentMessage, type WireResult } from '../../src/remote/protocol.js';
import { waitFor } from '../helpers/wait-for.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function startTimeOf(pid: number): number | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return null;
  }
}

function stateOf(pid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** Gone, or a zombie waiting for its reaper (init here reaps orphans every ~2 s). */
const goneOrZombie = (pid: number): boolean => {
  const s = stateOf(pid);
  return s === null || s === 'Z';
};

function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return Number(m?.[1] ?? 0);
}

interface Tree {
  readonly root: number;
  readonly kids: number[];
  readonly tag: string;
}

const trees: ChildProcess[] = [];

/** sh (own group) with two sleeps, tagged so the snapshot shows it. */
async function startTree(): Promise<Tree> {
  const tag = `agenttest-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const child = spawn('sh', ['-c', 'sleep 600 & sleep 600 & echo ready; wait', tag], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  trees.push(child);
  await new Promise<void>((r) => child.stdout!.once('data', () => r()));
  const root = child.pid!;
  const kids = await waitFor(() => {
    const k = spawnSync('pgrep', ['-P', String(root)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
    return k.length === 2 && k.every((p) => readFileSync(`/proc/${p}/cmdline`, 'latin1').startsWith('sleep')) ? k : null;
  }, { what: 'the two sleeps' });
  return { root, kids, tag };
}

function killTrees(): void {
  for (const c of trees) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

interface Agent {
  readonly child: ChildProcess;
  readonly client: AgentClient;
  readonly errors: AgentClientError[];
  readonly raw: string[];
  readonly exit: Promise<number | null>;
  latest(): HostView | null;
}

const agents: ChildProcess[] = [];

function startAgent(args: string[] = ['--interval', '200', '--gpus', 'none']): Agent {
  const child = spawn(process.execPath, [CLI, 'agent', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  agents.push(child);
  const client = AgentClient.fromChild(child, { helloTimeoutMs: 20_000 });
  const errors: AgentClientError[] = [];
  const raw: string[] = [];
  let view: HostView | null = null;
  client.on('error', (e) => errors.push(e));
  client.on('snapshot', (v) => (view = v));
  child.stdout!.on('data', (c: Buffer) => raw.push(c.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, client, errors, raw, exit, latest: () => view };
}

after(() => {
  killTrees();
  for (const a of agents) if (a.exitCode === null && a.signalCode === null) a.kill('SIGKILL');
});

describe('reaper agent over pipes', () => {
  let a: Agent;
  before(() => {
    a = startAgent();
  });
  after(() => {
    a.client.close();
  });

  it('says hello first: protocol, version, host, uid', async () => {
    const hello = await waitFor(() => a.client.hello, { timeoutMs: 20_000, what: 'hello' });
    assert.equal(hello.proto, 1);
    assert.equal(hello.host, hostname());
    assert.equal(hello.uid, process.getuid!());
    assert.equal(hello.pid, a.child.pid);
    assert.match(hello.reaperVersion, /^\d+\.\d+\.\d+/);
  });

  it("streams snapshots that include this test's process with its start time, and deltas keep the view current", async () => {
    const tree = await startTree();
    const st = startTimeOf(tree.root)!;
    // A scan that began before the sleeps were forked may show the root alone: wait for all three.
    const v = await waitFor(() => {
      const view = a.latest();
      const p = view?.processes.get(tree.root);
      return p && p.startTime === st && tree.kids.every((k) => view!.processes.get(k)?.ppid === tree.root) ? view : null;
    }, { timeoutMs: 20_000, what: 'the tree in a snapshot' });
    const p = v.processes.get(tree.root)!;
    assert.match(p.cmd, new RegExp(tree.tag));
    assert.equal(p.uid, process.getuid!());
    for (const k of tree.kids) assert.equal(v.processes.get(k)?.startTime, startTimeOf(k));
    // A delta (not only full snapshots) moved the view on since.
    await waitFor(() => a.raw.join('').includes('"type":"delta"'), { what: 'a delta' });
    process.kill(-tree.root, 'SIGKILL');
    await waitFor(() => goneOrZombie(tree.kids[0]!), { timeoutMs: 20_000, what: 'the kill' });
    await waitFor(() => !a.latest()?.processes.has(tree.kids[0]!) || a.latest()?.processes.get(tree.kids[0]!)?.state === 'Z', { timeoutMs: 20_000, what: 'the kill seen in the view' });
  });

  it('act kill on its own tree: every member gone from /proc, and the result says so', async () => {
    const tree = await startTree();
    const st = startTimeOf(tree.root)!;
    const results = await a.client.act([{ pid: tree.root, startTime: st }], 'kill');
    const byPid = new Map(results.map((r) => [r.pid, r]));
    for (const pid of [tree.root, ...tree.kids]) {
      assert.equal(byPid.get(pid)?.outcome, 'gone', JSON.stringify(results));
    }
    for (const pid of [tree.root, ...tree.kids]) await waitFor(() => stateOf(pid) === null, { timeoutMs: 15_000, what: `${pid} gone from /proc` });
  });

  it('act with a wrong start time is refused ("gone or reused") and the process is untouched', async () => {
    const tree = await startTree();
    const st = startTimeOf(tree.root)!;
    for (const action of ['kill', 'term'] as const) {
      const results = await a.client.act([{ pid: tree.root, startTime: st + 1 }], action);
      assert.equal(results.length, 1);
      assert.equal(results[0]!.outcome, 'refused');
      assert.match(results[0]!.detail ?? '', /gone or reused/);
    }
    assert.equal(startTimeOf(tree.root), st);
    assert.equal(stateOf(tree.root), 'S');
    for (const k of tree.kids) assert.equal(stateOf(k), 'S');
    process.kill(-tree.root, 'SIGKILL');
  });

  it('act on pid 1, the agent itself and its parent (this test) is refused by the local rules', async () => {
    const targets = [1, a.child.pid!, process.pid].map((pid) => ({ pid, startTime: startTimeOf(pid)! }));
    const results = await a.client.act(targets, 'kill');
    const why = (pid: number): WireResult | undefined => results.find((r) => r.pid === pid);
    assert.equal(why(1)?.outcome, 'refused');
    assert.match(why(1)?.detail ?? '', /pid 1/);
    assert.equal(why(a.child.pid!)?.outcome, 'refused');
    assert.match(why(a.child.pid!)?.detail ?? '', /reaper itself/);
    assert.equal(why(process.pid)?.outcome, 'refused');
    assert.match(why(process.pid)?.detail ?? '', /ancestor of reaper/);
    assert.ok(results.every((r) => r.outcome === 'refused'), JSON.stringify(results));
    assert.equal(a.child.exitCode, null, 'the agent still runs');
    assert.notEqual(stateOf(a.child.pid!), 'T');
  });

  it('garbage and a 64 MB line on stdin: one error each, memory stays bounded, and it keeps serving', async () => {
    const before = rssKiB(a.child.pid!);
    const stdin = a.child.stdin!;
    stdin.write('this is not json\n');
    stdin.write('{"type":"act","id":"x","targets":"all","action":"kill"}\n');
    const chunk = Buffer.alloc(1024 * 1024, 0x41);
    for (let i = 0; i < 64; i++) {
      if (!stdin.write(chunk)) await new Promise((r) => stdin.once('drain', r));
    }
    stdin.write('\n');
    await waitFor(() => a.errors.filter((e) => e.kind === 'remote').length >= 3, { timeoutMs: 20_000, what: 'three error replies' });
    const kinds = a.errors.filter((e) => e.kind === 'remote').map((e) => e.message.split(':')[0]);
    assert.deepEqual(kinds.slice(0, 3), ['bad-json', 'bad-message', 'oversized']);
    const grew = rssKiB(a.child.pid!) - before;
    assert.ok(grew < 48 * 1024, `RSS grew by ${grew} KiB after a 64 MB line`);
    const seq = a.latest()!.seq;
    await waitFor(() => (a.latest()?.seq ?? 0) > seq + 1, { what: 'snapshots after the garbage' });
    assert.equal(a.child.exitCode, null);
  });

  it('refresh: a full snapshot comes back at once', async () => {
    const fulls = (): number => a.raw.join('').split('"type":"snapshot"').length - 1;
    const n = fulls();
    a.client.refresh();
    await waitFor(() => fulls() > n, { what: 'a full snapshot after refresh' });
  });
});

describe('reaper agent lifetime', () => {
  it('exits 0 when stdin closes (the SSH connection dropped), leaving no child behind', async () => {
    const a = startAgent(['--interval', '200', '--gpus', 'sim:2']);
    await waitFor(() => a.latest(), { timeoutMs: 20_000, what: 'a first snapshot' });
    const pid = a.child.pid!;
    a.child.stdin!.end();
    assert.equal(await a.exit, 0);
    const orphans = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.trim();
    assert.equal(orphans, '');
  });

  for (const drop of ['stdin closes', 'SIGHUP arrives'] as const) it(`${drop} during an act: the act finishes (nothing left stopped or alive), its result is sent, then exit 0`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-term-'));
    const flag = join(dir, 'got-term');
    // Catches SIGTERM (writes the flag) and goes on: the term ladder must wait its grace, then SIGKILL.
    const py = spawn(PYTHON, ['-c', 'import signal,sys,time\nsignal.signal(signal.SIGTERM, lambda *a: open(sys.argv[1], "w").close())\nprint("ready", flush=True)\nwhile True: time.sleep(600)', flag], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    trees.push(py);
    await new Promise<void>((r) => py.stdout!.once('data', () => r()));
    const pid = py.pid!;
    const a = startAgent();
    try {
      await waitFor(() => a.client.hello, { timeoutMs: 20_000, what: 'hello' });
      a.child.stdin!.write(JSON.stringify({ type: 'act', id: 'late', targets: [{ pid, startTime: startTimeOf(pid) }], action: 'term', graceMs: 1500 }) + '\n');
      await waitFor(() => existsSync(flag), { timeoutMs: 20_000, what: 'SIGTERM delivered' });
      // The SSH connection drops mid-ladder (sshd closes the pipes, or hangs up a pty session).
      if (drop === 'stdin closes') a.child.stdin!.end();
      else a.child.kill('SIGHUP');
      assert.equal(stateOf(pid) !== null && stateOf(pid) !== 'Z', true, 'still alive during the grace period');
      assert.equal(await a.exit, 0);
      await waitFor(() => stateOf(pid) === null, { timeoutMs: 10_000, what: 'the target gone' });
      const result = a.raw.join('').split('\n').map(parseAgentMessage).find((m) => m.ok && m.msg.type === 'result');
      assert.ok(result?.ok && result.msg.type === 'result' && result.msg.id === 'late' && result.msg.results[0]?.outcome === 'gone', JSON.stringify(result));
    } finally {
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    }
  });

  it('exits 0 on bye', async () => {
    const a = startAgent();
    await waitFor(() => a.client.hello, { timeoutMs: 20_000, what: 'hello' });
    a.child.stdin!.write('{"type":"bye"}\n');
    assert.equal(await a.exit, 0);
  });

  it('--once: hello and one full snapshot, then exit 0', () => {
    const r = spawnSync(process.execPath, [CLI, 'agent', '--once', '--gpus', 'none'], { encoding: 'utf8', timeout: 60_000, input: '' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map(parseAgentMessage);
    assert.deepEqual(lines.map((l) => (l.ok ? l.msg.type : l.message)), ['hello', 'snapshot']);
    const snap = lines[1]!.ok && lines[1]!.msg.type === 'snapshot' ? lines[1]!.msg : null;
    assert.ok(snap?.processes.some((p) => p.pid === process.pid));
  });

  it('--help exits 0; a bad flag is one reaper: line and exit 2', () => {
    const h = spawnSync(process.execPath, [CLI, 'agent', '--help'], { encoding: 'utf8' });
    assert.equal(h.status, 0);
    assert.match(h.stdout, /--interval MS/);
    const b = spawnSync(process.execPath, [CLI, 'agent', '--interval', '5'], { encoding: 'utf8' });
    assert.equal(b.status, 2);
    assert.match(b.stderr, /^reaper: --interval must be >= 100/);
    assert.equal(b.stderr.trim().split('\n').length, 1);
    assert.equal(b.stdout, '');
  });
});
