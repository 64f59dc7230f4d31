/**
 * The screen's last-action line and its log overlay (o). The data source is a fake, but the
 * entries it returns are read back, with `reaper log`'s checks, from a real audit file that the
 * actions object wrote through openAuditLog while "acting" (no mock of the format); a corrupt
 * line planted in it is counted, never shown as an entry. Other hosts' entries are in their own
 * logs: the overlay says so in one line.
 */
import { App, createTheme, React, render } from '../helpers/tui-ink.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ReactElement } from 'react';
import { AuditTrail, openAuditLog, auditUserPath } from '../../src/actions/audit.js';
import type { ActionOutcome, ActionTarget, AuditQuery, AuditRead, SignalAction } from '../../src/tui/types.js';
import { readOwnAuditEntries } from '../../src/view/local-source.js';
import { FakeActions, FakeSource, data, frameMatching, plain, press, proc, snapshot } from '../helpers/tui-fake.js';

const { signalLastAction } = await import('../../src/tui/App.js');
const { auditLines } = await import('../../src/tui/components/Overlays.js');

const DOWN = '\x1b[B';

/** Acts like the local source: one intent and one outcome per target, in a real audit log. */
class LoggingActions extends FakeActions {
  constructor(private readonly env: NodeJS.ProcessEnv) {
    super();
  }
  override async signal(action: SignalAction, targets: readonly ActionTarget[]): Promise<readonly ActionOutcome[]> {
    await super.signal(action, targets);
    const trail = new AuditTrail({ asked: 'key K (reaper top)', log: openAuditLog(this.env, { warn: () => undefined }) });
    return targets.map((t) => {
      const e = trail.intent({ pid: t.pid, startTime: t.startTime, uid: t.uid, user: t.user, cmd: t.cmd, reasons: t.reasons.map((r) => r.code) }, 'SIGKILL');
      e.sent.push('SIGSTOP', 'SIGKILL');
      trail.outcome(e, 'gone', 'killed (SIGKILL)');
      return { pid: t.pid, startTime: t.startTime, cmd: t.cmd, outcome: 'gone', why: null };
    });
  }
}

/** The fake source plus the local source's own reader over the test's state folder. */
class LogSource extends FakeSource {
  queries: AuditQuery[] = [];
  constructor(
    d: ReturnType<typeof data>,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    super(d);
  }
  readAuditEntries = (q: AuditQuery): AuditRead => {
    this.queries.push(q);
    return readOwnAuditEntries(q, this.env);
  };
}

describe('the last action line and its log (o)', () => {
  test('K, y: the line says what became of it; o shows the entry read back from the audit file (sanitised, a planted line skipped); any key closes', async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'reaper-tui-log-'));
    chmodSync(dir, 0o700);
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const env = { XDG_STATE_HOME: dir, HOME: dir };
    // An older entry of another process, from before this screen's action: not shown.
    const old = new AuditTrail({ asked: 'reap --leftovers', log: openAuditLog(env, { warn: () => undefined }) });
    old.outcome(old.intent({ pid: 4242, startTime: 1, uid: 1000, user: 'alice', cmd: 'old job' }, 'SIGKILL'), 'gone', null);
    // A planted line: counted as skipped, trusted for nothing.
    appendFileSync(auditUserPath(env), '{"v":1,"planted":true}\n');

    const procs = [proc(1, 0, { cmd: 'init', uid: 0, user: 'root' }), proc(200, 1, { cmd: 'python3 train.py \x1b[31mred', uid: 1000, user: 'alice' })];
    const src = new LogSource(data({ snapshot: snapshot(procs) }), env);
    const actions = new LoggingActions(env);
    const inst = render(React.createElement(App, { source: src, actions, size: { columns: 140, rows: 30 }, theme: createTheme(false), initialGrouping: 'all' }) as ReactElement);
    await frameMatching(inst, (p) => p.includes('python3 train.py'), 'tree');
    await press(inst, 'o');
    await frameMatching(inst, (p) => p.includes('no action yet on this screen'), 'o before any action');
    await press(inst, DOWN, 'K');
    const dialog = await frameMatching(inst, (p) => p.includes('Kill (stop, rescan, SIGKILL): 1 process?'), 'confirmation');
    assert.match(plain(dialog), /200\(alice\)/);
    await press(inst, 'y');
    const line = await frameMatching(inst, (p) => p.includes('last action: K 1 process: 1 gone  · o: its log'), 'the last action line');
    assert.equal(actions.calls.length, 1);
    // It stays when the status line changes.
    await press(inst, '\x1b');
    await frameMatching(inst, (p) => p.includes('last action: K 1 process: 1 gone') && !p.includes('kill: 1 gone'), 'the line after Esc');
    assert.ok(line);

    await press(inst, 'o');
    const f = plain(await frameMatching(inst, (p) => p.includes('Log of the last action: K (kill)'), 'the log overlay'));
    assert.match(f, /\d\d:\d\d:\d\dZ {2}\S+ {2}\[key K \(reaper top\)\] {2}pid 200\(alice\) {2}SIGKILL {2}gone/, f);
    // The command as the log holds it: sanitised when written, and again when shown.
    assert.ok(f.includes('python3 train.py \\x1b[31mred'), f);
    assert.ok(!f.includes('\x1b[31mred'), 'no raw escape');
    assert.ok(!f.includes('pid 4242'), 'an entry of another process, from before, is not shown');
    assert.match(f, /1 log line not of reaper's shape: skipped/);
    assert.deepEqual(src.queries.at(-1)!.pids, [200]);
    await press(inst, 'j');
    await frameMatching(inst, (p) => !p.includes('Log of the last action') && p.includes('last action: K'), 'closed by any key');
    inst.unmount();
  });
});

describe('the log overlay on several hosts (pure)', () => {
  const theme = createTheme(false);
  test("another host's targets: one line says the log is on that host; this machine's are read by pid", () => {
    const targets = [
      { pid: 300, startTime: 3, host: 'gpu2' },
      { pid: 200, startTime: 2, host: 'local' },
    ] as unknown as ActionTarget[];
    const out: ActionOutcome[] = [
      { pid: 300, startTime: 3, cmd: 'a', outcome: 'gone', why: null, host: 'gpu2' },
      { pid: 200, startTime: 2, cmd: 'b', outcome: 'gone', why: null, host: 'local' },
      { pid: 201, startTime: 4, cmd: 'child found while acting', outcome: 'gone', why: null, host: 'local' },
    ];
    const a = signalLastAction('kill', 1000, targets, out, 'gpu2: kill: 1 gone; local: kill: 2 gone', 'ok', ['local']);
    assert.deepEqual(a.remoteHosts, ['gpu2']);
    assert.deepEqual(a.query, { sinceMs: 1000, pids: [200, 201] });
    const text = auditLines(a, { entries: [], sources: ['/x'], skipped: 0, problems: [] }, 20, theme).map((l) => l.map((s) => s.text).join(''));
    assert.ok(text.includes('gpu2: the log is on that host (`reaper log` there)'), text.join('\n'));
    const remoteOnly = signalLastAction('term', 1000, [targets[0]!], [out[0]!], 'term: 1 gone', 'ok', ['local']);
    assert.equal(remoteOnly.query, null);
    const lines = auditLines(remoteOnly, null, 20, theme).map((l) => l.map((s) => s.text).join(''));
    assert.deepEqual(lines.slice(1), ['gpu2: the log is on that host (`reaper log` there)']);
  });
});
