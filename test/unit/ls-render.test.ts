import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isReaperError } from '../../src/model/errors.js';
import { sanitizeText, toSafeJson } from '../../src/model/sanitize.js';
import { buildLsDocument } from '../../src/cli/render/ls-json.js';
import { gpuHoldings, selectLs } from '../../src/cli/render/ls-model.js';
import { formatElapsed, renderLsText } from '../../src/cli/render/ls-text.js';
import { wrapArgv } from '../../src/launch/containment.js';
import { fakeGpuState, fakeProc, fakeSnapshot } from '../helpers/proc-fake.js';

// A driver (10) with two pool workers (11 stopped on GPU 0, 12 on GPU 1 via /dev/nvidia1 only),
// a grandchild (13), someone else's process (20) and a kernel thread (2).
const procs = [
  fakeProc({ pid: 2, ppid: 0, uid: 0, user: 'root', isKernelThread: true, argv: [], cmd: '[kthreadd]' }),
  fakeProc({ pid: 10, ppid: 1, stat: 'Ss', cmd: 'python driver.py', startTime: 5000 }),
  fakeProc({ pid: 11, ppid: 10, state: 'T', stat: 'Tl', threads: 4, cmd: 'python worker.py 0', nvidiaMinors: [0] }),
  fakeProc({ pid: 12, ppid: 10, cmd: 'python worker.py 1', nvidiaMinors: [1], cpuPercent: 12.345 }),
  fakeProc({ pid: 13, ppid: 11, cmd: 'python loader.py\x1b[2J' }),
  fakeProc({ pid: 20, ppid: 1, uid: 1001, user: 'bob', cmd: 'bash' }),
];
const uuid0 = 'GPU-00000000-aaaa-bbbb-cccc-dddddddddddd';
const gpu = fakeGpuState(2, [{ gpuUuid: uuid0, pid: 11, processName: 'python', usedMemoryMiB: 2048 }]);
const snap = fakeSnapshot(procs, gpu);

test('gpuHoldings merges compute apps and open device minors', () => {
  const h = gpuHoldings(snap);
  assert.deepEqual(h.get(11), [{ uuid: uuid0, index: 0, usedMemoryMiB: 2048, minor: 0 }]);
  assert.deepEqual(h.get(12), [{ uuid: 'GPU-00000001-aaaa-bbbb-cccc-dddddddddddd', index: 1, usedMemoryMiB: null, minor: 1 }]);
  assert.equal(h.get(10), undefined);
});

test('selection: user, all, pid subtree, gpu holders', () => {
  const pids = (sel: Parameters<typeof selectLs>[1]) => selectLs(snap, sel).shown.map((p) => p.pid);
  assert.deepEqual(pids({ kind: 'user', uid: 1000 }), [10, 11, 12, 13]);
  assert.deepEqual(pids({ kind: 'all' }), [2, 10, 11, 12, 13, 20]);
  assert.deepEqual(pids({ kind: 'pid', pid: 11 }), [11, 13]);
  assert.deepEqual(pids({ kind: 'gpu', index: 0 }), [11, 13]);
  assert.deepEqual(pids({ kind: 'gpu', index: 1 }), [12]);
  assert.deepEqual(selectLs(snap, { kind: 'pid', pid: 11 }).forest.roots, [11]);
  for (const sel of [{ kind: 'pid', pid: 777 }, { kind: 'gpu', index: 5 }] as const) {
    assert.throws(() => selectLs(snap, sel), (e: unknown) => isReaperError(e) && e.code === 'NOT_FOUND');
  }
});

test('buildLsDocument: the documented shape, leftover from verdicts', () => {
  const verdicts = new Map([[11, { reasons: [{ code: 'stopped', text: 'stopped (T) 5 s' }] }]]);
  const doc = buildLsDocument(snap, { selection: { kind: 'user', uid: 1000 }, verdicts });
  assert.deepEqual(doc.gpuProbe, { source: 'simulated', ok: true, error: null });
  assert.equal(doc.gpus.length, 2);
  assert.deepEqual(Object.keys(doc.gpus[0]!), ['index', 'uuid', 'name', 'busId', 'utilizationGpu', 'memoryUsedMiB', 'memoryTotalMiB', 'temperatureC', 'powerDrawW', 'powerLimitW']);
  const p11 = doc.processes.find((p) => p.pid === 11)!;
  for (const k of ['pid', 'ppid', 'pgid', 'sid', 'stat', 'state', 'threads', 'startTime', 'uid', 'user', 'cmd', 'gpus', 'leftover']) assert.ok(k in p11, k);
  assert.equal(p11.stat, 'Tl');
  assert.deepEqual(p11.gpus, [{ uuid: uuid0, index: 0, usedMemoryMiB: 2048, minor: 0 }]);
  assert.deepEqual(p11.leftover, { reasons: [{ code: 'stopped', text: 'stopped (T) 5 s' }] });
  assert.equal(doc.processes.find((p) => p.pid === 10)!.leftover, null);
  assert.equal(doc.processes.find((p) => p.pid === 12)!.cpuPercent, 12.3);
  assert.equal(doc.processes.find((p) => p.pid === 10)!.elapsedSec, 50);
  // JSON-serialisable, no undefined.
  assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc);
});

test('renderLsText: ps f forest, GPU columns, verdict marks, sanitised', () => {
  const verdicts = new Map([[11, { reasons: [{ code: 'stopped', text: 't' }, { code: 'orphaned', text: 'o' }] }]]);
  const text = renderLsText(snap, { selection: { kind: 'user', uid: 1000 }, verdicts });
  const lines = text.trimEnd().split('\n');
  assert.match(lines[0]!, /^\s+PID USER\s+STAT\s+%CPU\s+RSS GPU\s+GPUMEM ELAPSED REASONS\s+COMMAND$/);
  assert.match(lines[1]!, /^ +10 alice Ss .* python driver\.py$/);
  assert.match(lines[2]!, /^! +11 alice Tl .* 0 +2048MiB .* stopped,orphaned +\\_ python worker\.py 0$/);
  assert.match(lines[3]!, /^ +13 .* \|   \\_ python loader\.py\\x1b\[2J$/);
  assert.match(lines[4]!, /^ +12 .* 1 +- .* \\_ python worker\.py 1$/);
  assert.equal(lines.length, 5);
  assert.ok(!text.includes('\x1b'));
  const plain = renderLsText(snap, { selection: { kind: 'pid', pid: 12 } });
  assert.ok(!plain.includes('REASONS'));
  const cut = renderLsText(snap, { selection: { kind: 'all' }, width: 30 });
  for (const l of cut.trimEnd().split('\n')) assert.ok(l.length <= 30);
});

test('formatElapsed like ps etime', () => {
  assert.equal(formatElapsed(0), '00:00');
  assert.equal(formatElapsed(65), '01:05');
  assert.equal(formatElapsed(3600 + 62), '01:01:02');
  assert.equal(formatElapsed(2 * 86400 + 3 * 3600 + 4 * 60 + 5), '2-03:04:05');
});

test('toSafeJson: C1, bidi, LRM/RLM and U+2028/9 are \\u escapes; the value round-trips', () => {
  const hostile = ['a\x1b[2Jb', 'c\u009b31md', 'e\u202ef\u2066g\u2069', 'h\u200ei\u200fj', 'k\u2028l\u2029m', 'n\x7fo', 'p\nq', 'ünïcode ✓'];
  const text = toSafeJson({ argv: hostile }, 2);
  assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
  assert.ok(text.includes('\\u009b') && text.includes('\\u202e') && text.includes('\\u2028') && text.includes('\\u007f'));
  assert.ok(text.includes('ünïcode ✓'), 'other text is left as it is');
  assert.deepEqual(JSON.parse(text), { argv: hostile });
  assert.equal(toSafeJson(undefined), 'null');
});

test('sanitizeText escapes bidi marks and line separators too', () => {
  assert.equal(sanitizeText('a\u200eb\u2028c\u061cd'), 'a\\u200eb\\u2028c\\u061cd');
  assert.equal(sanitizeText(sanitizeText('x\x1by')), 'x\\x1by', 'idempotent');
});

test("ls text names reaper's wrapper by its layer and shows the user's command (JSON keeps the argv)", () => {
  // The argv the launcher really builds for the PID-namespace layer alone.
  const argv = wrapArgv({ layers: [], cgroupBase: null, pidnsPrefix: ['/usr/bin/unshare', '--pid', '--fork', '--kill-child'], pidnsInit: null, setpriv: null, guardian: false }, ['python3', 'sample_diffusion.py', '--ckpt', 'a.pt'], null);
  const wrapper = fakeProc({ pid: 40, ppid: 1, pgid: 40, sid: 40, runId: '20261202-010000-ab12', argv, cmd: argv.join(' ') });
  const user = fakeProc({ pid: 41, ppid: 40, pgid: 40, sid: 40, runId: '20261202-010000-ab12', argv: argv.slice(5), cmd: argv.slice(5).join(' ') });
  // The same argv without the evidence (no marker): an ordinary unshare the user ran, shown as is.
  const plain = fakeProc({ pid: 50, ppid: 1, pgid: 50, sid: 50, argv, cmd: argv.join(' ') });
  const s = fakeSnapshot([wrapper, user, plain], fakeGpuState(0, []));
  const text = renderLsText(s);
  const row = (pid: number): string => text.split('\n').find((l) => new RegExp(`^\\s*\\S?\\s*${pid} `).test(l)) ?? '';
  assert.match(row(40), /\[reaper pidns\] python3 sample_diffusion\.py --ckpt a\.pt$/);
  assert.doesNotMatch(row(40), /--kill-child/);
  assert.match(row(50), /\/usr\/bin\/unshare --pid --fork --kill-child -- python3/);
  const doc = buildLsDocument(s) as unknown as { processes: { pid: number; argv: string[] }[] };
  assert.deepEqual(doc.processes.find((p) => p.pid === 40)?.argv, argv);
});
