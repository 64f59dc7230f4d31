/** `reaper log`'s pure part: record checks, joining intent and outcome, filters, --since; and the writer's rotation. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { AUDIT_ROTATE_BYTES, AuditTrail, openAuditLog, type AuditRecord } from '../../src/actions/audit.js';
import { auditRecordProblem, buildLogEntries, filterLogEntries, parseAuditText, parseSince } from '../../src/cli/render/log-entries.js';
import { renderLogLine } from '../../src/cli/render/log-text.js';

const base: AuditRecord = {
  v: 1,
  id: '0123456789abcdef',
  phase: 'intent',
  t: '2026-12-01T10:00:00.000Z',
  host: 'gpu7',
  by: { uid: 1000, user: 'bob' },
  asked: 'key K (reaper top)',
  pid: 4711,
  start: 99,
  owner: { uid: 1001, user: 'alice' },
  cmd: 'python3 train.py --lr 0.1',
  reasons: ['orphaned-batch', 'stopped-tty'],
  signal: 'SIGKILL',
};
const outcome: AuditRecord = { ...base, phase: 'outcome', t: '2026-12-01T10:00:01.000Z', outcome: 'gone', detail: 'killed (SIGKILL)', sent: ['SIGSTOP', 'SIGKILL'] };

describe('audit records', () => {
  it('accepts exactly what reaper writes', () => {
    assert.equal(auditRecordProblem(base), null);
    assert.equal(auditRecordProblem(outcome), null);
    assert.equal(auditRecordProblem({ ...base, by: { uid: 0, user: 'root', sudoUser: 'bob', sudoUid: 1000 }, run: '20261201-100000-abcd', task: '3 train', via: 'cgroup.kill /sys/fs/cgroup/x' }), null);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['an array', [], /not a JSON object/],
    ['another version', { ...base, v: 2 }, /version/],
    ['a short id', { ...base, id: 'abc' }, /bad id/],
    ['a bad time', { ...base, t: 'yesterday' }, /bad time/],
    ['pid 1', { ...base, pid: 1 }, /bad pid/],
    ['a string pid', { ...base, pid: '4711' }, /bad pid/],
    ['a negative start', { ...base, start: -1 }, /start/],
    ['an escape in cmd', { ...base, cmd: 'x\u001b[2Jy' }, /cmd has control characters/],
    ['a bidi override in asked', { ...base, asked: 'reap \u202e' }, /asked has control characters/],
    ['a newline in a reason', { ...base, reasons: ['a\nb'] }, /reasons has control characters/],
    ['an over-long cmd', { ...base, cmd: 'x'.repeat(513) }, /cmd is longer/],
    ['an unknown field', { ...base, trusted: true }, /unknown field "trusted"/],
    ['an unknown owner field', { ...base, owner: { uid: 1, user: 'a', admin: 1 } }, /owner has an unknown field/],
    ['a bad signal', { ...base, signal: 'kill -9' }, /bad signal/],
    ['an outcome without outcome', { ...outcome, outcome: undefined }, /bad outcome/],
    ['an intent with an outcome', { ...base, outcome: 'gone' }, /intent with an outcome/],
  ];
  for (const [what, v, why] of bad) {
    it(`refuses ${what}`, () => assert.match(auditRecordProblem(JSON.parse(JSON.stringify(v))) ?? 'accepted', why));
  }

  it('parseAuditText: one warning per skipped line, with file and line; a cut-off last line is not a record', () => {
    const text = `${JSON.stringify(base)}\nnope\n\n${'x'.repeat(9000)}\n${JSON.stringify(outcome)}`;
    const p = parseAuditText(text, '/h/audit.jsonl');
    assert.equal(p.records.length, 1);
    assert.deepEqual(p.warnings, [
      '/h/audit.jsonl:5: skipped: incomplete last line',
      '/h/audit.jsonl:2: skipped: not JSON',
      '/h/audit.jsonl:3: skipped: empty line',
      '/h/audit.jsonl:4: skipped: longer than 8192 characters',
    ]);
  });
});

describe('log entries', () => {
  it('joins intent and outcome by id; the same lines from two logs count once; a contradicting line is skipped', () => {
    const other: AuditRecord = { ...base, id: 'fedcba9876543210', pid: 4712, t: '2026-12-01T09:00:00.000Z' };
    const liar: AuditRecord = { ...outcome, pid: 1234, outcome: 'survived' };
    const { entries, warnings } = buildLogEntries([base, outcome, other, base, outcome, liar]);
    assert.deepEqual(entries.map((e) => [e.pid, e.outcome]), [[4712, null], [4711, 'gone']]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /two different outcome lines/);
    const e = entries[1]!;
    assert.equal(e.atMs, Date.parse(base.t));
    assert.equal(e.endedAtMs, Date.parse(outcome.t));
    assert.deepEqual(e.sent, ['SIGSTOP', 'SIGKILL']);
  });

  it('an outcome whose intent names another process is skipped', () => {
    const { entries, warnings } = buildLogEntries([base, { ...outcome, pid: 4712 }]);
    assert.deepEqual(entries.map((x) => [x.pid, x.outcome]), [[4711, null]]);
    assert.match(warnings[0]!, /names another process/);
  });

  it('filters: user (owner, asker, sudo), pid, run, since, limit', () => {
    const a = { ...outcome };
    const b: AuditRecord = { ...outcome, id: '1111111111111111', pid: 5000, t: '2026-12-01T12:00:00.000Z', owner: { uid: 0, user: 'root' }, by: { uid: 0, user: 'root', sudoUser: 'carol', sudoUid: 1002 }, run: '20261201-120000-abcd' };
    const { entries } = buildLogEntries([a, b]);
    const pids = (f: Parameters<typeof filterLogEntries>[1]): number[] => filterLogEntries(entries, f).map((e) => e.pid!);
    assert.deepEqual(pids({ user: 'alice' }), [4711]);
    assert.deepEqual(pids({ user: 'bob' }), [4711]);
    assert.deepEqual(pids({ user: 'carol' }), [5000]);
    assert.deepEqual(pids({ user: '1002' }), [5000]);
    assert.deepEqual(pids({ user: 'dave' }), []);
    assert.deepEqual(pids({ pid: 5000 }), [5000]);
    assert.deepEqual(pids({ run: '20261201-120000-abcd' }), [5000]);
    assert.deepEqual(pids({ sinceMs: Date.parse('2026-12-01T11:00:00Z') }), [5000]);
    assert.deepEqual(pids({ limit: 1 }), [5000]);
  });

  it('--since: durations and ISO dates; anything else is refused', () => {
    const now = Date.parse('2026-12-02T00:00:00Z');
    assert.equal(parseSince('1h', now), now - 3_600_000);
    assert.equal(parseSince('30m', now), now - 1_800_000);
    assert.equal(parseSince('2d', now), now - 2 * 86_400_000);
    assert.equal(parseSince('2026-12-01', now), Date.parse('2026-12-01'));
    assert.equal(parseSince('2026-12-01T09:00Z', now), Date.parse('2026-12-01T09:00Z'));
    for (const bad of ['1y', 'h', '-1h', 'yesterday', '2026-13-45', '1 h']) assert.equal(parseSince(bad, now), null, bad);
  });

  it('renders one line: time, who (via sudo), what asked, pid(owner) command, signal, outcome, reasons', () => {
    const { entries } = buildLogEntries([{ ...base, by: { uid: 0, user: 'root', sudoUser: 'bob', sudoUid: 1000 } }, { ...outcome, by: { uid: 0, user: 'root', sudoUser: 'bob', sudoUid: 1000 } }]);
    assert.equal(renderLogLine(entries[0]!), '2026-12-01 10:00:00Z  root via sudo bob  [key K (reaper top)]  pid 4711(alice) python3 train.py --lr 0.1  SIGKILL  gone  reasons: orphaned-batch, stopped-tty');
    const skipped = buildLogEntries([{ ...outcome, outcome: 'skipped', detail: 'identity changed: pid 4711 now belongs to another process' }]).entries[0]!;
    assert.match(renderLogLine(skipped), /  SIGKILL  skipped: identity changed: pid 4711 now belongs to another process  /);
  });
});

describe('Slurm job entries', () => {
  const job: AuditRecord = { ...base, id: 'fedcba9876543210', asked: 'reap --run 20261201-100000-abcd', run: '20261201-100000-abcd', pid: null, start: null, job: '123', cmd: 'reaper-20261201-100000-abcd-0-train', reasons: ['selected by runId 20261201-100000-abcd'], signal: 'SIGTERM', via: 'scancel' };
  const jobOut: AuditRecord = { ...job, phase: 'outcome', t: '2026-12-01T10:00:02.000Z', outcome: 'gone', detail: 'left the queue and, on this node, /proc', sent: ['SIGTERM (scancel)'] };

  it('a job (no pid, no start, its id) is a record; a job with a pid, or a bad id, is not', () => {
    assert.equal(auditRecordProblem(JSON.parse(JSON.stringify(job))), null);
    assert.equal(auditRecordProblem(JSON.parse(JSON.stringify(jobOut))), null);
    assert.match(auditRecordProblem({ ...job, pid: 4711 }) ?? 'accepted', /bad job/);
    assert.match(auditRecordProblem({ ...job, start: 5 }) ?? 'accepted', /bad job/);
    assert.match(auditRecordProblem({ ...job, job: '12; rm' }) ?? 'accepted', /bad job/);
    assert.match(auditRecordProblem({ ...job, job: undefined }) ?? 'accepted', /bad pid/);
  });

  it('--run finds it, --pid does not; one line: job ID(owner) name, SIGTERM (scancel), outcome', () => {
    const { entries } = buildLogEntries([job, jobOut, base, outcome]);
    assert.deepEqual(filterLogEntries(entries, { run: '20261201-100000-abcd' }).map((e) => e.job), ['123']);
    assert.deepEqual(filterLogEntries(entries, { pids: [4711] }).map((e) => e.pid), [4711]);
    const e = filterLogEntries(entries, { run: '20261201-100000-abcd' })[0]!;
    assert.equal(renderLogLine(e), '2026-12-01 10:00:00Z  bob  [reap --run 20261201-100000-abcd]  job 123(alice) reaper-20261201-100000-abcd-0-train  SIGTERM (scancel)  gone  reasons: selected by runId 20261201-100000-abcd');
  });
});

describe('audit writer', () => {
  it(`rotates past ${AUDIT_ROTATE_BYTES / 1024 / 1024} MB: the old log becomes audit.jsonl.1, the new line starts a fresh file`, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'reaper-audit-rot-'));
    try {
      const file = path.join(dir, 'reaper', 'audit.jsonl');
      mkdirSync(path.dirname(file), { mode: 0o700 });
      const old = JSON.stringify(outcome) + '\n';
      writeFileSync(file, old.repeat(Math.ceil(AUDIT_ROTATE_BYTES / old.length)), { mode: 0o600 });
      const sizeBefore = statSync(file).size;
      const log = openAuditLog({ XDG_STATE_HOME: dir, REAPER_AUDIT_SYSTEM: path.join(dir, 'sys', 'audit.jsonl'), PATH: '/nonexistent' }, { warn: (l) => assert.fail(l) });
      const trail = new AuditTrail({ asked: 'test', log });
      trail.intent({ pid: 4242, startTime: 1, uid: 0, cmd: 'x' }, 'SIGKILL');
      assert.equal(statSync(`${file}.1`).size, sizeBefore);
      const fresh = readFileSync(file, 'utf8').trim().split('\n');
      assert.equal(fresh.length, 1);
      assert.equal((JSON.parse(fresh[0]!) as AuditRecord).pid, 4242);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.deepEqual(log.problems, []);
      assert.ok(!existsSync(`${file}.2`), 'one older file is kept');
    } finally {
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    }
  });
});
