/**
 * The single-file executable (build/reaper, `npm run package`) on a machine without Node.js:
 * run with `env -i` and a PATH that holds only what the demo needs (python3, sh, true, setpriv,
 * unshare), from a folder outside the repository, so nothing can come from node_modules or a
 * node on PATH. Checks --version, `ls --json --gpus sim:2` (the simulator re-enters through the
 * binary itself) and the demo batch to its end: exit 1 (tasks 1-3 fail on purpose), nothing
 * with the run's REAPER_RUN marker left in /proc.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { describePids, killMarked, markerPids, removeRunCgroup, type JsonEvent } from '../helpers/launch-run.js';
import { waitFor } from '../helpers/wait-for.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXE = path.join(ROOT, 'build', 'reaper');
const PACKAGER = path.join(ROOT, 'scripts', 'package.mjs');
const DEMO = path.join(ROOT, 'examples', 'demo.yaml');

/** Newest modification time under the inputs of the bundle. */
function newestSource(): number {
  let newest = 0;
  const walk = (p: string): void => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const e of readdirSync(p)) walk(path.join(p, e));
    } else {
      newest = Math.max(newest, st.mtimeMs);
    }
  };
  for (const p of ['src', 'scripts/package.mjs', 'package.json', 'package-lock.json']) walk(path.join(ROOT, p));
  return newest;
}

function ensureExecutable(): string | null {
  const fresh = existsSync(EXE) && statSync(EXE).mtimeMs >= newestSource();
  if (fresh) return null;
  const r = spawnSync(process.execPath, [PACKAGER], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) return `scripts/package.mjs failed (${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`;
  return null;
}

/** The real python3 binary (pyenv's shim is a shell script that needs pyenv on PATH). */
function realPython(): string | null {
  const r = spawnSync('python3', ['-c', 'import multiprocessing, sys; print(sys.executable)'], { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout.trim()) return null;
  return realpathSync(r.stdout.trim());
}

function which(name: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim().startsWith('/') ? r.stdout.trim() : null;
}

interface Sandbox {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
}

/** A temp folder with home, state and a bin/ of symlinks: the only PATH the executable sees. */
function makeSandbox(python: string): Sandbox {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'reaper-sea-'));
  const bin = path.join(dir, 'bin');
  for (const d of [bin, path.join(dir, 'home'), path.join(dir, 'state'), path.join(dir, 'cwd')]) mkdirSync(d, { recursive: true });
  symlinkSync(python, path.join(bin, 'python3'));
  // sh and true: containment probes run `unshare … true` / `setpriv … true`.
  for (const tool of ['sh', 'true', 'setpriv', 'unshare']) {
    const p = which(tool);
    if (p) symlinkSync(p, path.join(bin, tool));
  }
  return {
    dir,
    env: { PATH: bin, HOME: path.join(dir, 'home'), XDG_STATE_HOME: path.join(dir, 'state'), DEMO_SECONDS: '0.5', LANG: 'C.UTF-8' },
  };
}

function runExe(sb: Sandbox, args: string[]): { status: number | null; stdout: string; stderr: string } {
  // ls --json lists every process of the user (root here: the whole loaded machine): a large buffer.
  const r = spawnSync(EXE, args, { env: sb.env, cwd: path.join(sb.dir, 'cwd'), encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
  const why = r.error ? `${r.error.message}; ` : r.signal ? `signal ${r.signal}; ` : '';
  return { status: r.status, stdout: r.stdout, stderr: why + r.stderr };
}

const python = realPython();

describe('single-file executable without node on PATH', { skip: python ? false : 'python3 with multiprocessing not found' }, () => {
  it('builds (when stale), prints its version, lists 2 simulated GPUs, runs the demo to exit 1 leaving nothing', { timeout: 300_000 }, async (t) => {
    const buildError = ensureExecutable();
    assert.equal(buildError, null, buildError ?? '');
    const sb = makeSandbox(python!);
    let runId: string | null = null;
    let child: ReturnType<typeof spawn> | null = null;
    t.after(() => {
      if (child?.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      if (runId) {
        killMarked(runId);
        removeRunCgroup(runId);
      }
      rmSync(sb.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    });

    // The sandbox really has no node.
    const noNode = spawnSync(path.join(sb.dir, 'bin', 'sh'), ['-c', 'command -v node'], { env: sb.env, encoding: 'utf8' });
    assert.notEqual(noNode.status, 0, `node found on the sandbox PATH: ${noNode.stdout}`);

    const pkg = JSON.parse((await import('node:fs')).readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const v = runExe(sb, ['--version']);
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), pkg.version);

    const ls = runExe(sb, ['ls', '--json', '--gpus', 'sim:2']);
    assert.equal(ls.status, 0, ls.stderr);
    const doc = JSON.parse(ls.stdout) as { gpuProbe: { source: string; ok: boolean; error: string | null }; gpus: Array<{ index: number; name: string }>; processes: unknown[] };
    assert.equal(doc.gpuProbe.ok, true, `simulator did not answer: ${doc.gpuProbe.error}`);
    assert.equal(doc.gpuProbe.source, 'simulated');
    assert.deepEqual(doc.gpus.map((g) => g.index), [0, 1]);
    assert.ok(doc.processes.length > 0);

    // The demo, to its end. --json: one event per line, the summary last.
    child = spawn(EXE, ['run', DEMO, '--gpus', 'sim:2', '--json'], { env: sb.env, cwd: path.join(sb.dir, 'cwd'), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child!.on('exit', (code, signal) => resolve({ code, signal })));
    const events = (): JsonEvent[] =>
      stdout.split('\n').flatMap((l) => {
        try {
          const e = JSON.parse(l) as JsonEvent;
          return e && typeof e.ev === 'string' ? [e] : [];
        } catch {
          return [];
        }
      });
    const start = await waitFor(() => events().find((e) => e.ev === 'run-start'), { timeoutMs: 30_000, intervalMs: 100, what: `run-start (stderr: ${stderr})` });
    runId = String(start.run);
    const ex = await Promise.race([exit, new Promise<null>((r) => setTimeout(() => r(null), 120_000).unref())]);
    assert.ok(ex, `the demo did not end within 120 s; stderr: ${stderr.slice(-1500)}`);
    assert.equal(ex.code, 1, `demo exit ${ex.code ?? ex.signal}; stderr: ${stderr.slice(-1500)}`);
    const summary = events().find((e) => e.ev === 'summary');
    assert.ok(summary, `no summary event; stdout: ${stdout.slice(-1500)}`);
    assert.equal(summary.survivors, 0);
    const tasks = summary.tasks as Array<{ status: string }>;
    assert.deepEqual(tasks.map((x) => x.status), ['succeeded', 'failed', 'failed', 'failed', 'succeeded']);
    const left = markerPids(runId, { escapee: false });
    assert.deepEqual(left, [], `processes with REAPER_RUN=${runId} survive: ${describePids(left)}`);
  });
});
