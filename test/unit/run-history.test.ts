/** Run history, pure parts: journal text → records → history → lines; run id resolution; safe JSON; log tails. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { buildRunHistory, parseJournalText, type RunHistory } from '../../src/analysis/run-history.js';
import { formatRunHistoryLines } from '../../src/analysis/run-history-text.js';
import { attachStderrTails, readRunHistory, readStderrTail } from '../../src/launch/history.js';
import { resolveRunId } from '../../src/launch/journal.js';
import { toSafeJson } from '../../src/model/sanitize.js';

const ID = '20261202-010000-ab12';
const ctx = (over: Partial<Parameters<typeof buildRunHistory>[1]> = {}): Parameters<typeof buildRunHistory>[1] => ({ id: ID, dir: '/s/runs/' + ID, live: false, nowMs: 10_000, ...over });

const start = { ev: 'run-start', t: 1000, run: ID, name: 'n', file: '/b.yaml', launcher: { pid: 10, startTime: 1 }, guardian: null, layers: [], gpus: ['0', '1'], tasks: [{ task: 0, vars: { ckpt: 'a.pt' } }, { task: 1, vars: {} }, { task: 2, vars: {} }], stages: ['sample', 'evaluate'], graceMs: 1000, cgroup: null, detached: false };
const tstart = (task: number, stage: string, attempt = 1, t = 1100): object => ({ ev: 'task-start', t, task, stage, attempt, gpu: String(task % 2), pid: 100 + task, startTime: 5, pgid: 100 + task, cgroup: null, argv: ['x'], stdout: `/s/runs/${ID}/logs/task${task}.${stage}.stdout.log`, stderr: `/s/runs/${ID}/logs/task${task}.${stage}.stderr.log` });
const tend = (task: number, stage: string, status: string, extra: object = {}): object => ({ ev: 'task-end', t: 2000, task, stage, attempt: 1, gpu: String(task % 2), status, reason: 'exit', detail: status === 'succeeded' ? null : 'exit 3', code: status === 'succeeded' ? 0 : 3, signal: null, durationMs: 900, willRetry: false, ...extra });

function run(records: unknown[], over: Partial<Parameters<typeof buildRunHistory>[1]> = {}): RunHistory {
  const h = buildRunHistory(records, ctx(over));
  assert.equal(h.kind, 'run');
  return h as RunHistory;
}

describe('parseJournalText', () => {
  it('a torn last line is ignored silently; a bad line elsewhere is reported by number; non-records too', () => {
    const text = `${JSON.stringify(start)}\n{bad\n[1,2]\n{"no":"ev"}\n${JSON.stringify(tstart(0, 'sample'))}\n{"ev":"task-e`;
    const r = parseJournalText(text);
    assert.equal(r.records.length, 2);
    assert.deepEqual(r.warnings, ['line 2: not JSON', 'line 3: not a journal record', 'line 4: not a journal record']);
    assert.deepEqual(parseJournalText('{"ev":"x"}\n{bad\n').warnings, ['line 2: not JSON'], 'a complete bad last line is reported');
    assert.deepEqual(parseJournalText(''), { records: [], warnings: [] });
  });
});

describe('buildRunHistory', () => {
  it('per task and stage: outcome, reason, exit code, duration, GPU, logs; counts; a skipped stage after a failure', () => {
    const h = run([start, tstart(0, 'sample'), tend(0, 'sample', 'failed'), { ev: 'task-skip', t: 2000, task: 0, stage: 'evaluate', detail: 'skipped: sample did not succeed' }, tstart(1, 'sample'), tend(1, 'sample', 'succeeded'), tstart(1, 'evaluate'), tend(1, 'evaluate', 'succeeded'), { ev: 'run-end', t: 3000, state: 'failed', by: 'launcher', detail: '1 of 3 tasks failed', exitCode: 1, survivors: 0 }]);
    assert.equal(h.state, 'failed');
    assert.equal(h.durationMs, 2000);
    assert.equal(h.exitCode, 1);
    assert.equal(h.host, null);
    assert.deepEqual(h.tasks.map((t) => t.outcome), ['failed', 'succeeded', 'not-run']);
    assert.equal(h.tasks[0]!.detail, 'sample: exit 3');
    assert.deepEqual(h.tasks[0]!.vars, { ckpt: 'a.pt' });
    const s = h.tasks[0]!.stages[0]!;
    assert.deepEqual([s.outcome, s.reason, s.exitCode, s.durationMs, s.gpu, s.pid], ['failed', 'exit', 3, 900, '0', 100]);
    assert.equal(s.stderrLog, `/s/runs/${ID}/logs/task0.sample.stderr.log`);
    assert.equal(h.tasks[0]!.stages[1]!.outcome, 'skipped');
    assert.deepEqual({ ...h.counts }, { total: 3, succeeded: 1, failed: 1, cancelled: 0, skipped: 0, running: 0, pending: 0, notRun: 1, unknown: 0 });
  });

  it('retries: a retried failure does not fail the task; each attempt is its own stage entry', () => {
    const h = run([start, tstart(0, 'sample', 1), tend(0, 'sample', 'failed', { willRetry: true }), tstart(0, 'sample', 2), tend(0, 'sample', 'succeeded', { attempt: 2 }), tstart(0, 'evaluate'), tend(0, 'evaluate', 'succeeded'), { ev: 'run-end', t: 3000, state: 'finished', by: 'launcher', detail: null, exitCode: 0, survivors: 0 }]);
    assert.equal(h.tasks[0]!.outcome, 'succeeded');
    assert.deepEqual(h.tasks[0]!.stages.map((s) => [s.stage, s.attempt, s.outcome, s.retried]), [['sample', 1, 'failed', true], ['sample', 2, 'succeeded', false], ['evaluate', 1, 'succeeded', false]]);
  });

  it('no end record: running while the launcher lives (durations count to now), crashed with "unknown" stages when it is gone', () => {
    const recs = [start, tstart(0, 'sample'), { ev: 'task-stuck', t: 1500, task: 0, stage: 'sample', pid: 101, state: 'T', forMs: 12_000, cmd: 'python3 s.py', action: 'warn' }];
    const live = run(recs, { live: true });
    assert.equal(live.state, 'running');
    assert.equal(live.durationMs, 9000);
    assert.deepEqual(live.tasks.map((t) => t.outcome), ['running', 'pending', 'pending']);
    assert.equal(live.tasks[0]!.stages[0]!.durationMs, 8900);
    assert.equal(live.tasks[0]!.stages[0]!.stuck, 'T for 12s: pid 101 python3 s.py');
    const lines = formatRunHistoryLines(live);
    assert.ok(lines.includes('  sample    running  8.9s  gpu 0  pid 100'), lines.join('\n'));
    assert.ok(lines.includes('      stuck: T for 12s: pid 101 python3 s.py'), lines.join('\n'));
    assert.ok(lines.includes('task 1: pending'), lines.join('\n'));
    const gone = run(recs, { live: false });
    assert.equal(gone.state, 'crashed');
    assert.equal(gone.durationMs, null);
    assert.deepEqual(gone.tasks.map((t) => t.outcome), ['unknown', 'not-run', 'not-run']);
    assert.equal(gone.tasks[0]!.stages[0]!.detail, 'no end record: launcher gone');
  });

  it('fields of the wrong type become unknown, never a crash; records of unknown tasks are ignored', () => {
    const weird = [{ ...start, name: 42, launcher: 'x', tasks: [{ task: 0, vars: { a: { nested: 1 }, b: 2 } }, { task: 'one' }, null], stages: 'sample' }, { ev: 'task-start', task: 0, stage: 'sample', attempt: 'x', gpu: 7, pid: -1.5 }, { ev: 'task-end', task: 0, stage: 'sample', status: 'exploded', code: '3', durationMs: 'long' }, { ev: 'task-end', task: 9, stage: 'sample', status: 'failed' }, { ev: 'run-end', state: 'bogus' }, 'text', null, 7];
    const h = run(weird);
    assert.equal(h.name, '');
    assert.equal(h.launcherPid, null);
    assert.equal(h.state, 'crashed', 'an unknown end state is not trusted as a success');
    assert.deepEqual(h.tasks.map((t) => t.task), [0]);
    assert.deepEqual(h.tasks[0]!.vars, { b: '2' });
    const s = h.tasks[0]!.stages[0]!;
    assert.deepEqual([s.outcome, s.exitCode, s.gpu, s.pid, s.durationMs], ['unknown', null, null, null, null]);
    assert.ok(formatRunHistoryLines(h, 80).length > 0);
  });

  it('no run-start: unreadable with the reason, including the first bad line', () => {
    const parsed = parseJournalText('garbage\n{"ev":"task-start","task":0,"stage":"s"}\n{"ev":"run-e');
    const h = buildRunHistory(parsed.records, ctx({ warnings: parsed.warnings }));
    assert.deepEqual(h, { kind: 'unreadable', id: ID, dir: '/s/runs/' + ID, reason: 'no run-start record (line 1: not JSON)' });
    assert.equal((buildRunHistory([], ctx()) as { reason: string }).reason, 'empty journal');
  });

  it('the launcher host is shown when the run-start records it', () => {
    assert.equal(run([{ ...start, host: 'gpu-07' }]).host, 'gpu-07');
  });
});

describe('formatRunHistoryLines', () => {
  it('sanitises every journal and log string and cuts lines to the width', () => {
    const h = run([{ ...start, name: 'evil\x1b[2J', tasks: [{ task: 0, vars: { k: 'v\u202e' } }] }, tstart(0, 'sample'), tend(0, 'sample', 'failed', { detail: 'exit 3\x9b31m' }), { ev: 'run-end', t: 3000, state: 'failed', by: 'launcher', detail: null, exitCode: 1, survivors: 0 }]);
    const withTail = attachStderrTails(h, 10, () => ({ lines: ['boom \x1b]0;title\x07', 'x'.repeat(300)], truncated: false, error: null }));
    const lines = formatRunHistoryLines(withTail, 60);
    const text = lines.join('\n');
    assert.ok(!/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/.test(text), text);
    assert.ok(text.includes('evil\\x1b[2J'));
    assert.ok(text.includes('| boom \\x1b]0;title\\x07'));
    for (const l of lines) assert.ok(l.length <= 60, l);
    assert.ok(lines.some((l) => l.endsWith('…')));
    assert.ok(formatRunHistoryLines(withTail).some((l) => l.includes('x'.repeat(300))), 'no width: nothing is cut');
  });
});

describe('resolveRunId (the one resolver stop, show and reap share)', () => {
  const ids = ['20261201-090000-aaaa', '20261202-090000-bbbb', '20261202-100000-cccc'];
  const state = mkdtempSync(path.join(os.tmpdir(), 'reaper-resolve-'));
  for (const id of ids) mkdirSync(path.join(state, 'runs', id), { recursive: true });
  after(() => rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
  it('whole id, last, or a unique prefix of at least 8 characters', () => {
    assert.equal(resolveRunId(state, 'last'), '20261202-100000-cccc');
    assert.equal(resolveRunId(state, '20261201-090000-aaaa'), '20261201-090000-aaaa');
    assert.equal(resolveRunId(state, '20261201'), '20261201-090000-aaaa');
    assert.equal(resolveRunId(state, '20261202-1'), '20261202-100000-cccc');
  });
  it('refuses suffixes, short prefixes, ambiguous prefixes and unknown ids (exit 2 codes), never echoing escapes', () => {
    const code = (arg: string): string => {
      try {
        resolveRunId(state, arg);
        return 'resolved';
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    assert.notEqual(code('cccc'), 'resolved', 'a suffix never matches');
    assert.equal(code('2026120'), 'USAGE', 'too short');
    assert.equal(code('20261202'), 'USAGE', 'ambiguous');
    assert.equal(code('20991231'), 'RUN_NOT_FOUND');
    assert.notEqual(code(''), 'resolved');
    assert.throws(() => resolveRunId(path.join(state, 'none'), 'last'), /no runs recorded/);
    assert.throws(() => resolveRunId(state, 'x\x1b[2J'), (e: Error) => !e.message.includes('\x1b'));
  });
});

describe('toSafeJson (the one JSON serialiser of every --json output)', () => {
  it('escapes DEL, C1, bidi and line separators that JSON.stringify leaves raw; the value round-trips', () => {
    const v = { s: 'a\x7fb\x9bc\u200ed\u200fe\u202af\u202eg\u2066h\u2069i\u2028j\u2029k\x1bl' };
    const out = toSafeJson(v);
    assert.ok(!/[\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\x1b]/.test(out), out);
    assert.ok(out.includes('\\u009b') && out.includes('\\u202e') && out.includes('\\u200f'));
    assert.deepEqual(JSON.parse(out), v);
    assert.ok(JSON.stringify(v).includes('\x9b'), 'JSON.stringify alone would pass it raw');
  });
});

describe('readStderrTail', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'reaper-tail-'));
  after(() => rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
  const dir = path.join(tmp, 'run');
  mkdirSync(path.join(dir, 'logs'), { recursive: true });

  it('reads only the end of a big log: the last lines, a progress bar as a terminal shows it', () => {
    const big = path.join(dir, 'logs', 'big.log');
    const head = 'HEAD-LINE\n'.repeat(100_000);
    writeFileSync(big, `${head}step 1\rstep 2\rstep 3\nlast line\r\n`);
    const t = readStderrTail(dir, big, 2);
    assert.deepEqual(t, { lines: ['step 3', 'last line'], truncated: true, error: null });
    const all = readStderrTail(dir, big, 100_000);
    assert.ok(all.lines.length < 64 * 1024 / 10 + 2, `${all.lines.length} lines: only the last 64 KiB were read`);
  });

  it('refuses a symlink, a path outside the run folder, a folder on the way that leads outside, and a FIFO', () => {
    symlinkSync('/etc/passwd', path.join(dir, 'logs', 'link.log'));
    assert.equal(readStderrTail(dir, path.join(dir, 'logs', 'link.log'), 5).error, 'is a symlink');
    assert.equal(readStderrTail(dir, '/etc/passwd', 5).error, 'log is not inside the run folder');
    assert.equal(readStderrTail(dir, path.join(dir, '..', '..', 'etc', 'passwd'), 5).error, 'log is not inside the run folder');
    symlinkSync('/etc', path.join(dir, 'etclink'));
    assert.equal(readStderrTail(dir, path.join(dir, 'etclink', 'passwd'), 5).error, 'log is not inside the run folder');
    assert.equal(readStderrTail(dir, path.join(dir, 'logs', 'missing.log'), 5).error, 'ENOENT');
    const fifo = path.join(dir, 'logs', 'fifo.log');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    assert.equal(readStderrTail(dir, fifo, 5).error, 'log is not a regular file', 'opened without blocking, then refused');
  });
});

describe('a Slurm stage', () => {
  it('shows its job, never "pid 0"', () => {
    const h = run([start, { ...tstart(0, 'sample'), pid: 0, pgid: 0, startTime: null, job: { id: '4711', name: `reaper-${ID}-0-sample` } }, tend(0, 'sample', 'succeeded')]);
    const text = formatRunHistoryLines(h).join('\n');
    assert.match(text, /sample\s+succeeded.*Slurm job 4711/);
    assert.doesNotMatch(text, /pid 0\b/);
  });
});

describe('readRunHistory: the trust rules of stop and reap', () => {
  it('a run folder others can write is unreadable, and none of its log paths is followed', () => {
    const state = mkdtempSync(path.join(os.tmpdir(), 'reaper-hist-trust-'));
    after(() => rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
    const dir = path.join(state, 'runs', ID);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dir, 'journal.jsonl'), JSON.stringify(start) + '\n', { mode: 0o600 });
    const ok = readRunHistory(state, ID);
    assert.notEqual(ok.kind, 'unreadable', JSON.stringify(ok));
    chmodSync(dir, 0o777);
    const h = readRunHistory(state, ID, { tailLines: 5 });
    assert.equal(h.kind, 'unreadable');
    assert.match((h as { reason: string }).reason, /writable/);
  });
});
