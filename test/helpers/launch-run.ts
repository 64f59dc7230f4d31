/**
 * Helpers for the launcher's integration tests: run the real CLI, read its JSON events, and look
 * for survivors of a run straight from /proc/<pid>/environ (REAPER_RUN=<id>, and CHAOS_ESCAPEE=<id>
 * for the chaos batch's `env -i` escapee). Every run uses its own XDG_STATE_HOME; cleanup only
 * touches processes carrying the test's own unique run id.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readStatSync } from '../../src/probe/proc-stat.js';
import { otherUserKit } from './other-user-kit.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
export const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

export interface JsonEvent {
  ev: string;
  [k: string]: unknown;
}

/** Pids whose environment carries the run's marker (or the chaos escapee's token). Zombies have no environ. */
export function markerPids(runId: string, opts: { marker?: boolean; escapee?: boolean } = {}): number[] {
  const needles: Buffer[] = [];
  if (opts.marker !== false) needles.push(Buffer.from(`REAPER_RUN=${runId}\0`));
  if (opts.escapee !== false) needles.push(Buffer.from(`CHAOS_ESCAPEE=${runId}\0`));
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let env: Buffer;
    try {
      env = readFileSync(`/proc/${name}/environ`);
    } catch {
      continue;
    }
    const padded = Buffer.concat([env, Buffer.from([0])]);
    if (needles.some((n) => padded.includes(n))) out.push(Number(name));
  }
  return out;
}

export function describePids(pids: number[]): string {
  return pids
    .map((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
        return `${p} ${stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)} ${cmd}`;
      } catch {
        return `${p} (gone)`;
      }
    })
    .join('; ');
}

/** SIGKILL everything carrying this run's unique marker (our own test processes only). */
export function killMarked(runId: string): void {
  for (let i = 0; i < 5; i++) {
    const pids = markerPids(runId);
    if (pids.length === 0) return;
    for (const p of pids) {
      try {
        process.kill(p, 'SIGSTOP');
      } catch {
        /* gone */
      }
    }
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

export function removeRunCgroup(runId: string): void {
  const base = '/sys/fs/cgroup/unified/reaper/' + runId;
  const rm = (dir: string): void => {
    let kids: string[] = [];
    try {
      kids = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return;
    }
    for (const k of kids) rm(path.join(dir, k));
    try {
      writeFileSync(path.join(dir, 'cgroup.kill'), '1');
    } catch {
      /* none */
    }
    try {
      rmSync(dir, { recursive: false });
    } catch {
      try {
        spawnSync('rmdir', [dir]);
      } catch {
        /* busy */
      }
    }
  };
  rm(base);
}

export interface TestUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** The unprivileged test user (created when absent; root only). */
export function ensureTestUser(name = 'reaper-launch-test'): TestUser | null {
  if (process.getuid?.() !== 0) return null;
  let r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  if (r.status !== 0) {
    spawnSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', name], { encoding: 'utf8' });
    r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    if (r.status !== 0) return null;
  }
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  return { name, uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** A fresh state/home folder (owned by `user` when given). */
export function tempState(user?: TestUser | null): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'reaper-launch-'));
  chmodSync(dir, 0o755);
  if (user) chownSync(dir, user.uid, user.gid);
  return dir;
}

/** A copy of examples/chaos.yaml with edits, next to a link to examples/chaos (scripts resolve relative to the batch). */
/** examples: the checkout's, or otherUserKit().examples when another user runs the batch. */
export function chaosBatch(dir: string, edit: (text: string) => string = (t) => t, examples = EXAMPLES): string {
  const text = edit(readFileSync(path.join(examples, 'chaos.yaml'), 'utf8'));
  const file = path.join(dir, 'chaos.yaml');
  writeFileSync(file, text, { mode: 0o644 });
  try {
    symlinkSync(path.join(examples, 'chaos'), path.join(dir, 'chaos'));
  } catch {
    /* exists */
  }
  return file;
}

export interface CliRun {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly events: JsonEvent[];
  stdout: string;
  stderr: string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitEvent(pred: (e: JsonEvent) => boolean, timeoutMs?: number, what?: string): Promise<JsonEvent>;
  runId(): string | null;
}

/** Runs the CLI in its own process group (as `user` through setpriv when given). */
export function startCli(args: string[], opts: { env?: NodeJS.ProcessEnv; user?: TestUser | null; cwd?: string } = {}): CliRun {
  const env = { ...process.env, ...(opts.env ?? {}) };
  delete env.REAPER_RUN;
  delete env.REAPER_TASK;
  const argv = opts.user
    ? ['setpriv', `--reuid=${opts.user.uid}`, `--regid=${opts.user.gid}`, '--clear-groups', process.execPath, otherUserKit().cli, ...args]
    : [process.execPath, CLI, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { env, cwd: opts.cwd ?? EXAMPLES, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: JsonEvent[] = [];
  let buf = '';
  const waiters: Array<() => void> = [];
  const run: CliRun = {
    child,
    pid: child.pid!,
    events,
    stdout: '',
    stderr: '',
    exit: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
    waitEvent(pred, timeoutMs = 20_000, what = 'event') {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const e = events.find(pred);
          if (e) {
            clearTimeout(timer);
            resolve(e);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stdout: ${run.stdout.slice(-1500)} stderr: ${run.stderr.slice(-800)}`)), timeoutMs);
        const again = (): void => {
          if (!check()) waiters.push(again);
        };
        if (!check()) waiters.push(again);
      });
    },
    runId() {
      const s = events.find((e) => e.ev === 'run-start');
      return s ? String(s.run) : null;
    },
  };
  child.stdout!.on('data', (d: Buffer) => {
    run.stdout += d.toString();
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const v = JSON.parse(line) as JsonEvent;
        if (v && typeof v.ev === 'string') events.push(v);
      } catch {
        /* text line */
      }
    }
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', (d: Buffer) => (run.stderr += d.toString()));
  return run;
}

/** Kill what a test started: the CLI's process group, and everything with the run's marker. */
export function cleanupRun(run: CliRun | null, runId: string | null): void {
  if (run) {
    try {
      process.kill(-run.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (runId) {
    killMarked(runId);
    removeRunCgroup(runId);
  }
}

export function readJournalFile(state: string, runId: string): JsonEvent[] {
  try {
    return readFileSync(path.join(state, 'reaper', 'runs', runId, 'journal.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as JsonEvent];
        } catch {
          return [];
        }
      });
  } catch {
    return [];
  }
}

/** Kills the guardian recorded in a journal if it is still alive with the same start time. */
export function killGuardianOf(state: string, runId: string): void {
  const start = readJournalFile(state, runId).find((e) => e.ev === 'run-start');
  const g = start?.guardian as { pid: number; startTime: number } | null | undefined;
  if (!g) return;
  const live = (): boolean => {
    const st = readStatSync(g.pid);
    return st !== null && st.startTime === g.startTime && st.state !== 'Z' && st.state !== 'X';
  };
  if (!live()) return;
  try {
    process.kill(g.pid, 'SIGKILL');
  } catch {
    return; // gone
  }
  // SIGKILL is delivered asynchronously: until the guardian is gone it may still be writing into
  // the run folder, and a test's cleanup removing that folder then fails with ENOTEMPTY.
  const tick = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 300 && live(); i++) Atomics.wait(tick, 0, 0, 10);
}
