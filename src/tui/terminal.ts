/**
 * Owning the terminal like htop: the alternate screen on start, the normal screen back on
 * every way out (normal exit, uncaught exception, SIGTERM/SIGHUP/SIGINT, process exit).
 * Ink has no option for it, so reaper writes the DEC private mode 1049 sequences itself.
 */

export const ENTER_ALT_SCREEN = '\x1b[?1049h';
export const LEAVE_ALT_SCREEN = '\x1b[?1049l';
const SHOW_CURSOR = '\x1b[?25h';
const RESET_ATTRS = '\x1b[0m';

export interface TerminalOwner {
  /** Back to the normal screen (idempotent). */
  restore(): void;
  /** Remove the process handlers (after restore, on a normal exit). */
  dispose(): void;
}

export interface OwnOptions {
  readonly stdout: NodeJS.WriteStream;
  readonly stdin?: NodeJS.ReadStream;
  /**
   * Called first on a signal or a crash, to unmount the UI and stop probes and children before
   * the screen is restored. Must not throw (errors are swallowed).
   */
  readonly onAbort?: () => void;
  /** Process-wide hooks (tests pass a fake). */
  readonly proc?: Pick<NodeJS.Process, 'on' | 'off' | 'exit'> & { exitCode?: number | string | undefined };
  readonly stderr?: NodeJS.WriteStream;
}

const SIGNALS: ReadonlyArray<[NodeJS.Signals, number]> = [
  ['SIGTERM', 143],
  ['SIGHUP', 129],
  ['SIGINT', 130],
];

export function ownTerminal(opts: OwnOptions): TerminalOwner {
  const proc = opts.proc ?? process;
  const out = opts.stdout;
  let restored = false;
  let disposed = false;
  const write = (s: string): void => {
    try {
      out.write(s);
    } catch {
      // The terminal may be gone (SIGHUP after an SSH drop): nothing left to restore.
    }
  };
  write(ENTER_ALT_SCREEN);

  const restore = (): void => {
    if (restored) return;
    restored = true;
    try {
      if (opts.stdin?.isTTY && typeof opts.stdin.setRawMode === 'function') opts.stdin.setRawMode(false);
    } catch {
      // ignore
    }
    write(RESET_ATTRS + SHOW_CURSOR + LEAVE_ALT_SCREEN);
  };
  const abort = (): void => {
    try {
      opts.onAbort?.();
    } catch {
      // ignore: restoring the screen matters more
    }
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    const code = SIGNALS.find(([s]) => s === sig)?.[1] ?? 1;
    abort();
    restore();
    proc.exit(code);
  };
  const onCrash = (e: unknown): void => {
    abort();
    restore();
    try {
      (opts.stderr ?? process.stderr).write(`reaper: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    } catch {
      // ignore
    }
    proc.exit(70);
  };
  const onExit = (): void => restore();
  const handlers = SIGNALS.map(([s]) => [s, () => onSignal(s)] as const);
  for (const [s, h] of handlers) proc.on(s, h);
  proc.on('uncaughtException', onCrash);
  proc.on('unhandledRejection', onCrash);
  proc.on('exit', onExit);
  return {
    restore,
    dispose(): void {
      if (disposed) return;
      disposed = true;
      for (const [s, h] of handlers) proc.off(s, h);
      proc.off('uncaughtException', onCrash);
      proc.off('unhandledRejection', onCrash);
      proc.off('exit', onExit);
    },
  };
}

/**
 * Ink 6.8.0's incremental renderer moves the cursor up one line too few when the frame ends
 * with a newline (every frame shorter than the terminal, which is all of reaper's): after
 * "A\nB\nC\n" it emits ESC[2A, landing on B, so each frame is drawn one row low and the
 * screen scrolls. Checked here in tmux; upstream's log-update has the same line. Its other
 * branch (fewer lines than before: eraseLines then cursorUp(visible)) is right. This rewrites
 * the leading cursor-up of a frame that starts with it, the only shape that branch writes.
 * Pure.
 */
export function fixIncrementalFrame(chunk: string): string {
  const m = /^\x1b\[(\d+)A(?=\x1b\[E|\x1b\[1G|$)/.exec(chunk);
  if (!m) return chunk;
  return `\x1b[${Number(m[1]) + 1}A` + chunk.slice(m[0].length);
}

/** `stdout` as Ink should see it: every property and method of the real stream, writes fixed. */
export function incrementalSafeStdout(stdout: NodeJS.WriteStream): NodeJS.WriteStream {
  const write = (chunk: unknown, ...rest: unknown[]): boolean =>
    (stdout.write as (...a: unknown[]) => boolean)(typeof chunk === 'string' ? fixIncrementalFrame(chunk) : chunk, ...rest);
  return new Proxy(stdout, {
    get(target, key) {
      if (key === 'write') return write;
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
