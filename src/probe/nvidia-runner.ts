/**
 * Runs nvidia-smi (or the simulator) without a shell, with a deadline, at most one child
 * alive at a time. A wedged GPU can leave nvidia-smi in uninterruptible sleep (D), where even
 * SIGKILL waits: then the runner reports `stalled` and refuses to spawn another until that
 * child has exited, instead of piling them up. Never blocks the event loop.
 */
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';

export type RunResult =
  | { readonly kind: 'exited'; readonly exitCode: number | null; readonly signal: string | null; readonly stdout: string; readonly stderr: string }
  | { readonly kind: 'spawn-error'; readonly code: string }
  | { readonly kind: 'timeout'; readonly afterMs: number }
  | { readonly kind: 'stalled'; readonly sinceMs: number };

export type SpawnFn = (cmd: string, args: readonly string[], opts: Parameters<typeof nodeSpawn>[2]) => ChildProcess;
/** Sends a signal to a child's process group (its pid, it was spawned as a group leader). */
export type KillGroupFn = (pid: number, signal: NodeJS.Signals) => void;

export interface RunnerOptions {
  readonly command: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** How long to wait for a SIGKILLed child to exit before calling it stalled (default 1000). */
  readonly killGraceMs?: number;
  /** After a normal exit, how long to wait for the pipes to close (default 250). */
  readonly drainMs?: number;
  readonly spawnImpl?: SpawnFn;
  readonly killGroup?: KillGroupFn;
  readonly now?: () => number;
}

const MAX_OUTPUT = 8 * 1024 * 1024;

export const defaultKillGroup: KillGroupFn = (pid, signal) => {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
};

export interface NvidiaSmiRunner {
  run(args: readonly string[]): Promise<RunResult>;
  /** ms since the child that is stuck was started; null when nothing is stuck. */
  stalledForMs(): number | null;
  /** Pid of the child alive now (in flight or stuck), or null. */
  alivePid(): number | null;
  close(): void;
}

export function createNvidiaSmiRunner(opts: RunnerOptions): NvidiaSmiRunner {
  const spawnFn: SpawnFn = opts.spawnImpl ?? ((c, a, o) => nodeSpawn(c, a as string[], o!));
  const killGroup = opts.killGroup ?? defaultKillGroup;
  const now = opts.now ?? Date.now;
  const killGraceMs = opts.killGraceMs ?? 1000;
  const drainMs = opts.drainMs ?? 250;

  /** The one child: in flight, or killed and not yet exited. */
  let current: { child: ChildProcess; startedAt: number; killed: boolean; done: Promise<void> } | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  const runOne = (args: readonly string[]): Promise<RunResult> => {
    if (current) {
      // Only a killed, unexited child can still be here (runs are serialised below).
      return Promise.resolve({ kind: 'stalled', sinceMs: now() - current.startedAt });
    }
    if (closed) return Promise.resolve({ kind: 'spawn-error', code: 'ECLOSED' });
    const [bin, ...pre] = opts.command;
    if (!bin) return Promise.resolve({ kind: 'spawn-error', code: 'ENOENT' });
    return new Promise<RunResult>((resolve) => {
      let settled = false;
      const settle = (r: RunResult): void => {
        if (!settled) {
          settled = true;
          resolve(r);
        }
      };
      let child: ChildProcess;
      try {
        child = spawnFn(bin, [...pre, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
          env: opts.env ? { ...process.env, ...opts.env } : process.env,
        });
      } catch (e) {
        settle({ kind: 'spawn-error', code: (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN' });
        return;
      }
      const startedAt = now();
      let out = '';
      let errText = '';
      child.stdout?.setEncoding('utf8');
      child.stderr?.setEncoding('utf8');
      child.stdout?.on('data', (d: string) => {
        if (out.length < MAX_OUTPUT) out += d;
      });
      child.stderr?.on('data', (d: string) => {
        if (errText.length < MAX_OUTPUT) errText += d;
      });
      let resolveDone!: () => void;
      const done = new Promise<void>((r) => (resolveDone = r));
      const entry = { child, startedAt, killed: false, done };
      let deadline: NodeJS.Timeout | null = null;
      let exited = false;

      child.once('error', (e: NodeJS.ErrnoException) => {
        // Spawn failures (ENOENT, EACCES) arrive here and no 'exit' follows.
        if (child.pid === undefined) {
          if (deadline) clearTimeout(deadline);
          if (current === entry) current = null;
          resolveDone();
          settle({ kind: 'spawn-error', code: e.code ?? 'EUNKNOWN' });
        }
      });
      if (child.pid === undefined) return; // 'error' follows
      current = entry;

      child.once('exit', (code, signal) => {
        exited = true;
        if (deadline) clearTimeout(deadline);
        if (current === entry) current = null;
        resolveDone();
        if (entry.killed) {
          settle({ kind: 'timeout', afterMs: now() - startedAt });
          return;
        }
        // stdout may still hold data after 'exit': wait for the pipes, but not for a
        // grandchild that inherited them.
        let drained = false;
        const finish = (): void => {
          if (drained) return;
          drained = true;
          child.stdout?.destroy();
          child.stderr?.destroy();
          settle({ kind: 'exited', exitCode: code, signal, stdout: out, stderr: errText });
        };
        child.once('close', finish);
        setTimeout(finish, drainMs).unref();
      });

      deadline = setTimeout(() => {
        if (exited) return;
        entry.killed = true;
        if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
        setTimeout(() => {
          if (exited) return;
          // Still there after SIGKILL: uninterruptible sleep. Stop holding the event loop
          // open for it; remember it so nothing else is spawned until it exits.
          child.stdout?.destroy();
          child.stderr?.destroy();
          child.unref();
          settle({ kind: 'stalled', sinceMs: now() - startedAt });
        }, killGraceMs);
      }, opts.timeoutMs);
    });
  };

  return {
    run(args) {
      const p = queue.then(() => runOne(args));
      queue = p.catch(() => undefined);
      return p;
    },
    stalledForMs() {
      return current && current.killed ? now() - current.startedAt : null;
    },
    alivePid() {
      return current?.child.pid ?? null;
    },
    close() {
      closed = true;
      if (current?.child.pid !== undefined) killGroup(current.child.pid, 'SIGKILL');
    },
  };
}
