/**
 * The installed command (package.json "bin": dist/bin/reaper.mjs, the split esbuild bundle that
 * `npm run build` writes) works on its own, not only the compiled tree the other tests import:
 * --version, the simulator re-entering through the bundle's own entry file (`ls --gpus sim:2`),
 * a run (its guardian re-enters the same way) that leaves nothing with its marker behind, and
 * the screen's first frame in a real terminal (the screen's chunk loads React and Ink), and L/S
 * launching and stopping a batch from it (the launcher's chunk loads only then).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { killMarked, markerPids } from '../helpers/launch-run.js';
import { PROMPT, TmuxSession, terminalEnv, tmuxAvailable } from '../helpers/tmux-session.js';
import { waitFor } from '../helpers/wait-for.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
const BIN = path.join(ROOT, pkg.bin.reaper!);

function reaper(args: string[], env: NodeJS.ProcessEnv = process.env): { code: number | null; stdout: string; stderr: string } {
  // Started as a user's shell starts it: the file itself, through its #! line.
  const r = spawnSync(BIN, args, { encoding: 'utf8', env, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the installed command (dist/bin/reaper.mjs)', () => {
  it('is the bundle, executable, and knows its version', () => {
    assert.equal(pkg.bin.reaper, 'dist/bin/reaper.mjs');
    accessSync(BIN, constants.X_OK);
    const r = reaper(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  it('ls --gpus sim:2: the simulator is started through the bundle itself', () => {
    const r = reaper(['ls', '--json', '--gpus', 'sim:2']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { gpuProbe: { ok: boolean; error: unknown }; gpus: unknown[] };
    assert.equal(doc.gpuProbe.ok, true, JSON.stringify(doc.gpuProbe.error));
    assert.equal(doc.gpus.length, 2);
  });

  it('run: a command runs to its end under every layer, and nothing with its marker is left', async (t) => {
    const state = mkdtempSync(path.join(tmpdir(), 'reaper-bin-'));
    let runId: string | null = null;
    t.after(() => {
      if (runId) killMarked(runId);
      rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    });
    const r = reaper(['run', '--json', '--gpus', 'sim:1', '--', 'sh', '-c', 'sleep 0.2; echo done'], { ...process.env, XDG_STATE_HOME: state });
    const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { ev: string; run?: string; code?: number });
    runId = events.find((e) => e.ev === 'run-start')?.run ?? null;
    assert.equal(r.code, 0, r.stdout.slice(-1500) + r.stderr);
    assert.ok(runId, 'a run id');
    await waitFor(() => markerPids(runId!).length === 0, { timeoutMs: 15_000, what: 'no process with the run marker' });
  });

  it('the screen draws its first frame, L launches a batch and S stops it (the launcher loads on demand), q quits', { skip: tmuxAvailable() ? false : 'tmux is not installed', timeout: 120_000 }, async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reaper-bin-tui-'));
    const batch = path.join(dir, 'batch.yaml');
    writeFileSync(batch, 'tasks: [{}]\nstages:\n  hold: { cmd: [sleep, "300"] }\n');
    const tm = TmuxSession.start({ width: 120, height: 30, env: terminalEnv({ XDG_STATE_HOME: dir }), vars: { XDG_STATE_HOME: dir }, cwd: dir });
    let runId: string | null = null;
    t.after(() => {
      tm.kill();
      if (runId) killMarked(runId);
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    });
    const screen = (pred: (c: string) => boolean, what: string, timeoutMs = 60_000): Promise<string> =>
      waitFor(() => {
        const c = tm.capture();
        return pred(c) ? c : null;
      }, { timeoutMs, intervalMs: 100, what: `${what}; screen:\n${tm.capture()}` });
    await waitFor(() => tm.capture().includes(PROMPT.trimEnd()) || null, { what: 'prompt' });
    tm.type(`${BIN} --gpus sim:1 --batch ${batch}`);
    tm.keys('Enter');
    const frame = await screen((c) => /procs: [\d,]+ · \d+ ms/.test(c) && c.includes('COMMAND') && c.includes('Simulated GPU'), 'the first frame');
    assert.match(frame, /PID USER\s+STAT/, 'the process table header');
    // L and S load the launcher's chunk only now: through the bundle, not the compiled tree.
    tm.keys('L');
    await screen((c) => c.includes('as a detached run?'), 'the launch confirmation');
    tm.keys('y');
    const launched = await screen((c) => /launched run \S+/.test(c), 'the launch result');
    runId = /launched run (\S+)/.exec(launched)![1]!;
    await waitFor(() => markerPids(runId!).length > 0 || null, { timeoutMs: 30_000, what: 'the task running' });
    tm.keys('S');
    await screen((c) => c.includes(`Stop run ${runId}`), 'the stop confirmation');
    tm.keys('y');
    await screen((c) => c.includes(`stop ${runId}: `), 'the stop result');
    await waitFor(() => markerPids(runId!).length === 0 || null, { timeoutMs: 30_000, what: 'no process with the run marker' });
    tm.keys('q');
    await waitFor(() => tm.capture().includes(PROMPT.trimEnd()) && !tm.capture().includes('COMMAND') || null, { timeoutMs: 10_000, what: 'back at the prompt' });
  });
});

