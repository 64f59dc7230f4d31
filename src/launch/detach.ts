/**
 * Detached runs: the launcher re-spawns itself in a new session with its output going to the run
 * folder, so the run outlives the terminal or the SSH connection. `launchDetached` is the same
 * thing for the TUI, in-process: the same spawnDetachedLauncher, with a run id the caller mints.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ReaperError } from '../model/errors.js';
import { selfCommand } from '../probe/self-command.js';
import { readJournal } from './journal.js';
import { assertRunId, newRunId, runPaths, stateDir } from './paths.js';
import { createRunDir } from './run-dir.js';
import { sleep } from '../model/sleep.js';


/**
 * Starts `reaper run <args> --run-id ID --detached-child` in its own session (stdio to
 * <run>/launcher.log) and waits until its journal has the start record. Returns the pid.
 */
export async function spawnDetachedLauncher(runArgs: readonly string[], state: string, runId: string, env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<{ pid: number; log: string }> {
  const paths = runPaths(state, runId);
  createRunDir(state, runId); // exclusive, 0700; the child launcher adopts it
  const fd = openSync(paths.launcherLog, 'a', 0o600);
  const cmd = selfCommand();
  const childEnv = { ...env };
  for (const k of ['REAPER_RUN', 'REAPER_TASK', 'REAPER_STAGE']) delete childEnv[k];
  let exited: number | null = null;
  // Reaper's own flags go before a driver's "--": what follows it is the driver's, untouched.
  const dd = runArgs.indexOf('--');
  const own = dd >= 0 ? runArgs.slice(0, dd) : runArgs;
  const rest = dd >= 0 ? runArgs.slice(dd) : [];
  const child = spawn(cmd[0]!, [...cmd.slice(1), 'run', ...own, '--run-id', runId, '--detached-child', ...rest], {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: childEnv,
  });
  closeSync(fd);
  child.on('exit', (code, sig) => {
    exited = code ?? (sig ? 128 : 1);
  });
  child.on('error', () => {
    exited = 127;
  });
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(paths.journal) && readJournal(paths.journal).some((e) => e.ev === 'run-start')) return { pid: child.pid ?? 0, log: paths.launcherLog };
    if (exited !== null) break;
    await sleep(25);
  }
  let tail = '';
  try {
    tail = readFileSync(paths.launcherLog, 'utf8').trim().split('\n').slice(-1)[0] ?? '';
  } catch {
    /* no log */
  }
  throw new ReaperError('INTERNAL', `detached launcher did not start${exited !== null ? ` (exit ${exited})` : ''}${tail ? `: ${tail}` : ''}; log: ${paths.launcherLog}`);
}

/**
 * `reaper run FILE --detach` in-process, for the screen's L: the same entry point the command
 * uses (spawnDetachedLauncher: an exclusive run folder, the launcher re-entered in its own
 * session, the journal's start record awaited), with a run id the caller mints (newRunId), so
 * nothing is parsed out of another process's output. The launcher checks the batch again before
 * it starts anything; its first error line comes back in the rejection.
 */
export async function launchDetached(
  batchFile: string,
  opts: { gpus: string; runId?: string; env?: NodeJS.ProcessEnv; containment?: string; state?: string },
): Promise<{ runId: string; pid: number; log: string }> {
  const env = opts.env ?? process.env;
  const runId = assertRunId(opts.runId ?? newRunId());
  const args = [path.resolve(batchFile), '--gpus', opts.gpus];
  if (opts.containment) args.push('--containment', opts.containment);
  const { pid, log } = await spawnDetachedLauncher(args, opts.state ?? stateDir(env), runId, env);
  return { runId, pid, log };
}
