import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCmdline, parseCmdlineBytes, parseEnvMarkers, parseEnvMarkersBytes, buildCmd } from '../../src/probe/proc-cmdline.js';
import { nvidiaMinorOf } from '../../src/probe/proc-fd.js';
import { emptyRawStat, formatStat, isKernelThreadStat, parseStat, parseStatBytes, PF_KTHREAD } from '../../src/probe/proc-stat.js';
import { parseStatmResidentPages, parseStatus, parseStatusBytes } from '../../src/probe/proc-status.js';
import { parseAuxv, parseBootTime } from '../../src/probe/proc-sys.js';
import { parseTtyName, ttyMajor, ttyMinor } from '../../src/probe/proc-tty.js';
import { parsePasswd } from '../../src/probe/users.js';
import { STAT_BASH, STAT_INIT, STAT_KTHREADD, statWithComm, STATUS_INIT, STATUS_TRACED, STATUS_ZOMBIE } from '../fixtures/proc/samples.js';

function viaBytes(text: string) {
  const b = Buffer.alloc(4096, 0x29); // stale ')' bytes after the data must not confuse the parser
  const n = b.write(text, 'utf8');
  const out = emptyRawStat();
  return parseStatBytes(b, n, out) ? out : null;
}

test('parseStat: captured lines', () => {
  const s = parseStat(STAT_INIT)!;
  assert.equal(s.pid, 1);
  assert.equal(s.comm, 'process_api');
  assert.equal(s.state, 'S');
  assert.equal(s.ppid, 0);
  assert.equal(s.tpgid, -1);
  assert.equal(s.utime, 63);
  assert.equal(s.stime, 334);
  assert.equal(s.nice, 0);
  assert.equal(s.numThreads, 13);
  assert.equal(s.startTime, 30);
  assert.equal(s.vsizeBytes, 46632960);
  assert.equal(s.rssPages, 3827);
  assert.equal(s.startCode, 1);
  const b = parseStat(STAT_BASH)!;
  assert.equal(b.startCode, 93992802906112);
  assert.equal(b.startStack, 140732815256784);
  assert.deepEqual([b.pid, b.ppid, b.pgid, b.sid, b.ttyNr, b.startTime], [2457, 2456, 2457, 2457, 0, 25300]);
  const k = parseStat(STAT_KTHREADD)!;
  assert.ok((k.flags & PF_KTHREAD) !== 0);
  assert.ok(isKernelThreadStat(k));
  assert.ok(!isKernelThreadStat(s));
});

const NASTY = ['x) T 777 (', 'a b c', '((()))', '', '123456789012345', ') ', 'x) (y', ' ', 'ünï'];

for (const comm of NASTY) {
  test(`parseStat and parseStatBytes agree on comm ${JSON.stringify(comm)}`, () => {
    const line = statWithComm(4321, comm, 'T');
    const a = parseStat(line);
    const b = viaBytes(line);
    assert.ok(a && b);
    assert.equal(a.comm, comm);
    assert.equal(a.state, 'T');
    assert.equal(a.pid, 4321);
    assert.equal(a.ppid, 2456);
    assert.equal(a.startTime, 25300);
    assert.deepEqual({ ...b }, { ...a });
  });
}

test('parseStat and parseStatBytes agree on captured lines', () => {
  for (const line of [STAT_INIT, STAT_KTHREADD, STAT_BASH]) assert.deepEqual({ ...viaBytes(line)! }, { ...parseStat(line)! });
});

test('parseStat: malformed input is null, not a throw', () => {
  for (const bad of ['', 'garbage', '12 (x', '12 (x) Q 1 2 3', '12 (x) S 1 2', 'x (y) S ' + '0 '.repeat(30)]) {
    assert.equal(parseStat(bad), null, bad);
    assert.equal(viaBytes(bad), null, bad);
  }
});

test('parseStat: negative nice and tpgid', () => {
  const line = STAT_BASH.replace(' 20 0 1 0 25300', ' 39 19 1 0 25300').replace('2457 0 -1', '2457 34816 2457');
  const s = parseStat(line)!;
  assert.equal(s.nice, 19);
  assert.equal(s.ttyNr, 34816);
  assert.equal(s.tpgid, 2457);
  const neg = parseStat(STAT_BASH.replace(' 20 0 1 0 25300', ' 0 -20 1 0 25300'))!;
  assert.equal(neg.nice, -20);
  assert.equal(viaBytes(STAT_BASH.replace(' 20 0 1 0 25300', ' 0 -20 1 0 25300'))!.nice, -20);
});

test('formatStat: the pr_stat() table', () => {
  const base = { state: 'S', nice: 0, lockedKiB: 0, pid: 10, sid: 1, threads: 1, pgid: 10, tpgid: -1 };
  const rows: Array<[Partial<typeof base>, string]> = [
    [{}, 'S'],
    [{ state: 'T', threads: 8 }, 'Tl'],
    [{ state: 'T', sid: 10 }, 'Ts'],
    [{ nice: -5 }, 'S<'],
    [{ nice: 19 }, 'SN'],
    [{ lockedKiB: 4 }, 'SL'],
    [{ tpgid: 10 }, 'S+'],
    [{ state: 'R', nice: -1, lockedKiB: 8, sid: 10, threads: 3, tpgid: 10 }, 'R<Lsl+'],
    [{ state: 'Z', sid: 10, tpgid: 10, nice: 5 }, 'ZNs+'],
    [{ state: 'D', threads: 2 }, 'Dl'],
    [{ state: 'I', pid: 3, sid: 0, pgid: 0, tpgid: -1 }, 'I'],
    [{ state: 't', threads: 9 }, 'tl'],
  ];
  for (const [over, want] of rows) assert.equal(formatStat({ ...base, ...over }), want, JSON.stringify(over));
});

function rssOf(status: string): number {
  return Number(/VmRSS:\s*(\d+)/.exec(status)?.[1] ?? 0);
}

test('statm: resident pages are field 2, bytes past len ignored', () => {
  const b = Buffer.from('2405 454 398 2 0 87 0\n');
  assert.equal(parseStatmResidentPages(b, b.length), 454);
  assert.equal(parseStatmResidentPages(Buffer.from('2405 '), 5), null);
  const stale = Buffer.from('1 2345678');
  assert.equal(parseStatmResidentPages(stale, 3), 2);
});

test('parseStatus and parseStatusBytes', () => {
  const cases: Array<[string, { uid: number | null; lockedKiB: number; tracerPid: number | null; rssKiB: number }]> = [
    [STATUS_INIT, { uid: 0, lockedKiB: 15212, tracerPid: 0, rssKiB: 15308 }],
    [STATUS_TRACED, { uid: 1000, lockedKiB: 0, tracerPid: 4300, rssKiB: rssOf(STATUS_TRACED) }],
    [STATUS_ZOMBIE, { uid: 1001, lockedKiB: 0, tracerPid: 0, rssKiB: 0 }],
    ['', { uid: null, lockedKiB: 0, tracerPid: null, rssKiB: 0 }],
  ];
  for (const [text, want] of cases) {
    assert.deepEqual({ ...parseStatus(text) }, want);
    const b = Buffer.alloc(8192);
    const n = b.write(text);
    assert.deepEqual({ ...parseStatusBytes(b, n) }, want);
  }
});

test('cmdline: NUL split, trailing NUL, empty, inner empty args', () => {
  assert.deepEqual(parseCmdline('python3\0-c\0print(1)\0'), ['python3', '-c', 'print(1)']);
  assert.deepEqual(parseCmdline(''), []);
  assert.deepEqual(parseCmdline('a\0\0b\0'), ['a', '', 'b']);
  assert.deepEqual(parseCmdline('setproctitle style no nul'), ['setproctitle style no nul']);
  const b = Buffer.from('x\0y\0ZZZZ');
  assert.deepEqual(parseCmdlineBytes(b, 4), ['x', 'y']);
  assert.equal(buildCmd(['echo', 'a\x1b[2Jb'], 'echo'), 'echo a\\x1b[2Jb');
  assert.equal(buildCmd([], 'kworker/0:1'), '[kworker/0:1]');
  assert.equal(buildCmd(null, 'x\ny'), '[x\\ny]');
});

test('environ markers', () => {
  assert.deepEqual({ ...parseEnvMarkers('HOME=/root\0REAPER_RUN=r-1\0REAPER_TASK=t-7\0') }, { runId: 'r-1', taskId: 't-7' });
  assert.deepEqual({ ...parseEnvMarkers('REAPER_RUN=first\0X=1\0') }, { runId: 'first', taskId: null });
  assert.deepEqual({ ...parseEnvMarkers('NOT_REAPER_RUN=x\0') }, { runId: null, taskId: null });
  assert.deepEqual({ ...parseEnvMarkers('') }, { runId: null, taskId: null });
});

test('cmdline cut at the read cap: the last argument ends in …', () => {
  const b = Buffer.from('python3\0-c\0print(1)\0');
  assert.deepEqual(parseCmdlineBytes(b, 13, true), ['python3', '-c', 'pr…']);
  // A cut right after a NUL: the empty tail still says that more followed.
  assert.deepEqual(parseCmdlineBytes(b, 11, true), ['python3', '-c', '…']);
  assert.deepEqual(parseCmdlineBytes(b, b.length, false), ['python3', '-c', 'print(1)']);
});

test('environ markers: only the bytes read count; a value cut at the cap is not a run id', () => {
  // A reused buffer: this file is 8 bytes, stale bytes of a bigger earlier file follow.
  const b = Buffer.from('A=1\0B=2\0REAPER_RUN=stale\0');
  assert.deepEqual({ ...parseEnvMarkersBytes(b, 8) }, { runId: null, taskId: null });
  const cut = Buffer.from('REAPER_TASK=3\0REAPER_RUN=run-2026-abc\0');
  assert.deepEqual({ ...parseEnvMarkersBytes(cut, 30, true) }, { runId: null, taskId: '3' });
  assert.deepEqual({ ...parseEnvMarkersBytes(cut, 30, false) }, { runId: 'run-2', taskId: '3' });
  assert.deepEqual({ ...parseEnvMarkersBytes(cut, cut.length, true) }, { runId: 'run-2026-abc', taskId: '3' });
});

test('nvidiaMinorOf ignores control devices', () => {
  assert.equal(nvidiaMinorOf('/dev/nvidia0'), 0);
  assert.equal(nvidiaMinorOf('/dev/nvidia13'), 13);
  for (const t of ['/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia-uvm-tools', '/dev/nvidia-modeset', '/dev/nvidia-caps/nvidia-cap1', '/dev/null', 'socket:[123]', '/dev/nvidia0 (deleted)']) {
    assert.equal(nvidiaMinorOf(t), null, t);
  }
});

test('tty names as ps prints them', () => {
  const enc = (major: number, minor: number): number => (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
  assert.equal(parseTtyName(0), null);
  assert.equal(parseTtyName(enc(136, 3)), 'pts/3');
  assert.equal(parseTtyName(enc(136, 300)), 'pts/300');
  assert.equal(parseTtyName(enc(4, 1)), 'tty1');
  assert.equal(parseTtyName(enc(4, 64)), 'ttyS0');
  assert.equal(parseTtyName(enc(5, 1)), 'console');
  assert.equal(ttyMajor(enc(136, 300)), 136);
  assert.equal(ttyMinor(enc(136, 300)), 300);
  assert.equal(parseTtyName(34816), 'pts/0');
});

test('passwd, btime, auxv', () => {
  const m = parsePasswd('root:x:0:0:root:/root:/bin/bash\n# c\nbob:x:1000:1000::/home/bob:/bin/sh\nbob2:x:1000:1000::/:/bin/sh\nbad\n');
  assert.equal(m.get(0), 'root');
  assert.equal(m.get(1000), 'bob');
  assert.equal(parseBootTime('cpu  1 2 3\nbtime 1764367000\nprocesses 5\n'), 1764367000);
  assert.equal(parseBootTime('cpu 1\n'), null);
  const aux = Buffer.alloc(64);
  aux.writeBigUInt64LE(6n, 0);
  aux.writeBigUInt64LE(4096n, 8);
  aux.writeBigUInt64LE(17n, 16);
  aux.writeBigUInt64LE(100n, 24);
  assert.deepEqual(parseAuxv(aux), { clockTicks: 100, pageSize: 4096 });
});
