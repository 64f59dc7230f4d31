import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyze, DEFAULT_BATCH_PATTERNS, protectionOf } from '../../src/analysis/index.js';
import type { GpuState, Snapshot } from '../../src/model/index.js';
import { proc, runSummary, snap } from '../helpers/reap-fake.js';

const codes = (s: Snapshot, pid: number, runs = [] as ReturnType<typeof runSummary>[]) =>
  analyze({ snapshot: s, runs, patterns: DEFAULT_BATCH_PATTERNS, allUsers: false })
    .get(pid)
    ?.reasons.map((r) => r.code) ?? [];
const texts = (s: Snapshot, pid: number) =>
  analyze({ snapshot: s, runs: [], patterns: DEFAULT_BATCH_PATTERNS, allUsers: false })
    .get(pid)
    ?.reasons.map((r) => r.text)
    .join(' | ') ?? '';

describe('stopped', () => {
  it('background group on a terminal: SIGTTIN/SIGTTOU, whole group counted', () => {
    const shell = proc({ pid: 100, ttyNr: 34816, tty: 'pts/0', tpgid: 100, pgid: 100, sid: 100, ppid: 50 });
    const s = snap([
      proc({ pid: 50 }),
      shell,
      proc({ pid: 200, ppid: 100, pgid: 200, sid: 100, ttyNr: 34816, tty: 'pts/0', tpgid: 100, state: 'T', stat: 'Tl', threads: 3 }),
      proc({ pid: 201, ppid: 200, pgid: 200, sid: 100, ttyNr: 34816, tty: 'pts/0', tpgid: 100, state: 'T' }),
    ]);
    assert.deepEqual(codes(s, 200), ['stopped']);
    assert.match(texts(s, 200), /background job on pts\/0.*SIGTTIN\/SIGTTOU.*2 of 2 processes in group 200 are stopped/);
    assert.equal(codes(s, 100).length, 0);
  });
  it('no terminal: explicit SIGSTOP', () => {
    const s = snap([proc({ pid: 50 }), proc({ pid: 300, ppid: 50, state: 'T' })]);
    assert.match(texts(s, 300), /no controlling terminal, so an explicit SIGSTOP/);
    assert.doesNotMatch(texts(s, 300), /SIGTTIN/);
  });
  it('foreground on a terminal: Ctrl+Z', () => {
    const s = snap([proc({ pid: 50 }), proc({ pid: 300, ppid: 50, ttyNr: 1, tty: 'pts/1', tpgid: 300, state: 'T' })]);
    assert.match(texts(s, 300), /foreground of pts\/1: Ctrl\+Z/);
  });
  it('traced: names the tracer', () => {
    const s = snap([proc({ pid: 50, comm: 'gdb', stat: 'S+' }), proc({ pid: 301, ppid: 50, state: 't', tracerPid: 50 })]);
    assert.deepEqual(codes(s, 301), ['traced']);
    assert.match(texts(s, 301), /tracer 50 \(gdb, S\+\)/);
  });
  it('duration when the caller tracked it', () => {
    const s = snap([proc({ pid: 50 }), proc({ pid: 300, ppid: 50, state: 'T' })]);
    const v = analyze({ snapshot: s, runs: [], patterns: [], allUsers: false, stateSinceMs: new Map([['300:1300', s.takenAtMs - 12_000]]) });
    assert.match(v.get(300)!.reasons[0]!.text, /^stopped \(T\) for 12 s/);
  });
});

describe('zombie, D, orphaned', () => {
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
  it('orphaned: adopted by init while its group leader is gone; descendants too', () => {
    const s = snap([
      proc({ pid: 600, ppid: 1, pgid: 590, sid: 580 }),
      proc({ pid: 601, ppid: 600, pgid: 590, sid: 580 }),
      proc({ pid: 700, ppid: 1, pgid: 700, sid: 700, comm: 'daemon' }),
      proc({ pid: 701, ppid: 700, pgid: 700, sid: 700 }),
    ]);
    assert.deepEqual(codes(s, 600), ['orphaned']);
    assert.match(texts(s, 600), /parent died and init \(pid 1\) adopted it; its process group leader 590 and session leader 580 are gone/);
    assert.deepEqual(codes(s, 601), ['orphaned']);
    assert.match(texts(s, 601), /in the tree of 600/);
    assert.deepEqual(codes(s, 700), [], 'a daemon leads its own group and session');
    assert.deepEqual(codes(s, 701), []);
  });
  it('a younger process reusing the leader pid does not count as the leader', () => {
    const s = snap([proc({ pid: 590, startTime: 99_999 }), proc({ pid: 600, ppid: 1, pgid: 590, sid: 590, startTime: 50 })]);
    assert.deepEqual(codes(s, 600), ['orphaned']);
  });
});

describe('runs, patterns, GPUs', () => {
  const gpu: GpuState = {
    source: 'nvidia-smi',
    ok: true,
    error: null,
    gpus: [
      {
        index: 0, uuid: 'GPU-a', name: 'H100', busId: null, utilizationGpu: null, memoryUsedMiB: null, memoryTotalMiB: null, temperatureC: null,
        powerDrawW: null, powerLimitW: null, pstate: null, persistenceMode: null, migMode: null, minor: 0, missing: {},
      },
    ],
    apps: [{ gpuUuid: 'GPU-a', pid: 810, processName: 'python3', usedMemoryMiB: 2048 }],
    sampledAtMs: 1,
  };
  it('ended run member; live run member is not flagged', () => {
    const s = snap([proc({ pid: 50 }), proc({ pid: 800, ppid: 50, runId: 'r1' }), proc({ pid: 801, ppid: 50, runId: 'r2' })]);
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
  it('GPU holder without owner, and one nvidia-smi does not list', () => {
    const s = snap(
      [proc({ pid: 810, ppid: 1, pgid: 805, sid: 805 }), proc({ pid: 811, ppid: 1, pgid: 805, sid: 805, nvidiaMinors: [0] }), proc({ pid: 50 }), proc({ pid: 812, ppid: 50, nvidiaMinors: [0] })],
      { gpu },
    );
    const v = analyze({ snapshot: s, runs: [], patterns: [], allUsers: false });
    assert.match(v.get(810)!.reasons.find((r) => r.code === 'gpu-no-owner')!.text, /GPU 0 \(2048 MiB\)/);
    assert.deepEqual(v.get(811)!.reasons.map((r) => r.code), ['orphaned', 'gpu-no-owner', 'gpu-unlisted']);
    assert.deepEqual(v.get(812)!.reasons.map((r) => r.code), ['gpu-unlisted']);
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
