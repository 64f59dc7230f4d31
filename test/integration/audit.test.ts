/**
 * The audit log against real processes, real signals and real files: every process reaper
 * signals gets exactly one intent line (before) and one outcome line (after) in the user's log
 * (and, as root, the system log and syslog); a dry run writes nothing; a planted link or an
 * unwritable log never stops a confirmed kill; a launcher timeout's teardown names its run and
 * task; and `reaper log` reads it back, filtered, skipping planted lines.
 * syslog is not running on the test machines (no /dev/log): a `logger` stub first on PATH
 * records its argv and input, so only the syslog side is a stand-in; everything else is real.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { AuditRecord } from '../../src/actions/audit.js';
import { createLiveActions } from '../../src/cli/commands/top.js';
import { prepareOtherUserKit } from '../helpers/other-user-kit.js';
import { asUser, cleanup, createTestUser, deleteTestUser, isGone, PYTHON, runCli, spawnFixture, startTimeOf, uniqueMarker, type User } from '../helpers/reap-trees.js';
import { cleanupRun, killGuardianOf, markerPids, startCli } from '../helpers/launch-run.js';
import { waitFor } from '../helpers/wait-for.js';

const isRoot = process.getuid?.() === 0;
const SLEEPER = 'import os, sys, time; print(\'{"pid": %d}\' % os.getpid(), flush=True); time.sleep(3600)';

interface Tree {
  readonly root: number;
  readonly pids: number[];
  readonly starts: number[];
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const st = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** sh with two sleeping children, in its own process group; killed after the test whatever happens. */
async function spawnTree(t: TestContext, tag: string): Promise<Tree> {
  const child = spawn('sh', ['-c', 'sleep 1000 & sleep 1000 & wait', tag], { detached: true, stdio: 'ignore' });
  child.unref();
  const root = child.pid!;
  t.after(() => cleanup({ pgids: [root] }));
  const kids = await waitFor(() => {
    const k = childrenOf(root);
    return k.length === 2 ? k : null;
  }, { what: 'two children' });
  const pids = [root, ...kids];
  return { root, pids, starts: pids.map(startTimeOf) };
}

interface Sandbox {
  readonly dir: string;
  readonly userLog: string;
  readonly systemLog: string;
  readonly loggerOut: string;
  readonly env: NodeJS.ProcessEnv;
}

/** A state folder, a system-log path and a `logger` stub, all in a fresh temp folder. */
function sandbox(t: TestContext, owner?: User): Sandbox {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'reaper-audit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
  chmodSync(dir, 0o755);
  const state = path.join(dir, 'state');
  mkdirSync(state, { mode: 0o755 });
  if (owner) chownSync(state, owner.uid, owner.gid);
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { mode: 0o755 });
  const loggerOut = path.join(dir, 'logger.out');
  writeFileSync(path.join(bin, 'logger'), `#!/bin/sh\n{ printf 'ARGV:'; printf ' %s' "$@"; printf '\\n'; cat; } >> '${loggerOut}'\n`, { mode: 0o755 });
  return {
    dir,
    userLog: path.join(state, 'reaper', 'audit.jsonl'),
    systemLog: path.join(dir, 'var-log-reaper', 'audit.jsonl'),
    loggerOut,
    env: { XDG_STATE_HOME: state, HOME: state, REAPER_AUDIT_SYSTEM: path.join(dir, 'var-log-reaper', 'audit.jsonl'), PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` },
  };
}

function readRecords(file: string): AuditRecord[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as AuditRecord);
}

/** Exactly one intent and, after it, one outcome per pid, with the same id; returns the outcomes. */
function onePairPerPid(records: readonly AuditRecord[], pids: readonly number[]): Map<number, AuditRecord> {
  const out = new Map<number, AuditRecord>();
  assert.deepEqual([...new Set(records.map((r) => r.pid))].sort(), [...pids].sort(), 'the log names exactly the signalled processes');
  for (const pid of pids) {
    const mine = records.filter((r) => r.pid === pid);
    assert.deepEqual(mine.map((r) => r.phase), ['intent', 'outcome'], `pid ${pid}: one intent, then one outcome`);
    assert.equal(mine[0]!.id, mine[1]!.id, `pid ${pid}: same entry id`);
    out.set(pid, mine[1]!);
  }
  return out;
}

/** What the logger stub recorded, once it holds every needle (it runs detached, after reaper). */
function loggerSaid(sb: Sandbox, needles: readonly string[]): string | null {
  const text = existsSync(sb.loggerOut) ? readFileSync(sb.loggerOut, 'utf8') : '';
  return needles.every((n) => text.includes(n)) ? text : null;
}

const modeOf = (p: string): number => statSync(p).mode & 0o777;

describe('audit log: reap', () => {
  it('reap --pid of our own tree --yes: one intent + one outcome per process, gone in /proc too; --dry-run writes nothing', async (t) => {
    const sb = sandbox(t);
    const tree = await spawnTree(t, uniqueMarker());
    const dry = await runCli(['reap', '--pid', String(tree.root), '--signal', 'kill', '--dry-run', '--gpus', 'none'], { env: sb.env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.ok(!existsSync(sb.userLog) && !existsSync(sb.systemLog), 'a dry run sends nothing and writes nothing');
    assert.ok(tree.pids.every((p, i) => !isGone(p, tree.starts[i]!)), 'still alive after the dry run');

    const res = await runCli(['reap', '--pid', String(tree.root), '--signal', 'kill', '--yes', '--gpus', 'none'], { env: sb.env });
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.doesNotMatch(res.stderr, /audit/);
    await waitFor(() => tree.pids.every((p, i) => isGone(p, tree.starts[i]!)), { what: 'tree gone' });
    const outcomes = onePairPerPid(readRecords(sb.userLog), tree.pids);
    for (const [pid, r] of outcomes) {
      assert.equal(r.outcome, 'gone', `pid ${pid}`);
      assert.ok(r.sent!.includes('SIGKILL'), `pid ${pid} sent: ${r.sent}`);
      assert.equal(r.signal, 'SIGKILL');
      assert.equal(r.asked, `reap --pid ${tree.root} --signal kill --gpus none`);
      assert.deepEqual(r.reasons, [`selected by pid ${tree.root}`]);
      assert.equal(r.by.uid, process.getuid!());
      assert.equal(r.owner.uid, process.getuid!());
      assert.equal(r.start, tree.starts[tree.pids.indexOf(pid)]);
      assert.equal(r.host, os.hostname());
    }
    assert.equal(modeOf(sb.userLog), 0o600);
    assert.equal(modeOf(path.dirname(sb.userLog)), 0o700);
    if (isRoot) {
      // Root: the system-wide log holds the same lines, and each finished entry went to syslog.
      assert.deepEqual(readRecords(sb.systemLog), readRecords(sb.userLog));
      const logged = await waitFor(() => loggerSaid(sb, tree.pids.map((p) => `pid ${p}(`)), { what: 'logger called' });
      assert.match(logged, /^ARGV: -t reaper -p authpriv\.notice\n/);
      for (const pid of tree.pids) assert.match(logged, new RegExp(`SIGKILL pid ${pid}\\(root\\) .*: gone; reasons: selected by pid ${tree.root}; id=[0-9a-f]{16}`));
    }
  });

  it('a symbolic link planted at the log path is not followed: nothing written through it, the kill still happens, one warning', async (t) => {
    const sb = sandbox(t);
    mkdirSync(path.dirname(sb.userLog), { recursive: true, mode: 0o700 });
    const victim = path.join(sb.dir, 'victim');
    writeFileSync(victim, 'precious\n', { mode: 0o600 });
    symlinkSync(victim, sb.userLog);
    const tree = await spawnTree(t, uniqueMarker());
    const res = await runCli(['reap', '--pid', String(tree.root), '--signal', 'kill', '--yes', '--json', '--gpus', 'none'], { env: sb.env });
    assert.equal(res.code, 0, res.stderr);
    await waitFor(() => tree.pids.every((p, i) => isGone(p, tree.starts[i]!)), { what: 'tree gone' });
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n', 'nothing written through the link');
    assert.ok(lstatSync(sb.userLog).isSymbolicLink());
    const warnings = res.stderr.split('\n').filter((l) => l.includes('cannot write the audit log'));
    assert.equal(warnings.length, 1, res.stderr);
    assert.match(warnings[0]!, new RegExp(`^reaper: cannot write the audit log ${sb.userLog}: it is a symbolic link: not followed; signals are sent all the same`));
    const doc = JSON.parse(res.stdout) as { results: Array<{ outcome: string }>; auditProblems: string[] };
    assert.ok(doc.results.every((r) => r.outcome === 'gone'));
    assert.equal(doc.auditProblems.length, 1, 'the failure is in the result too');
  });

  for (const how of ['a folder where the file should be', 'a folder others may write'] as const) {
    it(`an unwritable log (${how}): the kill goes on, the failure is reported once`, async (t) => {
      const sb = sandbox(t);
      if (how === 'a folder where the file should be') mkdirSync(sb.userLog, { recursive: true, mode: 0o700 });
      else {
        mkdirSync(path.dirname(sb.userLog), { recursive: true });
        chmodSync(path.dirname(sb.userLog), 0o777);
      }
      const tree = await spawnTree(t, uniqueMarker());
      const res = await runCli(['reap', '--pid', String(tree.root), '--signal', 'term', '--yes', '--gpus', 'none'], { env: sb.env });
      assert.equal(res.code, 0, res.stdout + res.stderr);
      await waitFor(() => tree.pids.every((p, i) => isGone(p, tree.starts[i]!)), { what: 'tree gone' });
      const warnings = res.stderr.split('\n').filter((l) => l.includes('cannot write the audit log'));
      assert.equal(warnings.length, 1, res.stderr);
      assert.match(warnings[0]!, how === 'a folder where the file should be' ? /it is a folder|EISDIR/ : /writable by group or others/);
      if (how === 'a folder others may write') assert.ok(!existsSync(sb.userLog), 'nothing created in a folder others may write');
    });
  }
});

describe('audit log: a full disk', { skip: !isRoot ? 'needs root (mounts a tiny tmpfs)' : false }, () => {
  it('the state disk is full: the confirmed kill goes on, the failure is reported once, on stderr and in the result', async (t) => {
    const sb = sandbox(t);
    const state = sb.env.XDG_STATE_HOME!;
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k,mode=0755', 'tmpfs', state]).status !== 0) return t.skip('cannot mount a tmpfs here');
    // Unmounted in the test itself: after-hooks run in order, and the sandbox's removal comes first.
    try {
      await fullDisk(t, sb);
    } finally {
      spawnSync('umount', [state]);
    }
  });
});

/** Fills the state disk (a 16 KiB tmpfs), then reaps our own tree. */
async function fullDisk(t: TestContext, sb: Sandbox): Promise<void> {
  mkdirSync(path.dirname(sb.userLog), { mode: 0o700 });
  spawnSync('sh', ['-c', `cat /dev/zero > '${path.join(path.dirname(sb.userLog), 'fill')}'`]); // ENOSPC ends it
  const tree = await spawnTree(t, uniqueMarker());
  const res = await runCli(['reap', '--pid', String(tree.root), '--signal', 'kill', '--yes', '--json', '--gpus', 'none'], { env: sb.env });
  assert.equal(res.code, 0, res.stdout + res.stderr);
  await waitFor(() => tree.pids.every((p, i) => isGone(p, tree.starts[i]!)), { what: 'tree gone' });
  const warnings = res.stderr.split('\n').filter((l) => l.includes('cannot write the audit log'));
  assert.equal(warnings.length, 1, res.stderr);
  assert.match(warnings[0]!, /no space left on the device/);
  const doc = JSON.parse(res.stdout) as { results: Array<{ outcome: string }>; auditProblems: string[] };
  assert.deepEqual(doc.results.map((r) => r.outcome), ['gone', 'gone', 'gone']);
  assert.match(doc.auditProblems[0]!, /no space left/);
  // The system log (another disk) still has every entry.
  onePairPerPid(readRecords(sb.systemLog), tree.pids);
}

describe('audit log: launcher teardown', () => {
  it('a stage timeout: the teardown entries name the run and the task, and every process is gone', { timeout: 90_000 }, async (t) => {
    const sb = sandbox(t);
    const tag = uniqueMarker();
    const res = await runCli(['run', '--gpus', 'sim:1', '--timeout', '1s', '--json', '--', 'sh', '-c', 'sleep 100 & exec sleep 101', tag], { env: sb.env, timeoutMs: 60_000 });
    t.after(() => cleanup({ marker: tag }));
    assert.equal(res.code, 124, res.stdout.slice(-800) + res.stderr);
    const start = res.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { ev: string; run?: string })
      .find((e) => e.ev === 'run-start');
    const runId = start!.run!;
    const records = readRecords(sb.userLog).filter((r) => r.run === runId);
    assert.ok(records.length >= 4, `at least the driver and its child, intent + outcome: ${JSON.stringify(records)}`);
    const ids = new Set(records.map((r) => r.id));
    for (const id of ids) {
      // Signalled: intent, then outcome. Left alone (already gone when its turn came): one outcome, nothing sent.
      const mine = records.filter((r) => r.id === id);
      if (mine.length === 1) assert.deepEqual([mine[0]!.phase, mine[0]!.sent], ['outcome', []], `entry ${id}`);
      else assert.deepEqual(mine.map((r) => r.phase), ['intent', 'outcome'], `entry ${id}`);
    }
    const timeout = records.filter((r) => r.phase === 'outcome' && /^teardown of run \S+ task \S+ \S+: timeout 1(\.0)? ?s/.test(r.asked));
    assert.ok(timeout.length >= 2, `the timeout's teardown: ${records.map((r) => r.asked).join(' | ')}`);
    for (const r of timeout) {
      assert.ok(r.task && r.asked.includes(`task ${r.task}`), r.asked);
      assert.equal(r.outcome, 'gone', JSON.stringify(r));
      assert.equal(r.signal, 'SIGTERM');
    }
    assert.ok(timeout.some((r) => r.cmd.includes('sleep 101')) && timeout.some((r) => r.cmd.includes('sleep 100')), JSON.stringify(timeout.map((r) => r.cmd)));
    for (const r of timeout) assert.ok(isGone(r.pid!, r.start!), `pid ${r.pid} gone`);

    const shown = await runCli(['log', '--run', runId], { env: sb.env });
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(shown.stdout.trim().split('\n').length, ids.size, shown.stdout);
    assert.match(shown.stdout, /\[teardown of run \S+ task \S+ \S+: timeout [^\]]*\]  pid \d+\(\w+\) sleep 101  SIGTERM  gone/);
  });

  it('cgroup.kill is logged per member: an escapee without marker or group, killed with its stage cgroup', { timeout: 90_000 }, async (t) => {
    const sb = sandbox(t);
    const tag = uniqueMarker();
    // The stage leader exits at once; its `env -i setsid` child is left in the stage's cgroup only.
    const res = await runCli(['run', '--gpus', 'sim:1', '--json', '--', 'sh', '-c', `env -i setsid sh -c 'sleep 300; :' ${tag} </dev/null >/dev/null 2>&1 & sleep 0.5`], { env: { ...sb.env, REAPER_CONTAINMENT: 'no-pidns' }, timeoutMs: 60_000 }); // a PID namespace would end it with its leader
    t.after(() => cleanup({ marker: tag }));
    const events = res.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { ev: string; run?: string; layers?: Array<{ id: string; active: boolean }> });
    const layers = events.find((e) => e.ev === 'containment')?.layers ?? [];
    if (!layers.some((l) => l.id === 'cgroup' && l.active)) return t.skip('no cgroup v2 layer on this machine');
    assert.equal(res.code, 0, res.stdout.slice(-800) + res.stderr);
    const runId = events.find((e) => e.ev === 'run-start')!.run!;
    const killed = readRecords(sb.userLog).filter((r) => r.run === runId && r.via?.startsWith('cgroup.kill '));
    const sleeper = killed.filter((r) => r.cmd === `sh -c sleep 300; : ${tag}`);
    assert.deepEqual(sleeper.map((r) => r.phase), ['intent', 'outcome'], JSON.stringify(killed));
    const out = sleeper[1]!;
    assert.equal(out.outcome, 'gone');
    assert.deepEqual(out.sent, ['SIGKILL (cgroup.kill)']);
    assert.match(out.via!, new RegExp(`^cgroup\\.kill /.*/${runId}/t0-`));
    assert.match(out.asked, new RegExp(`^teardown of run ${runId} task 0 \\S+: left behind after the stage exited$`));
    assert.ok(isGone(out.pid!, out.start!));
  });

  // Ctrl+C, the launcher killed (its guardian tears down) and `reaper stop`: each names itself.
  const ASKED: Record<string, (runId: string, launcher: number) => RegExp> = {
    SIGINT: (id) => new RegExp(`^teardown of run ${id}: interrupted by SIGINT$`),
    SIGKILL: (id, launcher) => new RegExp(`^guardian of run ${id}: launcher ${launcher} died$`),
    stop: (id) => new RegExp(`^stop ${id}$`),
    keyS: () => /^key S \(reaper top\)$/,
  };
  for (const how of ['SIGINT', 'SIGKILL', 'stop', 'keyS'] as const) {
    const title = { SIGKILL: 'the launcher killed: the guardian', stop: 'reaper stop', keyS: "the screen's S key (its actions object, in-process)", SIGINT: 'Ctrl+C (SIGINT)' }[how];
    it(`${title} logs its teardown`, { timeout: 90_000 }, async (t) => {
      const sb = sandbox(t);
      const tag = uniqueMarker();
      // Without pdeathsig, so that the kernel does not kill the tasks with the launcher: the guardian must.
      const env = how === 'SIGKILL' ? { ...sb.env, REAPER_CONTAINMENT: 'no-pdeathsig' } : sb.env;
      const run = startCli(['run', '--gpus', 'sim:1', '--json', '--', 'sh', '-c', 'sleep 100 & exec sleep 101', tag], { env });
      let runId: string | null = null;
      const state = sb.env.XDG_STATE_HOME!;
      t.after(() => {
        cleanupRun(run, runId);
        if (runId) killGuardianOf(state, runId);
        cleanup({ marker: tag });
      });
      await run.waitEvent((e) => e.ev === 'task-start', 20_000, 'task-start');
      runId = run.runId();
      // The command itself, not only its wrappers: as an unprivileged user the stage starts
      // under unshare and a namespace init, which carry the marker before sh has run.
      const argvOf = (pid: number): string => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
        } catch {
          return '';
        }
      };
      await waitFor(() => markerPids(runId!).some((pid) => argvOf(pid) === 'sleep 101'), { what: 'the task running (sleep 101)' });
      if (how === 'stop') {
        const r = await runCli(['stop', runId!], { env: sb.env, timeoutMs: 60_000 });
        assert.equal(r.code, 0, r.stdout + r.stderr);
      } else if (how === 'keyS') {
        // What S does once confirmed: the screen's actions object, which reads its state folder
        // and audit log from this process's environment.
        const saved = { ...process.env };
        Object.assign(process.env, sb.env);
        try {
          const actions = createLiveActions({ gpus: { kind: 'none' }, intervalMs: 1000, allUsers: false, readonly: false, batchFile: null }, { signal: async () => [], refresh: () => undefined });
          assert.match(await actions.stop(runId!), new RegExp(`^stop ${runId}: torn down by the launcher`));
        } finally {
          for (const k of Object.keys(sb.env)) delete process.env[k];
          Object.assign(process.env, saved);
        }
      } else process.kill(run.pid, how);
      await run.exit;
      await waitFor(() => markerPids(runId!).length === 0, { timeoutMs: 20_000, what: 'no survivors' });
      const asked = ASKED[how]!(runId!, run.pid);
      const records = await waitFor(() => {
        // Every entry of that teardown finished (the guardian writes while the test looks).
        const rs = existsSync(sb.userLog) ? readRecords(sb.userLog).filter((r) => asked.test(r.asked)) : [];
        const outcomes = rs.filter((r) => r.phase === 'outcome');
        return outcomes.length > 0 && rs.filter((r) => r.phase === 'intent').every((i) => outcomes.some((o) => o.id === i.id)) ? outcomes : null;
      }, { timeoutMs: 20_000, what: `entries asked by ${asked} in ${existsSync(sb.userLog) ? readFileSync(sb.userLog, 'utf8') : 'no log'}` });
      for (const r of records) {
        assert.equal(r.run, runId);
        assert.equal(r.outcome, 'gone', JSON.stringify(r));
        assert.ok(isGone(r.pid!, r.start!), `pid ${r.pid} gone`);
      }
      if (how === 'stop' || how === 'keyS') {
        // `stop` signals the launcher, which tears its run down itself.
        assert.deepEqual(records.map((r) => [r.pid, r.reasons, r.sent]), [[run.pid, [`launcher of run ${runId}`], ['SIGCONT', 'SIGTERM']]]);
        assert.ok(readRecords(sb.userLog).some((r) => r.asked === `teardown of run ${runId}: interrupted by SIGTERM` && r.cmd.includes('sleep 101')));
      } else assert.ok(records.some((r) => r.cmd.includes('sleep 101')), JSON.stringify(records));
    });
  }
});

/** A valid record, as reaper writes it, for the reader tests. */
function record(over: Partial<AuditRecord> & { pid: number }): AuditRecord {
  return {
    v: 1,
    id: 'a1b2c3d4e5f60718',
    phase: 'outcome',
    t: '2020-01-02T03:04:05.000Z',
    host: 'gpu7',
    by: { uid: 0, user: 'root', sudoUser: 'admin', sudoUid: 1001 },
    asked: 'reap --leftovers',
    run: '20200102-030405-abcd',
    start: 12345,
    owner: { uid: 4242, user: 'alice' },
    cmd: 'python3 train.py',
    reasons: ['orphaned-batch'],
    signal: 'SIGKILL',
    outcome: 'gone',
    detail: 'killed (SIGKILL)',
    sent: ['SIGSTOP', 'SIGKILL'],
    ...over,
  } as AuditRecord;
}

describe('reaper log', () => {
  it('--pid, --user, --run, --since, --limit and --json filter what two real reaps and an old entry wrote', async (t) => {
    const sb = sandbox(t);
    const a = await spawnTree(t, uniqueMarker());
    const b = await spawnTree(t, uniqueMarker());
    for (const tree of [a, b]) {
      const r = await runCli(['reap', '--pid', String(tree.root), '--signal', 'kill', '--yes', '--gpus', 'none'], { env: sb.env });
      assert.equal(r.code, 0, r.stderr);
    }
    // An old entry (another user's process, another run), appended as reaper writes lines.
    writeFileSync(sb.userLog, readFileSync(sb.userLog, 'utf8') + JSON.stringify(record({ pid: 4242 })) + '\n');
    const json = async (...args: string[]): Promise<Array<{ pid: number; run: string | null; outcome: string }>> => {
      const r = await runCli(['log', '--json', ...args], { env: sb.env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      return (JSON.parse(r.stdout) as { entries: Array<{ pid: number; run: string | null; outcome: string }> }).entries;
    };
    const all = await json();
    assert.equal(all.length, 7);
    assert.deepEqual(all.map((e) => e.pid)[0], 4242, 'oldest first');
    assert.deepEqual((await json('--pid', String(a.pids[1]))).map((e) => e.pid), [a.pids[1]]);
    assert.deepEqual((await json('--run', '20200102-030405-abcd')).map((e) => e.pid), [4242]);
    assert.deepEqual((await json('--user', 'alice')).map((e) => e.pid), [4242]);
    assert.deepEqual((await json('--user', 'admin')).map((e) => e.pid), [4242], 'who asked through sudo');
    const me = os.userInfo().username;
    // --user matches the owner or who asked: root asked for the old entry too.
    assert.deepEqual((await json('--user', me)).map((e) => e.pid).sort(), [...a.pids, ...b.pids, ...(me === 'root' ? [4242] : [])].sort());
    assert.equal((await json('--since', '1h')).length, 6);
    assert.equal((await json('--since', '2020-01-01')).length, 7);
    assert.equal((await json('--since', '2099-01-01T00:00Z')).length, 0);
    assert.deepEqual((await json('--limit', '2')).map((e) => e.pid), (await json()).slice(-2).map((e) => e.pid));

    const text = await runCli(['log', '--pid', String(b.root)], { env: sb.env });
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ  ${me}  \\[reap --pid ${b.root} --signal kill --gpus none\\]  pid ${b.root}\\(${me}\\) sh -c sleep 1000 & sleep 1000 & wait \\S+  SIGKILL  gone  reasons: selected by pid ${b.root}$`));
    const old = await runCli(['log', '--user', 'alice'], { env: sb.env });
    assert.equal(old.stdout, '2020-01-02 03:04:05Z  root via sudo admin  [reap --leftovers]  pid 4242(alice) python3 train.py  SIGKILL  gone  reasons: orphaned-batch\n');

    for (const bad of [['--since', 'yesterday'], ['--pid', 'x'], ['--user', 'a b'], ['stray']]) {
      const r = await runCli(['log', ...bad], { env: sb.env });
      assert.equal(r.code, 2, bad.join(' '));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^reaper: [^\n]*\n$/);
    }
  });

  it('corrupt and planted lines are skipped with one warning each and trusted for nothing', async (t) => {
    const sb = sandbox(t);
    mkdirSync(path.dirname(sb.userLog), { recursive: true, mode: 0o700 });
    const good = record({ pid: 500 });
    const lines = [
      JSON.stringify(good), // 1
      '{"v":1,"id":"', // 2: not JSON
      JSON.stringify({ ...record({ pid: 501 }), pid: '501' }), // 3: wrong type
      JSON.stringify(record({ pid: 502, id: 'b1b2c3d4e5f60718', cmd: 'evil \u001b]0;owned\u0007 \u001b[2J' })), // 4: control characters
      JSON.stringify(record({ pid: 503, id: 'c1b2c3d4e5f60718', cmd: 'x'.repeat(300), detail: 'y'.repeat(9000) })), // 5: over-long
      JSON.stringify({ ...record({ pid: 504, id: 'd1b2c3d4e5f60718' }), admin: true }), // 6: unknown field
      JSON.stringify({ ...good, phase: 'intent', outcome: undefined, detail: undefined, sent: undefined, pid: 9999 }), // 7: contradicts entry 1
      JSON.stringify(record({ pid: 505, id: 'e1b2c3d4e5f60718', outcome: 'pardoned' as never })), // 8: unknown outcome
    ];
    writeFileSync(sb.userLog, lines.join('\n') + '\n' + JSON.stringify(record({ pid: 506, id: 'f1b2c3d4e5f60718' })), { mode: 0o600 }); // 9: no newline
    const r = await runCli(['log', '--json', '--since', '2019-01-01'], { env: sb.env });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { skipped: number; entries: Array<{ pid: number; outcome: string | null }> };
    assert.deepEqual(doc.entries.map((e) => [e.pid, e.outcome]), [[500, 'gone']], 'only the good line, unchanged by the line that claims its id');
    const warns = r.stderr.trim().split('\n');
    const at = (n: number, why: RegExp): void => assert.ok(warns.some((w) => w.startsWith(`reaper: ${sb.userLog}:${n}: skipped: `) && why.test(w)), `line ${n}: ${r.stderr}`);
    at(2, /not JSON/);
    at(3, /bad pid/);
    at(4, /cmd has control characters/);
    at(5, /longer than 8192/);
    at(6, /unknown field "admin"/);
    at(8, /bad outcome/);
    at(9, /incomplete last line/);
    assert.ok(warns.some((w) => /entry a1b2c3d4e5f60718: its intent line names another process/.test(w)), r.stderr);
    assert.equal(warns.length, 8, r.stderr);
    assert.equal(doc.skipped, 7);
    const text = await runCli(['log', '--since', '2019-01-01'], { env: sb.env });
    assert.ok(!text.stdout.includes('\u001b') && !text.stdout.includes('owned') && !text.stdout.includes('9999'), text.stdout);
  });
});

describe('audit log: root and another user', { skip: !isRoot ? 'needs root (another user, the system log)' : false }, () => {
  let user: User | null = null;
  before(async () => {
    user = createTestUser();
    await prepareOtherUserKit();
  });
  after(() => deleteTestUser(user));

  it("root reaps a user's leftover: reaper log --user U and syslog say who, when, why and what became of it; the system log is 0640 root's and unreadable to U", async (t) => {
    if (!user) return t.skip('useradd failed');
    const sb = sandbox(t);
    const marker = uniqueMarker();
    const victim = await spawnFixture<{ pid: number }>([PYTHON, '-c', SLEEPER, marker], { user });
    t.after(() => cleanup({ pgids: [victim.pid], pids: [victim.pid], marker }));
    const start = startTimeOf(victim.pid);
    const before = Date.now();
    const res = await runCli(['reap', '--all-users', '--match', marker, '--signal', 'kill', '--yes', '--gpus', 'none'], { env: { ...sb.env, SUDO_USER: 'opsadmin', SUDO_UID: '1234' } });
    assert.equal(res.code, 0, res.stdout + res.stderr);
    await waitFor(() => isGone(victim.pid, start), { what: 'leftover gone' });

    const shown = await runCli(['log', '--user', user.name], { env: sb.env });
    assert.equal(shown.code, 0, shown.stderr);
    const lines = shown.stdout.trim().split('\n');
    assert.equal(lines.length, 1, shown.stdout);
    assert.match(lines[0]!, new RegExp(`^\\S+ \\S+Z  root via sudo opsadmin  \\[reap --all-users --match ${marker} --signal kill --gpus none\\]  pid ${victim.pid}\\(${user.name}\\) ${PYTHON} -c .*  SIGKILL  gone  reasons: selected by match /${marker}/$`));
    const when = Date.parse(lines[0]!.slice(0, 20).replace(' ', 'T'));
    assert.ok(when >= Math.floor(before / 1000) * 1000 && when <= Date.now(), `time ${lines[0]!.slice(0, 20)}`);
    const doc = JSON.parse((await runCli(['log', '--user', user.name, '--json'], { env: sb.env })).stdout) as { entries: Array<{ by: { uid: number; sudoUser: string; sudoUid: number }; owner: { uid: number } }> };
    assert.deepEqual(doc.entries[0]!.by, { uid: 0, user: 'root', sudoUser: 'opsadmin', sudoUid: 1234 });
    assert.equal(doc.entries[0]!.owner.uid, user.uid);

    const logged = await waitFor(() => loggerSaid(sb, [`pid ${victim.pid}(`]), { what: 'logger called' });
    assert.match(logged, /^ARGV: -t reaper -p authpriv\.notice\n/);
    assert.match(logged, new RegExp(`^root \\(sudo from opsadmin\\) \\[reap --all-users --match ${marker} .*\\] SIGKILL pid ${victim.pid}\\(${user.name}\\) .*: gone; reasons: selected by match /${marker}/; id=[0-9a-f]{16}$`, 'm'));

    const sys = statSync(sb.systemLog);
    assert.equal(sys.mode & 0o777, 0o640);
    assert.equal(sys.uid, 0);
    assert.equal(statSync(path.dirname(sb.systemLog)).mode & 0o777, 0o750);
    const peek = spawnSync(asUser(user, ['cat', sb.systemLog])[0]!, asUser(user, ['cat', sb.systemLog]).slice(1), { encoding: 'utf8' });
    assert.notEqual(peek.status, 0, 'another user cannot read the system log');
    assert.equal(peek.stdout, '');
    // The user's own `reaper log` has nothing of root's: root's log is not theirs.
    const theirs = await runCli(['log', '--json'], { user, env: { XDG_STATE_HOME: path.join(sb.dir, 'state'), HOME: path.join(sb.dir, 'state') } });
    assert.equal(theirs.code, 0, theirs.stderr);
    assert.ok(!theirs.stdout.includes(`"pid": ${victim.pid}`), theirs.stdout);
  });

  it("a user's own cleanup is in their own log (0600, theirs); acting on root's process is logged as not permitted", async (t) => {
    if (!user) return t.skip('useradd failed');
    const sb = sandbox(t, user);
    const marker = uniqueMarker();
    const mine = await spawnFixture<{ pid: number }>([PYTHON, '-c', SLEEPER, marker], { user });
    const roots = await spawnFixture<{ pid: number }>([PYTHON, '-c', SLEEPER, `root${marker}`]);
    t.after(() => cleanup({ pgids: [mine.pid, roots.pid], pids: [mine.pid, roots.pid], marker }));
    const rootStart = startTimeOf(roots.pid);
    const env = { XDG_STATE_HOME: path.join(sb.dir, 'state'), HOME: path.join(sb.dir, 'state'), PATH: sb.env.PATH };
    const res = await runCli(['reap', '--match', marker, '--signal', 'kill', '--yes', '--gpus', 'none'], { user, env });
    assert.equal(res.code, 0, res.stdout + res.stderr);
    const denied = await runCli(['reap', '--all-users', '--match', `root${marker}`, '--signal', 'kill', '--yes', '--gpus', 'none'], { user, env });
    assert.equal(denied.code, 1, denied.stdout + denied.stderr);
    assert.ok(!isGone(roots.pid, rootStart), "root's process untouched");

    const st = statSync(sb.userLog);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, user.uid);
    assert.ok(!existsSync(sb.systemLog), 'a user writes no system log');
    assert.ok(!existsSync(sb.loggerOut), 'nor to syslog');
    const outcomes = onePairPerPid(readRecords(sb.userLog), [mine.pid, roots.pid]);
    assert.equal(outcomes.get(mine.pid)!.outcome, 'gone');
    assert.equal(outcomes.get(roots.pid)!.outcome, 'not-permitted');
    assert.deepEqual(outcomes.get(roots.pid)!.sent, [], 'nothing was delivered');

    const shown = await runCli(['log'], { user, env });
    assert.equal(shown.code, 0, shown.stderr);
    const lines = shown.stdout.trim().split('\n');
    assert.equal(lines.length, 2, shown.stdout);
    assert.match(lines[0]!, new RegExp(`  ${user.name}  \\[reap --match ${marker} .*\\]  pid ${mine.pid}\\(${user.name}\\) .*  SIGKILL  gone  `));
    assert.match(lines[1]!, new RegExp(`  ${user.name}  \\[reap --all-users .*\\]  pid ${roots.pid}\\(root\\) .*  SIGKILL  not permitted \\(owned by uid 0\\)  `));
  });
});
