/** Where run records live, and run ids. Folders are private (0700, as XDG asks of state). */
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ReaperError } from '../model/errors.js';

/** $XDG_STATE_HOME/reaper, else ~/.local/state/reaper. */
export function stateDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_STATE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'reaper');
  const home = env.HOME && env.HOME !== '' ? env.HOME : os.homedir();
  return path.join(home, '.local', 'state', 'reaper');
}

export function runsDir(state: string): string {
  return path.join(state, 'runs');
}

function runDir(state: string, runId: string): string {
  return path.join(runsDir(state), assertRunId(runId));
}

export const RUN_ID_RE = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

/** A run id is a path component: anything but the id format ('..', '/', NUL …) is refused. */
export function assertRunId(runId: string): string {
  if (!RUN_ID_RE.test(runId)) throw new ReaperError('USAGE', `not a run id: "${runId.slice(0, 40)}" (expected YYYYMMDD-HHMMSS-xxxx)`);
  return runId;
}

/** Tightens a folder reaper owns to 0700 (one made by an older version with the umask's 0755). */
export function privateDir(dir: string): void {
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new ReaperError('USAGE', `${dir} is not a folder${st.isSymbolicLink() ? ' (a symbolic link)' : ''}: refusing to keep runs there`);
  const uid = process.getuid?.() ?? st.uid;
  if (st.uid === uid && (st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** `<state>` and `<state>/runs`, created 0700 (XDG: state is private to its user). */
export function ensureStateDir(state: string): void {
  mkdirSync(state, { recursive: true, mode: 0o700 });
  privateDir(state);
  try {
    mkdirSync(runsDir(state), { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  privateDir(runsDir(state));
}

/** Sortable and short: 20261128-221503-ab12 (UTC). */
export function newRunId(now: Date = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  const d = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}`;
  const t = `${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${d}-${t}-${randomBytes(2).toString('hex')}`;
}

export interface RunPaths {
  readonly dir: string;
  readonly journal: string;
  readonly logs: string;
  readonly out: string;
  readonly launcherLog: string;
  readonly guardianLog: string;
}

export function runPaths(state: string, runId: string): RunPaths {
  const dir = runDir(state, runId);
  return {
    dir,
    journal: path.join(dir, 'journal.jsonl'),
    logs: path.join(dir, 'logs'),
    out: path.join(dir, 'out'),
    launcherLog: path.join(dir, 'launcher.log'),
    guardianLog: path.join(dir, 'guardian.log'),
  };
}

export function taskOutDir(paths: RunPaths, task: number): string {
  return path.join(paths.out, String(task));
}

export function taskLogPaths(paths: RunPaths, task: number, stage: string): { stdout: string; stderr: string } {
  return {
    stdout: path.join(paths.logs, `task${task}.${stage}.stdout.log`),
    stderr: path.join(paths.logs, `task${task}.${stage}.stderr.log`),
  };
}
