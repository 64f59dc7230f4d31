/**
 * Golden verdicts: the full verdict maps of analyze() for hand-built snapshots that cover every
 * reason (and its variants), plus seeded random snapshots, compared with what the analysis
 * produced when this file was written (test/fixtures/leftover-golden.json). A refactor of the
 * reasons must leave every verdict, reason order, text, code and stop cause as it was.
 * Regenerate only for an intended change: REAPER_GOLDEN_WRITE=1.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { analyze, DEFAULT_BATCH_PATTERNS, type AnalysisInput } from '../../src/analysis/index.js';
import type { GpuState, ProcInfo, ReasonCode, RunSummary, Snapshot, StopEvidence, Verdict } from '../../src/model/index.js';
import { postmortemProcesses, proc, runSummary, snap } from '../helpers/reap-fake.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const goldenPath = join(repo, 'test', 'fixtures', 'leftover-golden.json');

const gpuInfo = (index: number, uuid: string, minor: number | null): GpuState['gpus'][number] => ({
  index, uuid, name: 'sim', busId: null, utilizationGpu: null, memoryUsedMiB: null, memoryTotalMiB: null, temperatureC: null,
  powerDrawW: null, powerLimitW: null, pstate: null, persistenceMode: null, migMode: null, minor, missing: {},
});
const smi = (apps: GpuState['apps'], source: GpuState['source'] = 'nvidia-smi'): GpuState => ({
  source, ok: true, error: null, gpus: [gpuInfo(0, 'GPU-a', 0), gpuInfo(1, 'GPU-b', 1), gpuInfo(2, 'GPU-c', null)], apps, sampledAtMs: 1,
});
const PTS0 = { ttyNr: 34816, tty: 'pts/0' };
const ev = (call: StopEvidence['call'], fdPath: string | null = null, fd: number | null = 0): StopEvidence => ({ call, fd, fdPath, stdin: fdPath });
const batch = (over: Partial<ProcInfo> & { pid: number }) => proc({ argv: ['python3', 'sample_diffusion.py', '--ckpt', 'e10.pt'], comm: 'python3', ...over });

interface Case {
  readonly name: string;
  readonly input: AnalysisInput;
}
const base = (snapshot: Snapshot, over: Partial<AnalysisInput> = {}): AnalysisInput => ({ snapshot, runs: [], patterns: DEFAULT_BATCH_PATTERNS, allUsers: false, ...over });

function handCases(): Case[] {
  const now = 1_700_000_100_000;
  const out: Case[] = [];
  const add = (name: string, s: Snapshot, over: Partial<AnalysisInput> = {}) => out.push({ name, input: base(s, over) });

  // stopped / traced, every "where" and cause
  for (const tpgid of [100, 200, -1]) {
    for (const [a, b] of [[ev('other', null, null), ev('read', '/dev/pts/0')], [ev('ioctl', '/dev/tty'), ev('other', null, null)], [ev('other', null, null), ev('user', null, null)], [null, null]] as const) {
      add(`stopped job tpgid ${tpgid} ${a?.call ?? 'none'}/${b?.call ?? 'none'}`, snap([
        proc({ pid: 50 }),
        proc({ pid: 100, ppid: 50, pgid: 100, sid: 100, tpgid, comm: 'bash', ...PTS0 }),
        proc({ pid: 200, ppid: 100, pgid: 200, sid: 100, tpgid, state: 'T', stat: 'Tl', threads: 3, comm: 'python3', stopEvidence: a, ...PTS0 }),
        proc({ pid: 201, ppid: 200, pgid: 200, sid: 100, tpgid, state: 'T', comm: 'python3', stopEvidence: b, tracerPid: 50, ...PTS0 }),
        proc({ pid: 202, ppid: 200, pgid: 200, sid: 100, tpgid, comm: 'python3', ...PTS0 }),
      ]));
    }
  }
  const stoppedAlone = snap([proc({ pid: 50 }), proc({ pid: 300, ppid: 50, state: 'T' }), proc({ pid: 301, ppid: 1, pgid: 301, sid: 301, state: 'T', tracerPid: 999 })]);
  add('stopped, no terminal', stoppedAlone);
  for (const since of [now - 17_000, { sinceMs: now - 17_000, observed: false }, { sinceMs: now - 125_000, observed: true }, { sinceMs: now + 5_000, observed: true }]) {
    add(`stopped since ${JSON.stringify(since)}`, stoppedAlone, { stateSinceMs: new Map([['300:1300', since], ['301:1301', since]]) });
  }
  add('traced', snap([
    proc({ pid: 50, comm: 'gdb', stat: 'S+' }),
    proc({ pid: 301, ppid: 50, state: 't', tracerPid: 50 }),
    proc({ pid: 302, ppid: 50, state: 't', tracerPid: 0 }),
    proc({ pid: 303, ppid: 50, state: 't', tracerPid: 777 }),
    proc({ pid: 304, ppid: 50, state: 't', tracerPid: null as unknown as number }),
  ]), { stateSinceMs: new Map([['301:1301', { sinceMs: now - 3_000, observed: true }]]) });

  // zombies: every parent state; young and lasting; init's
  add('zombies', snap([
    proc({ pid: 50 }),
    proc({ pid: 400, ppid: 50, state: 'T', stat: 'Tl', comm: 'python3' }),
    proc({ pid: 401, ppid: 400, state: 'Z', argv: [] }),
    proc({ pid: 410, ppid: 50, state: 'D', stat: 'D', startTime: 10 }),
    proc({ pid: 411, ppid: 410, state: 'Z', argv: [], startTime: 100_000 * 100 - 50 }),
    proc({ pid: 420, ppid: 50, state: 'Z', stat: 'Z', startTime: 10 }),
    proc({ pid: 421, ppid: 420, state: 'Z', argv: [], startTime: 10 }),
    proc({ pid: 430, ppid: 50 }),
    proc({ pid: 431, ppid: 430, state: 'Z', argv: [], startTime: 10 }),
    proc({ pid: 432, ppid: 430, state: 'Z', argv: [], startTime: 100_000 * 100 - 50 }),
    proc({ pid: 440, ppid: 4444, state: 'Z', argv: [], startTime: 10 }),
    proc({ pid: 450, ppid: 1, state: 'Z', argv: [] }),
    proc({ pid: 460, ppid: 50, state: 't', stat: 't' }),
    proc({ pid: 461, ppid: 460, state: 'Z', argv: [], runId: 'gone-run', nvidiaMinors: [0] }),
  ], { gpu: smi([]) }), { stateSinceMs: new Map([['432:' + String(100_000 * 100 - 50), { sinceMs: now - 60_000, observed: true }]]) });

  // D
  add('uninterruptible', snap([
    proc({ pid: 50 }),
    proc({ pid: 500, ppid: 50, state: 'D', wchan: 'os_acquire_spinlock', startTime: 10 }),
    proc({ pid: 501, ppid: 50, state: 'D', wchan: 'nvme_poll', startTime: 10, nvidiaMinors: [] }),
    proc({ pid: 502, ppid: 50, state: 'D', wchan: '0', startTime: 10, nvidiaMinors: [1] }),
    proc({ pid: 503, ppid: 50, state: 'D', wchan: null, startTime: 10 }),
    proc({ pid: 504, ppid: 50, state: 'D', wchan: '_nv012345rm_', startTime: 100_000 * 100 - 50 }),
    proc({ pid: 505, ppid: 50, state: 'D', wchan: 'uvm_wait', startTime: 100_000 * 100 - 50 }),
  ], { gpu: smi([]) }), { stateSinceMs: new Map<string, number | { sinceMs: number; observed: boolean }>([['505:' + String(100_000 * 100 - 50), now - 9_000], ['504:' + String(100_000 * 100 - 50), { sinceMs: now - 1_000, observed: true }]]) });

  // orphaned: every shape, alone (dropped) and with evidence in tree or group
  add('orphans and broken batches', snap([
    proc({ pid: 600, ppid: 1, pgid: 590, sid: 590, comm: 'mydaemon' }),
    proc({ pid: 601, ppid: 600, pgid: 590, sid: 590 }),
    proc({ pid: 800, ppid: 1, pgid: 790, sid: 780, argv: ['python3', 'driver.py'] }),
    batch({ pid: 801, ppid: 800, pgid: 790, sid: 780 }),
    proc({ pid: 802, ppid: 1, pgid: 790, sid: 780, argv: ['python3', '-c', 'from multiprocessing.resource_tracker import main'] }),
    proc({ pid: 803, ppid: 1, pgid: 803, sid: 780, argv: ['python3', 'other.py'] }),
    proc({ pid: 804, ppid: 803, pgid: 803, sid: 780, state: 'T' }),
    proc({ pid: 590, startTime: 99_999 }),
    batch({ pid: 610, ppid: 1, pgid: 590, sid: 590, startTime: 50 }),
    proc({ pid: 620, ppid: 1, pgid: 620, sid: 620, nvidiaMinors: [0], argv: ['python3', 'holder.py'] }),
    proc({ pid: 621, ppid: 620, pgid: 620, sid: 620, nvidiaMinors: [0] }),
    proc({ pid: 630, ppid: 1, pgid: 630, sid: 625, nvidiaMinors: [0], argv: ['python3', 'train.py'] }),
    proc({ pid: 640, ppid: 50, pgid: 640, sid: 640, comm: 'bash' }),
    proc({ pid: 641, ppid: 1, pgid: 640, sid: 640, nvidiaMinors: [1] }),
    proc({ pid: 642, ppid: 641, pgid: 640, sid: 640 }),
    proc({ pid: 50 }),
  ], { gpu: smi([]) }));
  add('subreaper adopter', snap([
    proc({ pid: 50, comm: 'systemd' }),
    batch({ pid: 700, ppid: 50, pgid: 690, sid: 690 }),
    proc({ pid: 701, ppid: 700, pgid: 690, sid: 690 }),
  ]));

  // post-mortem shapes
  for (const [leader, session] of [[true, true], [false, false], [true, false]] as const) {
    const ps = postmortemProcesses(leader, session, session ? { ...PTS0, tpgid: 880 } : {});
    add(`post-mortem leader ${leader} session ${session}`, snap(ps, { gpu: smi([], 'simulated') }));
  }

  // runs, GPUs, markers
  const apps: GpuState['apps'] = [
    { gpuUuid: 'GPU-a', pid: 810, processName: 'python3', usedMemoryMiB: 2048 },
    { gpuUuid: 'GPU-a', pid: 810, processName: 'python3', usedMemoryMiB: 16 },
    { gpuUuid: 'GPU-b', pid: 810, processName: 'python3', usedMemoryMiB: null },
    { gpuUuid: 'GPU-zz', pid: 813, processName: 'python3', usedMemoryMiB: 7 },
    { gpuUuid: 'GPU-c', pid: 814, processName: 'python3', usedMemoryMiB: 9 },
  ];
  const gpuProcs = [
    proc({ pid: 50 }),
    proc({ pid: 4242, startTime: 5, ppid: 50 }),
    proc({ pid: 810, ppid: 1, pgid: 805, sid: 805, nvidiaMinors: [0, 1, 5] }),
    proc({ pid: 811, ppid: 1, pgid: 805, sid: 805, nvidiaMinors: [1, 0] }),
    proc({ pid: 812, ppid: 50, nvidiaMinors: [0] }),
    proc({ pid: 813, ppid: 1, pgid: 813, sid: 813, nvidiaMinors: [7] }),
    proc({ pid: 814, ppid: 1, pgid: 805, sid: 805, nvidiaMinors: [2] }),
    batch({ pid: 820, ppid: 50, runId: 'r1', taskId: '3' }),
    proc({ pid: 821, ppid: 4242, runId: 'r2' }),
    proc({ pid: 822, ppid: 50, runId: 'nope', nvidiaMinors: [1] }),
    proc({ pid: 830, ppid: 4242, pgid: 830, sid: 830, nvidiaMinors: [0], runId: 'r2' }),
    batch({ pid: 831, ppid: 1, pgid: 831, sid: 831, nvidiaMinors: [0], runId: 'r2' }),
    proc({ pid: 832, ppid: 1, pgid: 832, sid: 832, nvidiaMinors: [0], runId: 'r2', uid: 1001, user: 'eve' }),
    proc({ pid: 833, ppid: 1, pgid: 833, sid: 833, nvidiaMinors: [0], runId: 'r2', cgroup: '/sys/reaper/r2/0' }),
    batch({ pid: 834, ppid: 1, pgid: 805, sid: 805, runId: 'r2' }),
    proc({ pid: 835, ppid: 830, pgid: 830, sid: 830, state: 'T', runId: 'r2' }),
    batch({ pid: 840, ppid: 1, pgid: 840, sid: 840, nvidiaMinors: [0], runId: 'r3' }),
  ];
  const runs: RunSummary[] = [runSummary('r1', false), runSummary('r2', true), { ...runSummary('r3', true), launcher: { pid: 1, startTime: 0 } }, { ...runSummary('r4', false), launcher: null }];
  for (const source of ['nvidia-smi', 'simulated'] as const) {
    for (const allUsers of [false, true]) {
      add(`runs and GPUs ${source} allUsers ${allUsers}`, snap(gpuProcs, { gpu: smi(apps, source) }), { runs, allUsers });
      add(`runs and GPUs ${source} allUsers ${allUsers} no patterns`, snap(gpuProcs, { gpu: smi(apps, source) }), { runs, allUsers, patterns: [] });
    }
  }
  add('no runs recorded', snap(gpuProcs, { gpu: smi(apps) }));
  add('gpu probe failed', snap(gpuProcs, { gpu: { ...smi(apps), ok: false } }), { runs });
  add('ended run without launcher', snap([proc({ pid: 50 }), proc({ pid: 850, ppid: 50, runId: 'r4', nvidiaMinors: [0] })], { gpu: smi([]) }), { runs });
  add('stuck after 0', snap(gpuProcs.concat([proc({ pid: 860, ppid: 50, state: 'D', startTime: 100_000 * 100 - 50 }), proc({ pid: 861, ppid: 50, state: 'Z', startTime: 100_000 * 100 - 50 })])), { stuckAfterSec: 0 });
  add('never flagged', snap([
    proc({ pid: 1, ppid: 0, state: 'T' }),
    proc({ pid: 2, ppid: 0, isKernelThread: true, state: 'D', startTime: 0 }),
    proc({ pid: 10, ppid: 1, pgid: 9, sid: 9, state: 'T' }),
    proc({ pid: 11, ppid: 10, pgid: 9, sid: 9, state: 'T' }),
    proc({ pid: 12, ppid: 1, pgid: 9, sid: 9, state: 'T', uid: 0, user: 'root' }),
    proc({ pid: 610, ppid: 1, pgid: 609, sid: 609, comm: 'slurmd', state: 'T' }),
    proc({ pid: 612, ppid: 1, pgid: 612, sid: 612, comm: 'nvidia-persiste', nvidiaMinors: [0] }),
    proc({ pid: 613, ppid: 1, pgid: 613, sid: 613, comm: 'tritonserver', cgroup: '/system.slice/triton.service', nvidiaMinors: [0] }),
    batch({ pid: 614, ppid: 613, pgid: 613, sid: 613, state: 'T' }),
  ], { selfPid: 11, selfAncestors: [10, 1], gpu: smi([]) }), { allUsers: true });
  return out;
}

/** Seeded random snapshots: tangled trees, groups, sessions, states, markers and GPU holdings. */
function randomCases(count: number): Case[] {
  let seed = 0x5eed;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const out: Case[] = [];
  const runs: RunSummary[] = [runSummary('r1', false), { ...runSummary('r2', true), launcher: { pid: 4242, startTime: 5 } }, { ...runSummary('r5', true), launcher: null, guardian: { pid: 60, startTime: 1060 } }];
  for (let c = 0; c < count; c++) {
    const n = 12 + Math.floor(rnd() * 20);
    const pids = Array.from({ length: n }, (_, i) => 60 + i * 3);
    const ps: ProcInfo[] = [proc({ pid: 4242, startTime: 5, ppid: 1, pgid: 4242, sid: 4242 })];
    const apps: GpuState['apps'][number][] = [];
    for (const [i, pid] of pids.entries()) {
      const ppid = rnd() < 0.3 ? 1 : rnd() < 0.15 ? 4242 : rnd() < 0.1 ? 9999 : (pids[Math.floor(rnd() * Math.max(1, i))] ?? 1);
      const pgid = rnd() < 0.4 ? pid : rnd() < 0.5 ? pick(pids) : 50;
      const sid = rnd() < 0.4 ? pgid : rnd() < 0.5 ? pick(pids) : 50;
      const state = pick(['S', 'S', 'S', 'R', 'T', 't', 'Z', 'D'] as const);
      const tty = rnd() < 0.3 ? { ...PTS0, tpgid: rnd() < 0.5 ? pgid : pick([-1, pick(pids)]) } : {};
      const minors = rnd() < 0.25 ? [pick([0, 1, 4])] : rnd() < 0.1 ? null : [];
      if (rnd() < 0.15) apps.push({ gpuUuid: pick(['GPU-a', 'GPU-b', 'GPU-x']), pid, processName: 'python3', usedMemoryMiB: rnd() < 0.8 ? Math.floor(rnd() * 4096) : null });
      ps.push(proc({
        pid, ppid, pgid, sid, state, ...tty,
        startTime: rnd() < 0.5 ? 10 + i : 100_000 * 100 - 50,
        comm: pick(['python3', 'bash', 'sleep', 'slurmd', 'torchrun']),
        argv: pick([['python3', 'sample_diffusion.py'], ['bash'], ['sleep', '100'], ['python3', 'train.py'], ['torchrun', 'x.py']]),
        wchan: pick([null, '0', 'do_wait', 'uvm_x', 'os_delay']),
        tracerPid: pick([0, 0, pick(pids), 31337]),
        runId: rnd() < 0.25 ? pick(['r1', 'r2', 'r5', 'r9']) : null,
        taskId: rnd() < 0.5 ? '1' : null,
        uid: rnd() < 0.1 ? 1001 : 1000,
        cgroup: rnd() < 0.1 ? '/x/reaper/r2/1' : null,
        nvidiaMinors: minors,
        stopEvidence: state === 'T' ? pick([null, ev('read', '/dev/pts/0'), ev('write', '/dev/tty'), ev('user', null, null)]) : null,
      }));
    }
    const s = snap(ps, { gpu: smi(apps, pick(['nvidia-smi', 'simulated'] as const)) });
    const since = new Map<string, number | { sinceMs: number; observed: boolean }>();
    for (const p of s.processes) if (rnd() < 0.3) since.set(`${p.pid}:${p.startTime}`, rnd() < 0.5 ? s.takenAtMs - Math.floor(rnd() * 50_000) : { sinceMs: s.takenAtMs - Math.floor(rnd() * 50_000), observed: rnd() < 0.5 });
    out.push({ name: `random ${c}`, input: base(s, { runs, allUsers: rnd() < 0.5, stateSinceMs: since, patterns: rnd() < 0.8 ? DEFAULT_BATCH_PATTERNS : [] }) });
  }
  return out;
}

const plain = (v: Map<number, Verdict>) => [...v.entries()].map(([pid, x]) => [pid, x.reasons.map((r) => [r.code, r.text]), x.stopCause ?? null] as const);
const digest = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex');

test('leftover verdicts equal the golden ones (every reason, order, text, code and stop cause)', () => {
  const hand = Object.fromEntries(handCases().map((c) => [c.name, plain(analyze(c.input))]));
  const random = Object.fromEntries(randomCases(150).map((c) => [c.name, digest(plain(analyze(c.input)))]));
  const now = JSON.parse(JSON.stringify({ hand, random })) as { hand: Record<string, unknown>; random: Record<string, string> };
  if (process.env.REAPER_GOLDEN_WRITE === '1') writeFileSync(goldenPath, JSON.stringify(now, null, 1) + '\n');
  assert.ok(existsSync(goldenPath), `${goldenPath} is missing: write it from known-good code with REAPER_GOLDEN_WRITE=1`);
  const golden = JSON.parse(readFileSync(goldenPath, 'utf8')) as typeof now;
  for (const name of Object.keys(golden.hand)) assert.deepEqual(now.hand[name], golden.hand[name], name);
  assert.deepEqual(now.random, golden.random);
  assert.deepEqual(Object.keys(now.hand), Object.keys(golden.hand));

  // The cases really cover every reason, both broken-batch rewrites and the forged markers.
  const all = Object.values(now.hand).flatMap((v) => (v as ReturnType<typeof plain>).flatMap(([, rs]) => rs)) as [string, string][];
  const seen = new Set(all.map(([c]) => c));
  const codes: ReasonCode[] = ['stopped', 'traced', 'zombie', 'uninterruptible', 'orphaned', 'gpu-no-owner', 'gpu-unlisted', 'batch-pattern', 'ended-run'];
  for (const c of codes) assert.ok(seen.has(c), `no case yields ${c}`);
  const texts = all.map(([, t]) => t).join('\n');
  for (const re of [/in its orphaned tree \(root/, /in its process group/, /does not descend from that run's launcher/, /of uid 1000, but it belongs to uid 1001/, /GPU-zz/, /\/dev\/nvidia5/, /GPU reset/, /subreaper 50/]) assert.match(texts, re);
  const randomWithVerdicts = randomCases(150).filter((c) => analyze(c.input).size > 0).length;
  assert.ok(randomWithVerdicts > 100, `only ${randomWithVerdicts} random cases have leftovers`);
});
