/**
 * The live screen in a real terminal (tmux, the way htop's test_spec.lua drives htop): launch a
 * batch with L, find its stopped leftovers on screen, tag and kill them, check /proc, stop the
 * run with S, quit, and check the terminal was given back. Plus an 80x24 layout check.
 * Every process signalled here was started by this test (its run's REAPER_RUN marker, its own
 * tmux server on its own socket).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRuns } from '../../src/launch/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { PROMPT, TmuxSession, terminalEnv, tmuxAvailable } from '../helpers/tmux-session.js';
import { readdirSync, readFileSync } from 'node:fs';
import { isGone, killQuietly, markerProcesses, readProcState } from '../helpers/tui-proc.js';

function childrenOf(ppid: number): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => readProcState(pid)?.ppid === ppid);
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const DEMO_SAMPLE = path.join(REPO, 'examples', 'demo', 'sample_diffusion.py');

const skip = !tmuxAvailable() ? 'tmux is not installed' : false;

/** A batch whose first task has a loader worker that stops itself (SIGSTOP) and is left alone
 *  by the launcher (stuck action "warn", long timeout), so it stays a leftover on screen. */
function writeBatch(dir: string): string {
  const file = path.join(dir, 'tui-e2e.yaml');
  writeFileSync(
    file,
    [
      'name: tui-e2e',
      'gpus: all',
      'concurrency: 1',
      'grace: 1s',
      'stuck: { after: 1h, action: warn }',
      'tasks:',
      '  - { behave: stop-worker }',
      '  - { behave: hang }',
      'stages:',
      '  sample:',
      `    cmd: [python3, ${JSON.stringify(DEMO_SAMPLE)}, --ckpt, e2e.pt, --out, "{out}/samples.pt", --behave, "{behave}"]`,
      '    timeout: 5m',
      '    env: { REAPER_SIM_GPU_MIB: "1024" }',
      '',
    ].join('\n'),
  );
  return file;
}

function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env, timeout: timeoutMs }, () => resolve());
  });
}

interface World {
  dir: string;
  state: string;
  env: NodeJS.ProcessEnv;
  sessions: TmuxSession[];
  runIds: Set<string>;
}

function newWorld(): World {
  const dir = mkdtempSync(path.join(tmpdir(), 'reaper-tui-e2e-'));
  const state = path.join(dir, 'state');
  return { dir, state, env: terminalEnv({ XDG_STATE_HOME: state }), sessions: [], runIds: new Set() };
}

/** Tear down what this test started: its tmux servers, its runs (stop, then SIGKILL what carries the marker). */
async function cleanupWorld(w: World): Promise<void> {
  for (const s of w.sessions) s.kill();
  for (const id of w.runIds) {
    await runCli(['stop', id], w.env, 30_000);
    for (const p of markerProcesses(id)) killQuietly(p.pid);
    try {
      for (const r of readRuns(path.join(w.state, 'reaper'), null)) {
        if (r.id !== id) continue;
        for (const k of [r.launcher, r.guardian]) if (k && readProcState(k.pid)?.startTime === k.startTime) killQuietly(k.pid);
      }
    } catch {
      // no record
    }
  }
  rmSync(w.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
}

function startTerminal(w: World, width: number, height: number): TmuxSession {
  const tm = TmuxSession.start({ width, height, env: w.env, vars: { XDG_STATE_HOME: w.state }, cwd: w.dir });
  w.sessions.push(tm);
  return tm;
}

async function waitScreen(tm: TmuxSession, pred: (screen: string) => boolean, what: string, timeoutMs = 20_000): Promise<string> {
  try {
    return await waitFor(
      () => {
        const c = tm.capture();
        return pred(c) ? c : null;
      },
      { timeoutMs, intervalMs: 100, what },
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; screen was:\n${tm.capture()}`);
  }
}

const ready = (c: string): boolean => c.includes('GPUs (simulated)') && c.includes('COMMAND') && /procs: [\d,]+ · \d+ ms/.test(c);

describe('live screen in tmux', { skip }, () => {
  let w: World;
  before(() => {
    w = newWorld();
  });
  after(async () => {
    await cleanupWorld(w);
  });

  test('L launches, leftovers are tagged and killed (checked in /proc), S stops the run, q gives the terminal back', async () => {
    const batch = writeBatch(w.dir);
    const tm = startTerminal(w, 120, 40);
    await waitScreen(tm, (c) => c.includes(PROMPT.trimEnd()), 'shell prompt');
    tm.type(`node ${MAIN} --gpus sim:2 --batch ${batch}`);
    tm.keys('Enter');
    await waitScreen(tm, ready, 'first frame', 30_000);
    assert.equal(tm.display('#{alternate_on}'), '1', 'the screen runs on the alternate screen');

    // Launch the batch (one confirmation), detached.
    tm.keys('L');
    await waitScreen(tm, (c) => c.includes('Launch ') && c.includes('as a detached run?'), 'launch confirmation');
    tm.keys('y');
    const launched = await waitScreen(tm, (c) => /launched run \S+/.test(c), 'launch result', 60_000);
    const runId = /launched run (\S+)/.exec(launched)![1]!;
    w.runIds.add(runId);

    // The stopped loader worker appears in /proc …
    const stopped = await waitFor(
      () => {
        const ps = markerProcesses(runId).filter((p) => p.state === 'T');
        return ps.length > 0 ? ps : null;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: `a stopped process of run ${runId}` },
    );
    // … and on screen: scope the view to this run (other tests' leftovers may be on this machine), leftovers only.
    tm.keys('/');
    tm.type(runId);
    tm.keys('Enter', 'l');
    const rowRe = (pid: number): RegExp => new RegExp(`^ ?\\*? ?!\\s+${pid} \\S+\\s+T\\S*\\s`, 'm');
    const shown = await waitScreen(tm, (c) => c.includes('[leftovers only]') && stopped.every((p) => rowRe(p.pid).test(c)), 'stopped rows marked as leftovers', 30_000);
    assert.ok(!/unshare --/.test(shown), `no wrapper row:\n${shown}`);
    // By run, the task's tree starts at reaper's own wrapper (unshare, when the PID namespace
    // layer is on): it has no row of its own, the user's command carries the ⊂ marker instead.
    tm.keys('g');
    const byRun = await waitScreen(tm, (c) => c.includes('[by run]') && stopped.every((p) => rowRe(p.pid).test(c)), 'by run', 30_000);
    assert.ok(!/unshare --/.test(byRun), `no wrapper row:\n${byRun}`);
    if (markerProcesses(runId).some((p) => cmdlineOf(p.pid).includes('unshare --'))) assert.match(byRun, /⊂ \S*python3 /);
    tm.keys('g', 'g');
    await waitScreen(tm, (c) => c.includes('[by GPU]') && stopped.every((p) => rowRe(p.pid).test(c)), 'by GPU again', 30_000);

    // Tag every leftover shown, kill through one confirmation.
    tm.keys('a');
    const tagged = await waitScreen(tm, (c) => /tagged \d+ leftovers?/.test(c), 'tagged');
    const n = Number(/tagged (\d+) leftovers?/.exec(tagged)![1]);
    assert.ok(n >= stopped.length, `tagged ${n}, stopped ${stopped.length}`);
    tm.keys('K');
    const dialog = await waitScreen(tm, (c) => c.includes('Kill (stop, rescan, SIGKILL):'), 'kill confirmation');
    // pid(user) as the dialog prints it: the user this test runs as (root or not).
    const me = userInfo().username.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    for (const p of stopped) assert.match(dialog, new RegExp(`\\b${p.pid}\\(${me}\\) T`), `dialog lists ${p.pid}`);
    const before = markerProcesses(runId).filter((p) => !stopped.some((s) => s.pid === p.pid) && p.state !== 'T');
    tm.keys('y');
    await waitScreen(tm, (c) => /kill: \d+ gone/.test(c), 'kill result line', 30_000);
    for (const p of stopped) assert.ok(isGone(p), `stopped process ${p.pid} is gone from /proc`);
    // Nothing else of the run was hit: its other processes (not in the killed trees) still run.
    const survivors = before.filter((p) => !isGone(p));
    assert.ok(survivors.length > 0, 'the rest of the run is untouched');

    // S stops the run (the cursor is in this run's rows, or it is the only live run).
    tm.keys('l');
    tm.keys('S');
    await waitScreen(tm, (c) => c.includes(`Stop run ${runId}`), 'stop confirmation');
    tm.keys('y');
    await waitScreen(tm, (c) => c.includes(`stop ${runId}:`), 'stop result', 60_000);
    await waitFor(() => markerProcesses(runId).length === 0, { timeoutMs: 30_000, what: `no process of run ${runId} left` });

    // q: the terminal is given back (normal screen, shell prompt again).
    tm.keys('q');
    await waitFor(() => tm.display('#{alternate_on}') === '0', { timeoutMs: 10_000, what: 'alternate screen off' });
    const shell = await waitScreen(tm, (c) => c.trimEnd().endsWith(PROMPT.trimEnd()), 'prompt after quit');
    assert.ok(!shell.includes('GPUs (simulated)'), 'the frame is gone with the alternate screen');
    assert.ok(shell.includes(`--batch ${batch}`), 'the shell screen as it was before');
  });

  test('80x24: the frame fits, the header stays on top while scrolling and after resizes; Ctrl+C quits cleanly', async () => {
    const tm = startTerminal(w, 80, 24);
    await waitScreen(tm, (c) => c.includes(PROMPT.trimEnd()), 'shell prompt');
    tm.type(`node ${MAIN} --gpus sim:2 --readonly --all --interval 1`);
    tm.keys('Enter');
    await waitScreen(tm, ready, 'first frame', 30_000);
    const check = (what: string): void => {
      const lines = tm.lines();
      assert.equal(lines.length, 24, what);
      assert.match(lines[0]!, /^reaper \S+ {2}.*procs: [\d,]+ · \d+ ms {2}gpu: \S/, `${what}: header on the first line, both probe states on it`);
      assert.match(lines[1]!, /^\[(by GPU|by run|all processes)\]/, `${what}: view line second`);
      assert.equal(lines[23]!.trim(), '', `${what}: the last row stays free (frame is rows-1 tall)`);
      assert.ok(lines[22]!.trim() !== '', `${what}: status line at the bottom of the frame`);
      for (const l of lines) assert.ok(l.length <= 80, `${what}: ${l}`);
    };
    check('start');
    tm.keys('g', 'g'); // all processes: many rows
    await waitScreen(tm, (c) => c.includes('[all processes]'), 'all processes');
    tm.keys('End');
    await waitScreen(tm, (c) => / \d+-\d+\/\d+/.test(c), 'scroll position shown');
    check('after End');
    tm.keys('PageUp', 'PageUp', 'Home');
    await waitScreen(tm, (c) => / 1-\d+\/\d+/.test(c), 'back at the top');
    check('after PageUp/Home');
    tm.resize(120, 40);
    await waitScreen(tm, (c) => c.split('\n')[0]!.length > 80 || c.split('\n').length >= 40, 'resized up');
    tm.resize(80, 24);
    await waitScreen(tm, (c) => c.split('\n').every((l) => l.length <= 80) && /^reaper /.test(c), 'resized back');
    await waitFor(
      () => {
        try {
          check('after resize');
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 10_000, what: 'a clean frame after resizing' },
    );
    tm.keys('C-c');
    await waitFor(() => tm.display('#{alternate_on}') === '0', { timeoutMs: 10_000, what: 'alternate screen off after Ctrl+C' });
    await waitScreen(tm, (c) => c.trimEnd().endsWith(PROMPT.trimEnd()), 'prompt after Ctrl+C');
  });

  test('a hung nvidia-smi freezes nothing: keys are answered and the GPU rows say so', async () => {
    const tm = startTerminal(w, 100, 30);
    await waitScreen(tm, (c) => c.includes(PROMPT.trimEnd()), 'shell prompt');
    // The simulator, told to hang, stands in for a wedged driver: it prints nothing, ever.
    tm.type(`REAPER_SIM_FAIL=hang node ${MAIN} --gpus sim:1 --interval 0.5`);
    tm.keys('Enter');
    await waitScreen(tm, (c) => c.includes('COMMAND') && /procs: [\d,]+ · \d+ ms/.test(c), 'first frame', 30_000);
    // Keys work while every GPU read hangs: help opens and closes, the filter takes input.
    for (let i = 0; i < 3; i++) {
      tm.keys('?');
      await waitScreen(tm, (c) => /help|keys/i.test(c) && c.includes('quit'), `help ${i}`);
      tm.keys('Escape');
      await waitScreen(tm, (c) => c.includes('COMMAND'), `back ${i}`);
    }
    // The GPU part reports the hang in place instead of data.
    await waitScreen(tm, (c) => /nvidia-smi: (no output|probe stalled|timed out|timeout)/i.test(c), 'probe trouble shown', 40_000);
    // The header keeps the two apart: the /proc scan works, the GPU probe does not answer.
    const head = await waitScreen(tm, (c) => /gpu: (no answer|stalled) \d+ s/.test(c.split('\n')[0]!), 'GPU state in the header', 40_000);
    assert.match(head.split('\n')[0]!, /procs: [\d,]+ · \d+ ms {2}gpu: (no answer|stalled) \d+ s/);
    assert.ok(!/probe: ok|gpu: ok/.test(head), 'nothing says ok about the GPU probe');
    tm.keys('q');
    await waitFor(() => tm.display('#{alternate_on}') === '0', { timeoutMs: 10_000, what: 'alternate screen off after q' });
  });

  test('--batch /dev/zero in a terminal: one reaper: line and exit 2 at once (it used to read forever)', async () => {
    const tm = startTerminal(w, 100, 30);
    await waitScreen(tm, (c) => c.includes(PROMPT.trimEnd()), 'shell prompt');
    tm.type(`node ${MAIN} --batch /dev/zero; echo "exit=$?"`);
    tm.keys('Enter');
    const screen = await waitScreen(tm, (c) => /^exit=\d+$/m.test(c), 'the command ended', 15_000);
    assert.match(screen, /^reaper: batch file \/dev\/zero: not a batch file: a character device/m);
    assert.match(screen, /^exit=2$/m);
    assert.equal(tm.display('#{alternate_on}'), '0', 'the screen never started');
  });

  for (const [sig, code] of [
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    test(`${sig} restores the terminal and exits ${code}`, async () => {
      const tm = startTerminal(w, 100, 30);
      await waitScreen(tm, (c) => c.includes(PROMPT.trimEnd()), 'shell prompt');
      tm.type(`node ${MAIN} --gpus sim:1; echo "exit=$?"`);
      tm.keys('Enter');
      await waitScreen(tm, (c) => c.includes('COMMAND') && /procs: [\d,]+ · \d+ ms/.test(c), 'first frame', 30_000);
      assert.equal(tm.display('#{alternate_on}'), '1');
      const shell = tm.panePid();
      const tui = await waitFor(() => childrenOf(shell).find((pid) => cmdlineOf(pid).includes(MAIN) || cmdlineOf(pid).startsWith('reaper')), { what: 'the TUI process' });
      process.kill(tui, sig);
      await waitFor(() => tm.display('#{alternate_on}') === '0', { timeoutMs: 10_000, what: `alternate screen off after ${sig}` });
      await waitScreen(tm, (c) => c.includes(`exit=${code}`), `exit code ${code}`);
      await waitFor(() => readProcState(tui) === null || readProcState(tui)!.state === 'Z', { what: 'the TUI is gone' });
    });
  }
});
