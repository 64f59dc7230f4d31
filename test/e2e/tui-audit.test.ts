/**
 * The screen's K key in a real terminal (tmux) writes the audit log: the tree this test started
 * is killed through the confirmation, checked gone in /proc, and the user's audit.jsonl has one
 * intent and one outcome per process, asked by "key K (reaper top)"; the line under the table
 * says what became of them, and o shows their entries (outcome gone) read back from that log.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import type { AuditRecord } from '../../src/actions/audit.js';
import { PROMPT, TmuxSession, terminalEnv, tmuxAvailable } from '../helpers/tmux-session.js';
import { isGone, killQuietly, readProcState } from '../helpers/tui-proc.js';
import { waitFor } from '../helpers/wait-for.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const skip = !tmuxAvailable() ? 'tmux is not installed' : false;

function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readProcState(Number(name));
    if (st && st.ppid === ppid) out.push(st.pid);
  }
  return out;
}

describe('screen keys and the audit log', { skip }, () => {
  test('K on our own tree: killed (checked in /proc), one intent + outcome per process, asked by key K', { timeout: 120_000 }, async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reaper-tui-audit-'));
    chmodSync(dir, 0o755);
    const tag = `auditkey${process.pid}x${Date.now().toString(36)}`;
    const tree = spawn('sh', ['-c', 'sleep 1000 & sleep 1000 & wait', tag], { detached: true, stdio: 'ignore' });
    tree.unref();
    const root = tree.pid!;
    const tm = TmuxSession.start({ width: 160, height: 40, env: terminalEnv({ XDG_STATE_HOME: dir }), vars: { XDG_STATE_HOME: dir, REAPER_AUDIT_SYSTEM: path.join(dir, 'sys', 'audit.jsonl') }, cwd: dir });
    t.after(() => {
      tm.kill();
      killQuietly(-root);
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    });
    const kids = await waitFor(() => (childrenOf(root).length === 2 ? childrenOf(root) : null), { what: 'two children' });
    const members = [root, ...kids].map((pid) => readProcState(pid)!);
    const screen = async (pred: (c: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> => {
      try {
        return await waitFor(() => (pred(tm.capture()) ? tm.capture() : null), { timeoutMs, intervalMs: 100, what });
      } catch (e) {
        throw new Error(`${(e as Error).message}; screen:\n${tm.capture()}`);
      }
    };
    await screen((c) => c.includes(PROMPT.trimEnd()), 'prompt');
    tm.type(`node ${MAIN} --gpus sim:1 --all`);
    tm.keys('Enter');
    await screen((c) => c.includes('COMMAND') && /procs: [\d,]+ · \d+ ms/.test(c), 'first frame', 60_000);
    tm.keys('g', 'g');
    await screen((c) => c.includes('[all processes]'), 'all processes');
    tm.keys('/');
    tm.type(tag);
    tm.keys('Enter');
    // Match the row by its PID column, not by the tag: under a deep ancestry (su, npm, the test
    // runner) the tree's indent squeezes the command and the tag is cut off with an ellipsis.
    await screen((c) => new RegExp(`^\\s*>?\\s*${root}\\s+\\S+\\s+S.*\\bsh -c\\b`, 'm').test(c), `the row of ${root}`);
    // The filter keeps the matching row's ancestors as context: walk the cursor (the row drawn in
    // inverse video) down to our tree's root.
    const onRoot = (): boolean => tm.capture({ colors: true }).split('\n').some((l) => /\x1b\[[0-9;]*7m/.test(l) && new RegExp(`\\b${root}\\b`).test(l.replace(/\x1b\[[0-9;]*m/g, '')));
    tm.keys('Home');
    for (let i = 0; i < 60 && !(await waitFor(() => onRoot() || null, { timeoutMs: 1500, intervalMs: 50 }).catch(() => false)); i++) tm.keys('Down');
    assert.ok(onRoot(), `cursor on ${root}:\n${tm.capture()}`);
    tm.keys('K');
    const dialog = await screen((c) => c.includes('Kill (stop, rescan, SIGKILL):'), 'kill confirmation');
    // Only ever confirm a dialog about our own tree.
    if (!dialog.includes(`${root}(`)) {
      tm.keys('n');
      assert.fail(`the dialog is not about our tree:\n${dialog}`);
    }
    tm.keys('y');
    await screen((c) => /kill: \d+ gone/.test(c), 'kill result');
    for (const m of members) assert.ok(isGone(m), `pid ${m.pid} gone from /proc`);
    // The line under the table stays; o opens the entries of that action, read from the log.
    await screen((c) => /last action: K 3 processes: 3 gone\s+· o: its log/.test(c), 'the last action line');
    tm.keys('o');
    const overlay = await screen((c) => c.includes('Log of the last action: K (kill)') && members.every((m) => new RegExp(`\\[key K \\(reaper top\\)\\]  pid ${m.pid}\\([^)]+\\)  SIGKILL  gone`).test(c)), 'the log overlay with every process gone');
    assert.ok(overlay.includes(tag), `the command is shown:\n${overlay}`);
    tm.keys('Escape');
    await screen((c) => !c.includes('Log of the last action') && c.includes('last action: K'), 'the overlay closed');
    tm.keys('q');

    const log = path.join(dir, 'reaper', 'audit.jsonl');
    await waitFor(() => existsSync(log), { what: 'audit log' });
    const records = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    assert.deepEqual([...new Set(records.map((r) => r.pid))].sort(), members.map((m) => m.pid).sort(), JSON.stringify(records));
    for (const m of members) {
      const mine = records.filter((r) => r.pid === m.pid);
      assert.deepEqual(mine.map((r) => r.phase), ['intent', 'outcome']);
      assert.equal(mine[1]!.outcome, 'gone');
      assert.equal(mine[1]!.asked, 'key K (reaper top)');
      assert.equal(mine[1]!.start, m.startTime);
    }
  });
});
