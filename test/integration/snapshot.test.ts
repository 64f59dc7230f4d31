import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { ProcInfo } from '../../src/model/proc.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { createProcScanner, takeSnapshot } from '../../src/probe/snapshot.js';
import { readProcIdentity, readStatSync } from '../../src/probe/proc-stat.js';
import { psAllStats, psStat } from '../helpers/proc-ps.js';
import { PYTHON, startProcTree, type ProcTree } from '../helpers/proc-tree.js';
import { waitFor } from '../helpers/wait-for.js';

let tree: ProcTree;

before(async () => {
  tree = await startProcTree();
  process.kill(tree.pids.stopped, 'SIGSTOP');
});
after(() => tree?.kill());

/**
 * Poll until every member of the tree looks settled (comm written, threads started, page
 * locked…). Each poll uses a fresh scanner, which reads every file (a long-lived one re-reads
 * status only every few scans).
 */
async function settledSnapshot(): Promise<Snapshot> {
  const p = tree.pids;
  return waitFor(
    async () => {
      const s = await createProcScanner().scan();
      const get = (pid: number): ProcInfo | undefined => s.byPid.get(pid);
      const ok =
        get(p.stopped)?.state === 'T' &&
        get(p.zombie)?.state === 'Z' &&
        (get(p.threads)?.threads ?? 0) >= 4 &&
        get(p.setsid)?.sid === p.setsid &&
        get(p.weird)?.comm === 'x) (y' &&
        get(p.argv0)?.argv?.[0] === 'weird) (argv0' &&
        get(p.nice)?.nice === 5 &&
        get(p.locked)?.stat === 'SL' &&
        get(p.pty)?.tty !== null &&
        get(p.pty)?.stat.endsWith('+');
      return ok ? s : null;
    },
    { timeoutMs: 20_000, what: 'the fixture tree to settle' },
  );
}

/**
 * ps and we agree. A disagreement is re-read on both sides: a process whose STAT changed
 * between reads (R/S flicker, a stop) is skipped; one that stays different fails. Our own
 * process is always R while it scans, so it is not compared.
 */
async function assertStatMatchesPs(pid: number, ours: string): Promise<void> {
  if (pid === process.pid) return;
  const mineSeen = new Set([ours]);
  const theirsSeen = new Set<string>();
  for (let attempt = 0; attempt < 3; attempt++) {
    const theirs = psStat(pid);
    if (theirs === null) return; // vanished
    theirsSeen.add(theirs);
    const again = (await createProcScanner({ readFds: false }).scan()).byPid.get(pid);
    if (!again) return;
    mineSeen.add(again.stat);
    if (again.stat === theirs) return;
  }
  if (mineSeen.size > 1 || theirsSeen.size > 1) return; // changing under us
  assert.equal([...mineSeen][0], [...theirsSeen][0], `stat of pid ${pid}`);
}

test('snapshot reports the fixture tree exactly', async () => {
  const s = await settledSnapshot();
  const p = tree.pids;
  const get = (pid: number): ProcInfo => {
    const x = s.byPid.get(pid);
    assert.ok(x, `pid ${pid} missing`);
    return x;
  };
  const root = get(p.root);
  assert.equal(root.ppid, process.pid);
  assert.equal(root.sid, p.root);
  assert.equal(root.pgid, p.root);
  assert.equal(root.stat, 'Ss');
  assert.equal(root.runId, tree.runId);
  assert.equal(root.taskId, 'task-7');
  assert.equal(root.isKernelThread, false);
  assert.equal(root.uid, process.getuid!());

  for (const name of ['stopped', 'zombie', 'threads', 'setsid', 'weird', 'argv0', 'nice', 'locked', 'pty'] as const) {
    assert.equal(get(p[name]).ppid, p.root, `${name} is a child of root`);
  }
  const stopped = get(p.stopped);
  assert.equal(stopped.state, 'T');
  assert.equal(stopped.stat, 'T');
  assert.deepEqual(stopped.argv, ['sleep', '600']);
  assert.equal(stopped.cmd, 'sleep 600');
  assert.equal(stopped.runId, tree.runId);
  assert.equal(typeof stopped.wchan, 'string');

  const zombie = get(p.zombie);
  assert.equal(zombie.state, 'Z');
  assert.deepEqual(zombie.argv, []);
  assert.equal(zombie.cmd, `[${zombie.comm}]`);
  assert.equal(zombie.pgid, p.root);

  const threads = get(p.threads);
  assert.ok(threads.threads >= 4);
  assert.equal(threads.stat, 'Sl');

  const setsid = get(p.setsid);
  assert.equal(setsid.sid, p.setsid);
  assert.equal(setsid.pgid, p.setsid);
  assert.equal(setsid.stat, 'Ss');

  const weird = get(p.weird);
  assert.equal(weird.comm, 'x) (y');
  assert.equal(weird.state, 'S');
  assert.equal(weird.startTime, readStatSync(p.weird)!.startTime);

  const argv0 = get(p.argv0);
  assert.equal(argv0.comm, 'sleep');
  assert.deepEqual(argv0.argv, ['weird) (argv0', '600']);
  assert.equal(argv0.cmd, 'weird) (argv0 600');

  assert.equal(get(p.nice).stat, 'SN');
  assert.match(get(p.pty).tty ?? '', /^pts\/\d+$/);
  assert.equal(get(p.pty).stat, 'Ss+');
  assert.equal(get(p.locked).stat, 'SL'); // an mlock()ed page: VmLck > 0

  for (const pid of Object.values(p)) {
    const x = get(pid);
    assert.equal(x.nvidiaMinors?.length ?? 0, 0);
    await assertStatMatchesPs(pid, x.stat);
  }
  // Sorted, indexed, self-aware.
  for (let i = 1; i < s.processes.length; i++) assert.ok(s.processes[i - 1]!.pid < s.processes[i]!.pid);
  assert.equal(s.byPid.size, s.processes.length);
  assert.equal(s.selfPid, process.pid);
  assert.equal(s.selfAncestors[0], process.ppid);
  assert.ok(s.clockTicks > 0 && s.bootTimeMs > 0 && s.uptimeSec > 0);
  assert.ok(Object.isFrozen(s) && Object.isFrozen(root));
});

test('readProcIdentity re-reads pid, start time, state, group, owner', async () => {
  await settledSnapshot();
  const id = readProcIdentity(tree.pids.stopped)!;
  assert.equal(id.pid, tree.pids.stopped);
  assert.equal(id.state, 'T');
  assert.equal(id.ppid, tree.pids.root);
  assert.equal(id.pgid, tree.pids.root);
  assert.equal(id.uid, process.getuid!());
  assert.equal(id.startTime, readStatSync(tree.pids.stopped)!.startTime);
  assert.equal(readProcIdentity(0x7fffffff), null);
});

test('CPU% is null on the first scan and measured on the next', async () => {
  const scanner = createProcScanner();
  const spin = spawn('sh', ['-c', 'while :; do :; done'], { detached: true, stdio: 'ignore' });
  try {
    const first = await scanner.scan();
    assert.equal(first.byPid.get(spin.pid!)?.cpuPercent ?? null, null);
    const hot = await waitFor(
      async () => {
        const s = await scanner.scan();
        const cpu = s.byPid.get(spin.pid!)?.cpuPercent ?? 0;
        return cpu > 5 ? cpu : null;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'a busy loop to show CPU%' },
    );
    assert.ok(hot > 5 && hot <= 105 * 2, String(hot));
  } finally {
    try {
      process.kill(-spin.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

test('CPU% divides by the time between this process\'s own reads, not between scan starts', async () => {
  // 300 sleepers listed before the busy loop put it past the scan's first yield (every 256
  // entries); a busy wait queued at that yield holds the second scan 400 ms before it reaches
  // the loop. Timed from the scan's start, the loop showed ~400 % (seen in CI under load).
  const sleepers = spawn('sh', ['-c', 'for i in $(seq 300); do sleep 600 & done; wait'], { detached: true, stdio: 'ignore' });
  let spin: ReturnType<typeof spawn> | undefined;
  try {
    await waitFor(
      () => {
        const s = createProcScanner().scanSync();
        return s.processes.filter((p) => p.ppid === sleepers.pid).length >= 300 ? true : null;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: '300 sleepers' },
    );
    spin = spawn('sh', ['-c', 'while :; do :; done'], { detached: true, stdio: 'ignore' });
    const scanner = createProcScanner();
    const first = await scanner.scan();
    assert.ok(first.byPid.has(spin.pid!), 'the loop is listed');
    await new Promise((r) => setTimeout(r, 100)); // the interval the two reads measure, not a wait for a condition
    setImmediate(() => {
      const until = performance.now() + 400;
      while (performance.now() < until) {
        // hold the event loop, as a busy process or a slow terminal write would
      }
    });
    const second = await scanner.scan();
    const cpu = second.byPid.get(spin.pid!)?.cpuPercent ?? null;
    assert.ok(cpu !== null && cpu <= 130, `a single-threaded loop shows ${cpu} %`);
  } finally {
    for (const pid of [sleepers.pid, spin?.pid]) {
      try {
        if (pid) process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
});

test('stat matches ps -o stat for every process on the machine (re-read on disagreement)', async () => {
  const snap = await takeSnapshot();
  const ps = psAllStats();
  let compared = 0;
  const disagreements: number[] = [];
  for (const [pid, stat] of ps) {
    const mine = snap.byPid.get(pid);
    if (!mine) continue;
    compared++;
    if (mine.stat !== stat) disagreements.push(pid);
  }
  assert.ok(compared > 10, `compared ${compared}`);
  for (const pid of disagreements) {
    await assertStatMatchesPs(pid, snap.byPid.get(pid)!.stat);
  }
});

test('processes that exit during scans are skipped, never a crash', async () => {
  const churn = spawn('sh', ['-c', 'while :; do /bin/true & /bin/true; done'], { detached: true, stdio: 'ignore' });
  try {
    const scanner = createProcScanner({ fdRefreshEvery: 1, argvRefreshEvery: 1, statusRefreshEvery: 1, readFds: true });
    for (let i = 0; i < 40; i++) {
      const s = await scanner.scan();
      assert.ok(s.processes.length > 0);
      for (const p of s.processes) assert.ok(p.pid > 0 && typeof p.stat === 'string' && p.stat.length > 0);
    }
  } finally {
    try {
      process.kill(-churn.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

test('a long-lived scanner follows exec, stop/continue, and reuses records of idle processes', async () => {
  const scanner = createProcScanner();
  // python re-execs itself (same comm "python3"): only the code/stack addresses tell.
  const code = "import os, sys, time\ntime.sleep(1.5)\nos.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(600)', 'after-exec'])";
  const child = spawn(PYTHON, ['-c', code], { detached: true, stdio: 'ignore' });
  const pid = child.pid!;
  try {
    await waitFor(async () => (await scanner.scan()).byPid.get(pid)?.argv?.includes('-c'), { timeoutMs: 20_000, what: 'the child to appear' });
    const before = (await scanner.scan()).byPid.get(pid)!;
    assert.ok(!before.argv!.includes('after-exec'));
    const after = await waitFor(
      async () => {
        const p = (await scanner.scan()).byPid.get(pid);
        return p?.argv?.includes('after-exec') ? p : null;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'the exec to show in argv' },
    );
    assert.equal(after.startTime, before.startTime);

    process.kill(pid, 'SIGSTOP');
    await waitFor(async () => (await scanner.scan()).byPid.get(pid)?.state === 'T', { timeoutMs: 20_000, what: 'T' });
    process.kill(pid, 'SIGCONT');
    await waitFor(async () => (await scanner.scan()).byPid.get(pid)?.state === 'S', { timeoutMs: 20_000, what: 'S again' });

    // Idle: the same frozen record comes back while nothing about it changed.
    const same = await waitFor(
      async () => {
        const a = (await scanner.scan()).byPid.get(pid);
        const b = (await scanner.scan()).byPid.get(pid);
        return a && a === b ? b : null;
      },
      { timeoutMs: 20_000, what: 'an unchanged record to be reused' },
    );
    assert.equal(same.cpuPercent, 0);
    assert.equal(same.stat, psStat(pid));
  } finally {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});
