/**
 * What `reap` signals is exactly what it planned (plus descendants found while acting):
 * never a sibling in a target's process group, never a process the plan set aside, never a
 * parent of another user for its zombie's sake. A cont resumes only what was stopped. Each
 * test spawns its own processes and signals nothing else (selectors are exact pids).
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { executeReap } from '../../src/actions/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { spawn } from 'node:child_process';
import { CLI, cleanup, FIXTURES, isGone, PYTHON, runCli, spawnFixture, startTimeOf, stateOf, uniqueMarker } from '../helpers/reap-trees.js';

interface SiblingInfo {
  root: number;
  a: number;
  a1: number;
  b: number;
}
interface ReapDoc {
  plan: { targets: Array<{ pid: number }>; skipped: Array<{ pid: number; why: string }>; scope: string | null; warnings: string[] };
  results: Array<{ pid: number; outcome: string; why: string | null }>;
}

const pgidOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]);

async function groupWithSibling(t: { after(fn: () => void): void }) {
  const marker = uniqueMarker();
  const dir = mkdtempSync(join(tmpdir(), 'reaper-scope-'));
  const log = join(dir, 'b-signals.log');
  const f = await spawnFixture<SiblingInfo>([PYTHON, FIXTURES + 'group_sibling.py', marker, log]);
  t.after(() => {
    cleanup({ pgids: [f.info.a, f.pid], pids: [f.info.b, f.info.a1, f.info.a, f.pid], marker });
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });
  const { a, a1, b } = f.info;
  // The shape under test: b shares a's process group and is not in a's tree.
  assert.equal(pgidOf(a), a);
  assert.equal(pgidOf(a1), a);
  assert.equal(pgidOf(b), a);
  await waitFor(() => stateOf(a1) === 'S', { what: 'a1 asleep' });
  return { ...f.info, marker, log, starts: { a: startTimeOf(a), a1: startTimeOf(a1), b: startTimeOf(b) } };
}

describe('reap --pid A with a sibling in A\'s process group', () => {
  for (const signal of ['term', 'kill'] as const) {
    it(`--signal ${signal}: A's tree is gone; the sibling B is alive, never stopped, never signalled`, async (t) => {
      const g = await groupWithSibling(t);
      const dry = await runCli(['reap', '--pid', String(g.a), '--signal', signal, '--dry-run', '--json', '--gpus', 'none']);
      const plan = (JSON.parse(dry.stdout) as ReapDoc).plan;
      assert.deepEqual(plan.targets.map((x) => x.pid).sort(), [g.a, g.a1].sort(), 'the plan: A and its child');

      const res = await runCli(['reap', '--pid', String(g.a), '--signal', signal, '--grace', '1', '--yes', '--gpus', 'none']);
      assert.equal(res.code, 0, res.stderr + res.stdout);
      assert.ok(isGone(g.a, g.starts.a), 'A is gone');
      assert.ok(isGone(g.a1, g.starts.a1), "A's child is gone");
      assert.doesNotMatch(res.stdout, new RegExp(`(^|\\s)${g.b}(\\s|$)`, "m"), "B appears nowhere in the output");
      assert.ok(!isGone(g.b, g.starts.b), 'B is alive');
      assertNotStopped(g.b, 'B is not stopped');
      assert.ok(!existsSync(g.log), `B received ${existsSync(g.log) ? readFileSync(g.log, 'utf8').trim() : ''}`);
      // The confirmation says what is signalled: these, plus descendants found while acting.
      assert.match(plan.scope ?? '', /plus any descendant of them found while .*nothing else in their process groups/);
      assert.match(res.stdout, /scope: signals exactly these 2 processes/);
    });
  }
});

/** Untouched: sleeping or, on a busy machine, momentarily running; never stopped or gone. */
function assertNotStopped(pid: number, msg = `${pid} is not stopped`): void {
  const st = stateOf(pid);
  assert.ok(st === 'S' || st === 'R', `${msg} (state ${st})`);
}

describe('executor scope', () => {
  it("a process the plan set aside is never found while acting, though it is a target's child", async (t) => {
    const marker = uniqueMarker();
    const dir = mkdtempSync(join(tmpdir(), 'reaper-scope-'));
    const g = await spawnFixture<SiblingInfo>([PYTHON, FIXTURES + 'group_sibling.py', marker, join(dir, 'log')]);
    t.after(() => {
      cleanup({ pgids: [g.info.a, g.pid], pids: [g.info.b, g.info.a1, g.info.a, g.pid], marker });
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    });
    const a = { pid: g.info.a, startTime: startTimeOf(g.info.a) };
    const a1 = { pid: g.info.a1, startTime: startTimeOf(g.info.a1) };
    const results = await executeReap({
      action: 'kill',
      graceMs: 0,
      targets: [{ ...a, uid: process.getuid!(), user: null, stat: 'S', cmd: 'a', reasons: [] }],
      skipped: [{ ...a1, cmd: 'a1', why: 'protected (test)' }],
    });
    assert.deepEqual(results.map((r) => [r.pid, r.outcome]), [[a.pid, 'gone']]);
    assert.ok(!isGone(a1.pid, a1.startTime), 'the set-aside child is alive');
    assertNotStopped(a1.pid, 'and not stopped');
  });
});

describe('a daemon found while acting', () => {
  it("a target's child named like a system daemon (cron) is skipped, never signalled", async (t) => {
    const marker = uniqueMarker();
    const dir = mkdtempSync(join(tmpdir(), 'reaper-scope-'));
    // A copy of sleep whose kernel comm is "cron": the executor sees only what /proc says.
    copyFileSync('/bin/sleep', join(dir, 'cron'));
    chmodSync(join(dir, 'cron'), 0o755);
    const f = await spawnFixture<{ pid: number }>(['sh', '-c', `"${join(dir, 'cron')}" 3600 & printf '{"pid": %d}\\n' $!; wait`, marker]);
    t.after(() => {
      cleanup({ pgids: [f.pid], pids: [f.info.pid, f.pid], marker });
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    });
    await waitFor(() => readFileSync(`/proc/${f.info.pid}/comm`, 'utf8').trim() === 'cron' || null, { what: 'the child runs as cron' });
    const daemon = { pid: f.info.pid, startTime: startTimeOf(f.info.pid) };
    // Planned without the child (as a plan made a moment before it was forked): found by rescan.
    const sh = { pid: f.pid, startTime: startTimeOf(f.pid), uid: process.getuid!(), user: null, stat: 'S', cmd: 'sh', reasons: [] };
    const results = await executeReap({ action: 'kill', graceMs: 0, targets: [sh], skipped: [] });
    const by = new Map(results.map((r) => [r.pid, r]));
    assert.equal(by.get(sh.pid)?.outcome, 'gone');
    assert.equal(by.get(daemon.pid)?.outcome, 'skipped', JSON.stringify(results));
    assert.match(by.get(daemon.pid)!.why!, /a system daemon \(cron\): reaper never signals daemons/);
    assert.ok(!isGone(daemon.pid, daemon.startTime), 'the daemon-named child is alive');
    assertNotStopped(daemon.pid, 'and not stopped');
  });
});

describe('owner re-checked with the identity', () => {
  it('a target that changed user since the plan (su, a setuid program) is skipped and left alive (root only)', { skip: process.getuid?.() !== 0 ? 'needs root (the process changes user)' : false }, async (t) => {
    const marker = uniqueMarker();
    const src = [
      'import os, sys, time',
      'print(\'{"pid": %d}\' % os.getpid(), flush=True)',
      'time.sleep(0.3)',
      'os.setgid(65534); os.setuid(65534)',
      'time.sleep(3600)',
    ].join('\n');
    const f = await spawnFixture<{ pid: number }>([PYTHON, '-c', src, marker]);
    t.after(() => cleanup({ pgids: [f.pid], pids: [f.pid], marker }));
    // Planned while it was root's (as the snapshot saw it), acted on after it became nobody's.
    const planned = { pid: f.pid, startTime: startTimeOf(f.pid), uid: 0, user: 'root', stat: 'S', cmd: 'x', reasons: [] };
    await waitFor(() => /^Uid:\t65534\t/m.test(readFileSync(`/proc/${f.pid}/status`, 'utf8')), { what: 'user changed' });
    for (const action of ['kill', 'term', 'cont'] as const) {
      const results = await executeReap({ action, graceMs: 0, targets: [planned], skipped: [] });
      assert.deepEqual(results.map((r) => [r.pid, r.outcome]), [[f.pid, 'skipped']]);
      assert.match(results[0]!.why!, /^owner changed: planned as uid 0, now uid 65534; left alone$/);
      assert.ok(!isGone(f.pid, planned.startTime), 'alive');
      assertNotStopped(f.pid);
    }
  });
});

describe('teardown keeps its groups', () => {
  it("plan.groups (a run's own task groups): a member of the group that is not in the tree is found while acting", async (t) => {
    const g = await groupWithSibling(t);
    const results = await executeReap({
      action: 'kill',
      graceMs: 0,
      targets: [{ pid: g.a, startTime: g.starts.a, uid: process.getuid!(), user: null, stat: 'S', cmd: 'a', reasons: [] }],
      skipped: [],
      groups: [g.a],
    });
    const by = new Map(results.map((r) => [r.pid, r]));
    assert.equal(by.get(g.b)?.outcome, 'gone', JSON.stringify(results));
    assert.match(by.get(g.b)!.why!, /found while acting/);
    for (const [pid, start] of [[g.a, g.starts.a], [g.a1, g.starts.a1], [g.b, g.starts.b]] as const) assert.ok(isGone(pid, start), `${pid} gone`);
  });
});

describe('cont', () => {
  it('resumes the stopped member only; running members are "not-stopped", not counted as resumed', async (t) => {
    const marker = uniqueMarker();
    // parent (running) -> child that stops itself
    const src = [
      'import json, os, signal, sys, time',
      'c = os.fork()',
      'if c == 0:',
      '    os.kill(os.getpid(), signal.SIGSTOP)',
      '    time.sleep(3600)',
      '    os._exit(0)',
      'print(json.dumps({"child": c}), flush=True)',
      'time.sleep(3600)',
    ].join('\n');
    const f = await spawnFixture<{ child: number }>([PYTHON, '-c', src, marker]);
    t.after(() => cleanup({ pgids: [f.pid], pids: [f.info.child, f.pid], marker }));
    await waitFor(() => stateOf(f.info.child) === 'T', { what: 'child stopped' });
    const res = await runCli(['reap', '--pid', String(f.pid), '--signal', 'cont', '--yes', '--json', '--gpus', 'none']);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    const doc = JSON.parse(res.stdout) as ReapDoc;
    const by = new Map(doc.results.map((r) => [r.pid, r]));
    assert.equal(by.get(f.pid)?.outcome, 'not-stopped', JSON.stringify(doc.results));
    assert.equal(by.get(f.info.child)?.outcome, 'resumed', JSON.stringify(doc.results));
    await waitFor(() => stateOf(f.info.child) === 'S', { what: 'child running again' });

    // The text summary counts only what was stopped.
    const again = await runCli(['reap', '--pid', String(f.pid), '--signal', 'cont', '--yes', '--gpus', 'none']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /result: 2 not stopped \(left alone\)/);
    assert.doesNotMatch(again.stdout, /resumed/);
  });
});

describe('zombie parents', () => {
  it("--pid of a zombie whose parent is another user's: the parent is left alone (root only)", { skip: process.getuid?.() !== 0 ? 'needs root (a child that changes user before it exits)' : false }, async (t) => {
    const marker = uniqueMarker();
    const src = [
      'import json, os, time',
      'c = os.fork()',
      'if c == 0:',
      '    os.setgid(65534); os.setuid(65534)',
      '    os._exit(0)',
      'print(json.dumps({"zombie": c}), flush=True)',
      'time.sleep(3600)',
    ].join('\n');
    const f = await spawnFixture<{ zombie: number }>([PYTHON, '-c', src, marker]);
    t.after(() => cleanup({ pgids: [f.pid], pids: [f.pid], marker }));
    await waitFor(() => stateOf(f.info.zombie) === 'Z', { what: 'zombie' });
    const parentStart = startTimeOf(f.pid);
    const res = await runCli(['reap', '--pid', String(f.info.zombie), '--all-users', '--signal', 'kill', '--yes', '--json', '--gpus', 'none']);
    const doc = JSON.parse(res.stdout) as ReapDoc;
    assert.deepEqual(doc.plan.targets, []);
    assert.match(doc.plan.skipped.find((s) => s.pid === f.info.zombie)?.why ?? '', /belongs to root, not to the zombie's owner/);
    assert.ok(!isGone(f.pid, parentStart), 'the root-owned parent is alive');
    assertNotStopped(f.pid);
  });
});

describe('a selector that names nothing is bad input', () => {
  it('--pid of no process, --run of no run, --gpu of no GPU: one reaper: line, exit 2, nothing signalled', async (t) => {
    const marker = uniqueMarker();
    const d = await spawnFixture<{ pid: number }>([PYTHON, '-c', 'import os, time; print(\'{"pid": %d}\' % os.getpid(), flush=True); time.sleep(3600)', marker]);
    t.after(() => cleanup({ pgids: [d.pid], pids: [d.pid], marker }));
    const dStart = startTimeOf(d.pid);
    let missing = 32_000;
    while (existsSync(`/proc/${missing}`)) missing--;
    const cases: Array<[string[], RegExp]> = [
      [['--pid', String(missing)], new RegExp(`^reaper: --pid ${missing}: no such process$`)],
      [['--run', `${marker}-norun`], new RegExp(`^reaper: --run ${marker}-norun: no such run`)],
      [['--gpu', '7', '--gpus', 'sim:2', '--match', marker], /^reaper: --gpu 7: no such GPU \(GPUs here: 0, 1\)$/],
      [['--gpu', '0', '--gpus', 'none', '--match', marker], /^reaper: --gpu 0: no such GPU \(no GPU information with --gpus none\)$/],
    ];
    for (const [args, re] of cases) {
      for (const extra of [['--yes'], ['--dry-run', '--json']]) {
        const r = await runCli(['reap', ...args, '--signal', 'kill', ...extra, ...(args.includes('--gpus') ? [] : ['--gpus', 'none'])]);
        assert.equal(r.code, 2, `${args.join(' ')} ${extra.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.equal(r.stdout, '');
        const lines = r.stderr.trim().split('\n');
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0]!, re);
      }
    }
    assert.ok(!isGone(d.pid, dStart), 'the decoy selected by --match is alive');
    assertNotStopped(d.pid);
  });
});

describe('--pid of reaper\'s own shell', () => {
  it('the shell is skipped and so is its other job (the shell\'s tree is not taken); the job lives', { timeout: 60_000 }, async (t) => {
    const marker = uniqueMarker();
    // sh starts a job, then runs reaper (a child, not exec'd) naming sh itself: sh is reaper's ancestor.
    const script = `sleep 300 & echo "job $!"; "$0" "$1" reap --pid $$ --signal kill --yes --json --gpus none; echo "rc $?"; kill -0 $! && echo "job alive"; kill $! 2>/dev/null; :`;
    const out = await new Promise<string>((resolve, reject) => {
      const c = spawn('sh', ['-c', script, process.execPath, CLI, marker], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
      t.after(() => cleanup({ pgids: [c.pid!] }));
      let buf = '';
      c.stdout.on('data', (d: Buffer) => (buf += d.toString()));
      c.on('error', reject);
      c.on('close', () => resolve(buf));
    });
    const job = Number(/^job (\d+)$/m.exec(out)?.[1]);
    assert.ok(job > 0, out);
    assert.match(out, /^rc 0$/m, out);
    assert.match(out, /^job alive$/m, 'the shell\'s job was not signalled');
    const doc = JSON.parse(out.slice(out.indexOf('{'), out.lastIndexOf('}') + 1)) as { plan: { targets: Array<{ pid: number }>; warnings: string[] }; results: unknown[] };
    assert.deepEqual(doc.plan.targets, [], 'nothing planned');
    assert.deepEqual(doc.results, []);
    assert.ok(doc.plan.warnings.some((w) => /is protected \(an ancestor of reaper.*nothing below it is taken either/.test(w)), JSON.stringify(doc.plan.warnings));
  });
});
