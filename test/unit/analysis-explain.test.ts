import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyze, DEFAULT_BATCH_PATTERNS, deriveStateSince, protectionOf } from '../../src/analysis/index.js';
import type { GpuState, ProcInfo, RunSummary, Snapshot, StopEvidence } from '../../src/model/index.js';
import { postmortemProcesses, proc, runSummary, snap } from '../helpers/reap-fake.js';

const verdicts = (s: Snapshot, runs: RunSummary[] = []) => analyze({ snapshot: s, runs, patterns: DEFAULT_BATCH_PATTERNS, allUsers: false });
const codes = (s: Snapshot, pid: number, runs: RunSummary[] = []) => verdicts(s, runs).get(pid)?.reasons.map((r) => r.code) ?? [];
const texts = (s: Snapshot, pid: number, runs: RunSummary[] = []) =>
  verdicts(s, runs)
    .get(pid)
    ?.reasons.map((r) => r.text)
    .join(' | ') ?? '';

const PTS0 = { ttyNr: 34816, tty: 'pts/0' };
const ev = (call: StopEvidence['call'], fdPath: string | null = null, fd: number | null = 0): StopEvidence => ({ call, fd, fdPath, stdin: fdPath });

describe('stopped: the cause from evidence, never a guess', () => {
  // bash 100 on pts/0 (foreground: itself); job 200 = python3 reading the terminal + its child in wait4.
  const job = (leader: Partial<ProcInfo>, child: Partial<ProcInfo>, tpgid = 100) =>
    snap([
      proc({ pid: 50 }),
      proc({ pid: 100, ppid: 50, pgid: 100, sid: 100, tpgid, comm: 'bash', ...PTS0 }),
      proc({ pid: 200, ppid: 100, pgid: 200, sid: 100, tpgid, state: 'T', stat: 'Tl', threads: 3, comm: 'python3', ...PTS0, ...leader }),
      proc({ pid: 201, ppid: 200, pgid: 200, sid: 100, tpgid, state: 'T', comm: 'python3', ...PTS0, ...child }),
    ]);

  it('a background member inside read() on its terminal: SIGTTIN, that member named, fg in the shell', () => {
    const s = job({ stopEvidence: ev('other', null, null) }, { stopEvidence: ev('read', '/dev/pts/0') });
    const v = verdicts(s);
    for (const pid of [200, 201]) assert.deepEqual(v.get(pid)!.stopCause, { kind: 'ttin', culpritPid: 201, shellPid: 100, tty: 'pts/0' });
    const t = texts(s, 200);
    assert.match(t, /process 201 \(python3\) read the terminal pts\/0 \(SIGTTIN\) from background group 200/);
    assert.match(t, /2 of 2 processes in group 200 are stopped/);
    assert.match(t, /fg it in shell 100 on pts\/0/);
    assert.match(texts(s, 201), /: it read the terminal pts\/0/);
  });
  it('/dev/tty counts as the terminal; write or ioctl on it is SIGTTOU', () => {
    const s = job({ stopEvidence: ev('ioctl', '/dev/tty') }, { stopEvidence: ev('other', null, null) });
    assert.deepEqual(verdicts(s).get(201)!.stopCause, { kind: 'ttou', culpritPid: 200, shellPid: 100, tty: 'pts/0' });
    assert.match(texts(s, 201), /process 200 \(python3\) wrote to or set the modes of the terminal pts\/0 \(SIGTTOU\)/);
  });
  it('`sleep 300 & kill -STOP $!`: in nanosleep, so a signal, not SIGTTIN', () => {
    const s = job({ stopEvidence: ev('other', null, null) }, { stopEvidence: ev('user', null, null) });
    assert.equal(verdicts(s).get(200)!.stopCause!.kind, 'signal');
    assert.match(texts(s, 200), /stopped by a signal \(SIGSTOP, SIGTSTP or Ctrl\+Z\): no process of group 200 was reading or writing a terminal/);
    assert.doesNotMatch(texts(s, 200), /SIGTTIN|SIGTTOU|most likely/);
  });
  it('reading a pipe, or another terminal, is not SIGTTIN', () => {
    const s = job({ stopEvidence: ev('read', 'pipe:[4711]') }, { stopEvidence: ev('read', '/dev/pts/7') });
    assert.equal(verdicts(s).get(200)!.stopCause!.kind, 'signal');
  });
  it('the foreground group stopped inside read(tty): Ctrl+Z or SIGSTOP, not SIGTTIN', () => {
    const s = job({ stopEvidence: ev('read', '/dev/pts/0') }, { stopEvidence: ev('other', null, null) }, 200);
    assert.equal(verdicts(s).get(200)!.stopCause!.kind, 'signal');
  });
  it('no evidence (syscall unreadable, or not probed): cause unknown', () => {
    const s = job({ stopEvidence: null }, { stopEvidence: ev('other', null, null) });
    assert.equal(verdicts(s).get(200)!.stopCause!.kind, 'unknown');
    assert.match(texts(s, 200), /stopped by a signal, cause unknown/);
    const s2 = snap([proc({ pid: 50 }), proc({ pid: 300, ppid: 50, state: 'T' })]);
    assert.match(texts(s2, 300), /no controlling terminal: stopped by a signal, cause unknown/);
    assert.equal(verdicts(s2).get(300)!.stopCause!.shellPid, null);
  });
  it('traced: names the tracer', () => {
    const s = snap([proc({ pid: 50, comm: 'gdb', stat: 'S+' }), proc({ pid: 301, ppid: 50, state: 't', tracerPid: 50 })]);
    assert.deepEqual(codes(s, 301), ['traced']);
    assert.match(texts(s, 301), /tracer 50 \(gdb, S\+\)/);
  });
});

describe('durations: only what was observed', () => {
  const s = snap([proc({ pid: 50 }), proc({ pid: 300, ppid: 50, state: 'T' })]);
  const at = (since: number | { sinceMs: number; observed: boolean }) =>
    analyze({ snapshot: s, runs: [], patterns: [], allUsers: false, stateSinceMs: new Map([['300:1300', since]]) }).get(300)!.reasons[0]!.text;
  it('first seen already stopped: a lower bound', () => {
    assert.match(at(s.takenAtMs - 17_000), /^stopped \(T\) \(seen stopped for ≥ 17 s\):/);
    assert.match(at({ sinceMs: s.takenAtMs - 17_000, observed: false }), /^stopped \(T\) \(seen stopped for ≥ 17 s\):/);
  });
  it('the change to T was seen: exact', () => {
    assert.match(at({ sinceMs: s.takenAtMs - 12_000, observed: true }), /^stopped \(T\) for 12 s:/);
  });
  it('deriveStateSince: a first sighting is not observed; a seen change is', () => {
    const running = snap([proc({ pid: 50 }), proc({ pid: 300, ppid: 50, state: 'S' })]);
    const first = deriveStateSince(undefined, s);
    assert.equal(first.get('300:1300')!.observed, false);
    const a = deriveStateSince(undefined, running);
    const b = deriveStateSince(a, { ...s, takenAtMs: running.takenAtMs + 5000 });
    assert.deepEqual(b.get('300:1300'), { state: 'T', sinceMs: running.takenAtMs + 5000, observed: true });
    const c = deriveStateSince(b, { ...s, takenAtMs: running.takenAtMs + 9000 });
    assert.deepEqual(c.get('300:1300'), b.get('300:1300'));
  });
});

describe('zombie, D', () => {
  it('zombie names the parent, its state and what reaps it', () => {
    const s = snap([proc({ pid: 50 }), proc({ pid: 400, ppid: 50, state: 'T', stat: 'Tl', comm: 'python3' }), proc({ pid: 401, ppid: 400, state: 'Z', argv: [] })]);
    assert.ok(codes(s, 401).includes('zombie'));
    assert.match(texts(s, 401), /parent 400 \(python3, Tl\).*continue or kill parent 400 \(Tl\)/);
  });
  it('a zombie whose running parent will reap it in a moment is not flagged; a lasting one is', () => {
    // uptime 100,000 s: startTime in ticks just before "now" is a young process.
    const young = snap([proc({ pid: 50 }), proc({ pid: 403, ppid: 50, state: 'Z', argv: [], startTime: 100_000 * 100 - 50 })]);
    assert.deepEqual(codes(young, 403), []);
    const old = snap([proc({ pid: 50 }), proc({ pid: 403, ppid: 50, state: 'Z', argv: [], startTime: 10 })]);
    assert.ok(codes(old, 403).includes('zombie'));
    assert.match(texts(old, 403), /does not wait\(\) for it: kill parent 50/);
    const blocked = snap([proc({ pid: 50, state: 'T', stat: 'T' }), proc({ pid: 403, ppid: 50, state: 'Z', argv: [], startTime: 100_000 * 100 - 50 })]);
    assert.ok(codes(blocked, 403).includes('zombie'), 'a stopped parent cannot reap, however young the zombie');
  });
  it('a zombie of init is not a leftover (init reaps it within seconds)', () => {
    const s = snap([proc({ pid: 402, ppid: 1, state: 'Z', argv: [] })]);
    assert.deepEqual(codes(s, 402), []);
  });
  it('D shows wchan and the NVIDIA note', () => {
    const s = snap([proc({ pid: 50 }), proc({ pid: 500, ppid: 50, state: 'D', wchan: 'os_acquire_spinlock', startTime: 10 })]);
    const t = texts(s, 500);
    assert.match(t, /uninterruptible \(D\).*in os_acquire_spinlock: a kill waits until that kernel call returns/);
    assert.match(t, /GPU reset/);
    const s2 = snap([proc({ pid: 50 }), proc({ pid: 500, ppid: 50, state: 'D', wchan: 'nvme_poll', startTime: 10, nvidiaMinors: [] })]);
    assert.doesNotMatch(texts(s2, 500), /GPU reset/);
  });
  it('D that just started is not flagged', () => {
    const s = snap([proc({ pid: 50 }), proc({ pid: 500, ppid: 50, state: 'D', startTime: 100_000 * 100 - 50 })]);
    assert.deepEqual(codes(s, 500), []);
  });
});

describe('orphaned alone is not a leftover; daemons never are', () => {
  const sample = (pid: number, ppid: number, pgid: number, sid: number, over: Partial<ProcInfo> = {}) =>
    proc({ pid, ppid, pgid, sid, argv: ['python3', 'sample_diffusion.py', '--ckpt', 'e10.pt'], comm: 'python3', ...over });
  it('a double-forked daemon (adopted, group and session leader gone) is not a leftover', () => {
    const s = snap([proc({ pid: 600, ppid: 1, pgid: 590, sid: 590, comm: 'mydaemon' }), proc({ pid: 601, ppid: 600, pgid: 590, sid: 590 })]);
    assert.deepEqual(codes(s, 600), []);
    assert.deepEqual(codes(s, 601), []);
  });
  it('known daemons and services are never flagged, whatever their state', () => {
    const s = snap([
      proc({ pid: 610, ppid: 1, pgid: 609, sid: 609, comm: 'slurmd', state: 'T' }),
      proc({ pid: 611, ppid: 1, pgid: 611, sid: 611, comm: 'sshd' }),
      proc({ pid: 612, ppid: 1, pgid: 612, sid: 612, comm: 'nvidia-persiste', nvidiaMinors: [0] }),
      proc({ pid: 613, ppid: 1, pgid: 613, sid: 613, comm: 'tritonserver', cgroup: '/system.slice/triton.service', nvidiaMinors: [0] }),
      sample(614, 613, 613, 613, { state: 'T' }),
      // slurmstepd's job: a live batch under a live daemon.
      proc({ pid: 620, ppid: 1, pgid: 620, sid: 620, comm: 'slurmstepd' }),
      sample(621, 620, 621, 621, { nvidiaMinors: [0] }),
    ], { gpu: simGpu });
    const v = verdicts(s);
    for (const pid of [610, 611, 612, 613, 620, 621]) assert.equal(v.get(pid), undefined, `${pid}: ${texts(s, pid)}`);
    assert.deepEqual(codes(s, 614), ['stopped'], 'a stopped child of a service is stuck, not orphaned');
  });
  it('a tmux-like detached root owns its tree: a live batch inside it is not flagged', () => {
    const s = snap([
      proc({ pid: 700, ppid: 1, pgid: 700, sid: 700, comm: 'tmux: server' }),
      proc({ pid: 701, ppid: 700, pgid: 701, sid: 701, comm: 'bash' }),
      sample(702, 701, 702, 701, { nvidiaMinors: [0] }),
    ], { gpu: simGpu });
    assert.deepEqual([...verdicts(s).keys()], []);
  });
  it('a container workload is its runtime\'s: child of a shim, or of tini in its own group', () => {
    const s = snap([
      proc({ pid: 720, ppid: 1, pgid: 720, sid: 720, comm: 'containerd-shim' }),
      proc({ pid: 721, ppid: 720, pgid: 721, sid: 721, comm: 'python3', nvidiaMinors: [0], argv: ['python3', 'sample_diffusion.py'] }),
      proc({ pid: 730, ppid: 720, pgid: 730, sid: 730, comm: 'docker-init' }),
      proc({ pid: 731, ppid: 730, pgid: 731, sid: 730, comm: 'python3', nvidiaMinors: [0], argv: ['python3', 'sample_diffusion.py'] }),
    ], { gpu: simGpu });
    assert.deepEqual([...verdicts(s).keys()], []);
  });
  it('a live nohup\'d driver after logout owns its workers: nothing flagged without a GPU of its own', () => {
    const s = snap([
      sample(740, 1, 740, 735, { argv: ['python3', 'batch_sampleandeval_parallel.py'] }), // its login shell 735 is gone
      sample(741, 740, 740, 735, { argv: ['python3', 'batch_sampleandeval_parallel.py'] }),
      sample(742, 741, 740, 735, { nvidiaMinors: [0] }),
    ], { gpu: simGpu });
    assert.deepEqual([...verdicts(s).keys()], []);
    const holding = snap([proc({ pid: 745, ppid: 1, pgid: 745, sid: 735, nvidiaMinors: [0], argv: ['python3', 'train.py'] })], { gpu: simGpu });
    assert.deepEqual(codes(holding, 745), ['orphaned', 'gpu-no-owner']);
    assert.match(texts(holding, 745), /the shell that started it \(session leader 735\) is gone/);
  });
  it('an orphan with no evidence of its own counts in the tree or group of one that has', () => {
    const s = snap([
      proc({ pid: 800, ppid: 1, pgid: 790, sid: 780, argv: ['python3', 'driver.py'] }), // pool worker of a killed driver
      sample(801, 800, 790, 780),
      proc({ pid: 802, ppid: 1, pgid: 790, sid: 780, argv: ['python3', '-c', 'from multiprocessing.resource_tracker import main'] }),
      proc({ pid: 803, ppid: 1, pgid: 803, sid: 780, argv: ['python3', 'other.py'] }), // same dead session, own job
    ]);
    assert.deepEqual(codes(s, 801), ['orphaned', 'batch-pattern']);
    assert.deepEqual(codes(s, 800), ['orphaned']);
    assert.match(texts(s, 800), /part of a broken batch: 801 \(python3\) in its orphaned tree \(root 800\)/);
    assert.deepEqual(codes(s, 802), ['orphaned']);
    assert.match(texts(s, 802), /in its process group 790/);
    assert.deepEqual(codes(s, 803), []);
  });
  it('a younger process reusing the group leader pid does not count as the leader', () => {
    const s = snap([proc({ pid: 590, startTime: 99_999 }), sample(600, 1, 590, 590, { startTime: 50 })]);
    assert.match(texts(s, 600), /whose leader 590 is gone/);
  });
});

const simGpu: GpuState = {
  source: 'simulated',
  ok: true,
  error: null,
  gpus: [
    {
      index: 0, uuid: 'GPU-a', name: 'sim', busId: null, utilizationGpu: null, memoryUsedMiB: null, memoryTotalMiB: null, temperatureC: null,
      powerDrawW: null, powerLimitW: null, pstate: null, persistenceMode: null, migMode: null, minor: 0, missing: {},
    },
  ],
  apps: [],
  sampledAtMs: 1,
};

describe('the two post-mortem shapes get the same reasons', () => {
  // driver 900 SIGKILLed; pool workers 901/902 (ppid 1), each running a sample (903/904) that holds GPU 0.
  const shape = (groupLeaderAlive: boolean, sessionAlive: boolean, tty: Partial<ProcInfo>) => snap(postmortemProcesses(groupLeaderAlive, sessionAlive, tty), { gpu: simGpu });
  it('terminal open with a subshell leading the group, and nohup + SSH dropped: same codes per role', () => {
    const open = shape(true, true, { ...PTS0, tpgid: 880 });
    const dropped = shape(false, false, {});
    for (const s of [open, dropped]) {
      assert.deepEqual(codes(s, 901), ['orphaned', 'batch-pattern']);
      assert.deepEqual(codes(s, 903), ['orphaned', 'gpu-no-owner', 'batch-pattern']);
      assert.deepEqual(codes(s, 880), []);
      assert.deepEqual(codes(s, 890), []);
    }
  });
});

describe('runs and GPUs: a marker counts only for the run\'s own processes', () => {
  const gpu: GpuState = { ...simGpu, source: 'nvidia-smi', apps: [{ gpuUuid: 'GPU-a', pid: 810, processName: 'python3', usedMemoryMiB: 2048 }] };
  it('ended run member; live run member is not flagged', () => {
    const s = snap([proc({ pid: 50 }), proc({ pid: 4242, startTime: 5, ppid: 50 }), proc({ pid: 800, ppid: 50, runId: 'r1' }), proc({ pid: 801, ppid: 4242, runId: 'r2' })]);
    const runs = [runSummary('r1', false), runSummary('r2', true)];
    assert.deepEqual(codes(s, 800, runs), ['ended-run']);
    assert.deepEqual(codes(s, 801, runs), []);
    assert.deepEqual(codes(s, 800, []), ['ended-run'], 'no record at all: ended');
  });
  it('batch pattern only while its launcher is gone', () => {
    const argv = ['python3', '/x/sample_diffusion.py', '--gpu', '0'];
    const live = snap([proc({ pid: 50 }), proc({ pid: 810, ppid: 50, argv })]);
    assert.deepEqual(codes(live, 810), []);
    const orphan = snap([proc({ pid: 810, ppid: 1, pgid: 805, sid: 805, argv })]);
    assert.deepEqual(codes(orphan, 810), ['orphaned', 'batch-pattern']);
  });
  it('GPU holder without owner; a live holder nvidia-smi does not list is not a leftover by that alone', () => {
    const s = snap(
      [proc({ pid: 810, ppid: 1, pgid: 805, sid: 805 }), proc({ pid: 811, ppid: 1, pgid: 805, sid: 805, nvidiaMinors: [0] }), proc({ pid: 50 }), proc({ pid: 812, ppid: 50, nvidiaMinors: [0] })],
      { gpu },
    );
    const v = analyze({ snapshot: s, runs: [], patterns: [], allUsers: false });
    assert.match(v.get(810)!.reasons.find((r) => r.code === 'gpu-no-owner')!.text, /GPU 0 \(2048 MiB\)/);
    assert.deepEqual(v.get(811)!.reasons.map((r) => r.code), ['orphaned', 'gpu-no-owner', 'gpu-unlisted']);
    assert.equal(v.get(812), undefined);
  });
  it('a setsid GPU holder is flagged; its live children are its own business', () => {
    const s = snap([proc({ pid: 820, ppid: 1, pgid: 820, sid: 820, nvidiaMinors: [0], argv: ['python3', 'holder.py'] }), proc({ pid: 821, ppid: 820, pgid: 820, sid: 820, nvidiaMinors: [0] })], { gpu: simGpu });
    assert.deepEqual(codes(s, 820), ['orphaned', 'gpu-no-owner']);
    assert.match(texts(s, 820), /started detached.*no live run owns it and nothing started it that is still alive/);
    assert.deepEqual(codes(s, 821), []);
  });
  it('a forged REAPER_RUN does not hide a GPU holder: not a descendant of the run, or another uid', () => {
    const runs = [runSummary('r2', true)];
    const s = snap([
      proc({ pid: 50 }),
      proc({ pid: 4242, startTime: 5, ppid: 50 }), // the live run's launcher (uid 1000)
      proc({ pid: 830, ppid: 4242, pgid: 830, sid: 830, nvidiaMinors: [0], runId: 'r2' }), // a real task
      proc({ pid: 831, ppid: 1, pgid: 831, sid: 831, nvidiaMinors: [0], runId: 'r2' }), // setsid + forged marker
      proc({ pid: 832, ppid: 4242, pgid: 832, sid: 832, nvidiaMinors: [0], runId: 'r2', uid: 1001, user: 'eve' }), // another uid
      proc({ pid: 833, ppid: 1, pgid: 833, sid: 833, nvidiaMinors: [0], runId: 'r2', cgroup: '/sys/reaper/r2/0' }), // escaped, but in the run's cgroup
    ], { gpu: simGpu });
    const v = analyze({ snapshot: s, runs, patterns: [], allUsers: true });
    assert.equal(v.get(830), undefined);
    assert.deepEqual(v.get(831)!.reasons.map((r) => r.code), ['orphaned', 'gpu-no-owner']);
    assert.match(v.get(831)!.reasons[1]!.text, /does not descend from that run's launcher or tasks/);
    assert.equal(v.get(832), undefined, 'not orphaned: its parent, the launcher, is alive');
    const eve = snap([...s.processes.filter((p) => p.pid !== 832), proc({ pid: 832, ppid: 1, pgid: 832, sid: 832, nvidiaMinors: [0], runId: 'r2', uid: 1001, user: 'eve' })], { gpu: simGpu });
    const v2 = analyze({ snapshot: eve, runs, patterns: [], allUsers: true });
    assert.match(v2.get(832)!.reasons.map((r) => r.text).join(' '), /names live run r2 of uid 1000, but it belongs to uid 1001/);
    assert.equal(v.get(833), undefined);
  });
  it('a journal naming pid 1 as launcher proves nothing: everything descends from init', () => {
    const planted = { ...runSummary('r3', true), launcher: { pid: 1, startTime: 0 } };
    const s = snap([proc({ pid: 1, ppid: 0, startTime: 0, comm: 'init' }), proc({ pid: 840, ppid: 1, pgid: 840, sid: 840, nvidiaMinors: [0], runId: 'r3' })], { gpu: simGpu });
    assert.deepEqual(codes(s, 840, [planted]), ['orphaned', 'gpu-no-owner']);
  });
});

describe('never flagged', () => {
  it('pid 1, kernel threads, self, ancestors, other users', () => {
    const s = snap(
      [
        proc({ pid: 1, ppid: 0, state: 'T' }),
        proc({ pid: 2, ppid: 0, isKernelThread: true, state: 'D', startTime: 0 }),
        proc({ pid: 10, ppid: 1, pgid: 9, sid: 9, state: 'T' }),
        proc({ pid: 11, ppid: 10, pgid: 9, sid: 9, state: 'T' }),
        proc({ pid: 12, ppid: 1, pgid: 9, sid: 9, state: 'T', uid: 0, user: 'root' }),
      ],
      { selfPid: 11, selfAncestors: [10, 1] },
    );
    const v = analyze({ snapshot: s, runs: [], patterns: [], allUsers: false });
    assert.deepEqual([...v.keys()], []);
    assert.equal(protectionOf(s, 1, { allUsers: false }), 'pid 1 (init)');
    assert.equal(protectionOf(s, 2, { allUsers: false }), 'kernel thread');
    assert.equal(protectionOf(s, 11, { allUsers: false }), 'reaper itself');
    assert.match(protectionOf(s, 10, { allUsers: false })!, /ancestor/);
    assert.match(protectionOf(s, 12, { allUsers: false })!, /owned by root \(uid 0\), not you: add --all-users \(as root\)/);
    assert.equal(protectionOf(s, 12, { allUsers: true }), null);
    assert.deepEqual([...analyze({ snapshot: s, runs: [], patterns: [], allUsers: true }).keys()], [12]);
  });
});

describe('orphaned: a live session is its leader\'s', () => {
  // 10: a harness process adopted by init inside a group whose leader (9) is gone. Below it, a
  // live session leader 100 (an interactive bash) runs the batch driver 200 as a background job,
  // with its sample 300: nothing of that session lost its owner (fails before the session stop).
  const s = snap([
    proc({ pid: 1, ppid: 0, uid: 0, user: 'root', comm: 'init' }),
    proc({ pid: 10, ppid: 1, pgid: 9, sid: 9, comm: 'node' }),
    proc({ pid: 100, ppid: 10, pgid: 100, sid: 100, comm: 'bash' }),
    proc({ pid: 200, ppid: 100, pgid: 200, sid: 100, comm: 'python3', argv: ['python3', 'batch_sampleandeval_parallel.py'], cmd: 'python3 batch_sampleandeval_parallel.py' }),
    proc({ pid: 300, ppid: 200, pgid: 200, sid: 100, comm: 'python3', argv: ['python3', 'sample_diffusion.py'], cmd: 'python3 sample_diffusion.py' }),
  ]);
  it('processes below a live session leader are not orphaned by what happened above it', () => {
    assert.deepEqual(codes(s, 200), []);
    assert.deepEqual(codes(s, 300), []);
    assert.deepEqual(codes(s, 100), []);
  });
});
