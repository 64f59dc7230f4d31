/**
 * Runs one Slurm client (squeue, sbatch, scancel …): no shell, a deadline, an output cap, an
 * environment without output overrides. Never throws: every failure is a field of the outcome,
 * for classifySlurmOutcome. A controller that is down makes every client retry for about 10 s
 * (measured: 9.0 s for squeue and sbatch on 22.05), so a deadline under that turns "unreachable"
 * into "timeout"; a screen refresh may prefer that, a submit should wait longer. `scontrol ping`
 * does not retry (8 ms to say DOWN): see pingController.
 */
import { spawn } from 'node:child_process';
import { slurmClientEnv } from './client-env.js';
import type { SlurmOutcome } from './types.js';

export interface RunSlurmOptions {
  readonly deadlineMs: number;
  /** stdout + stderr beyond this many bytes: the client is killed and the outcome says truncated. */
  readonly maxBytes?: number;
  /** Base environment (default process.env); output overrides are removed from it either way. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
}

const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

export function runSlurmCommand(bin: string, args: readonly string[], opts: RunSlurmOptions): Promise<SlurmOutcome> {
  const argv = [bin, ...args];
  const max = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const t0 = Date.now();
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let bytes = 0;
    let timedOut = false;
    let truncated = false;
    let spawnError: string | null = null;
    let settled = false;
    const child = spawn(bin, args, {
      env: slurmClientEnv(opts.env ?? process.env),
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: false,
    });
    const finish = (exitCode: number | null, signal: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        argv,
        exitCode,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        spawnError,
        timedOut,
        truncated,
        ms: Date.now() - t0,
      });
    };
    // Slurm clients do not fork, so killing the one child ends the call.
    const kill = (): void => {
      try {
        child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, Math.max(1, opts.deadlineMs));
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      if (truncated) return;
      const room = max - bytes;
      if (chunk.length > room) {
        into.push(chunk.subarray(0, room));
        bytes = max;
        truncated = true;
        kill();
        return;
      }
      into.push(chunk);
      bytes += chunk.length;
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    child.on('error', (e: NodeJS.ErrnoException) => {
      // Spawn failures (ENOENT, EACCES) come here and no 'close' may follow.
      if (child.pid === undefined) {
        spawnError = e.code ?? e.message;
        finish(null, null);
      }
    });
    child.on('close', (code, signal) => finish(code, signal));
  });
}
