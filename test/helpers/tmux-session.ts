/**
 * A real terminal for end-to-end tests: one tmux server per session on its own socket
 * (`tmux -L <unique>`, no config file), a pane of known size running a plain shell.
 * kill() ends the server and everything it started (the pane's shell gets SIGHUP).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';

export const PROMPT = 'E2E$ ';

export function tmuxAvailable(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The environment a TUI needs to render live: Ink stops drawing frames when it thinks it runs in CI. */
export function terminalEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, PS1: PROMPT, TERM: 'xterm-256color' };
  delete env.CI;
  delete env.CONTINUOUS_INTEGRATION;
  delete env.NO_COLOR;
  delete env.TMUX;
  delete env.TMUX_PANE;
  return env;
}

export class TmuxSession {
  readonly socket: string;
  private killed = false;

  private constructor(
    socket: string,
    readonly width: number,
    readonly height: number,
  ) {
    this.socket = socket;
  }

  /**
   * `vars` are set explicitly for the pane's shell (tmux does not hand every variable of its
   * global environment to a new pane; PS1 for one is dropped), CI markers are removed.
   */
  static start(opts: { width: number; height: number; env: NodeJS.ProcessEnv; vars: Record<string, string>; cwd: string }): TmuxSession {
    const socket = `reaper-e2e-${process.pid}-${randomBytes(4).toString('hex')}`;
    const s = new TmuxSession(socket, opts.width, opts.height);
    const q = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;
    const assigns = Object.entries({ PS1: PROMPT, ...opts.vars }).map(([k, v]) => `${k}=${q(v)}`);
    // tmux runs this through the user's $SHELL -c; `exec` makes the pane's pid bash itself even
    // where that shell is dash (a plain useradd user), which would otherwise fork.
    const shell = ['exec', 'env', '-u', 'CI', '-u', 'CONTINUOUS_INTEGRATION', '-u', 'NO_COLOR', '-u', 'TMUX', ...assigns, 'bash', '--norc', '--noprofile'].join(' ');
    execFileSync('tmux', ['-L', socket, '-f', '/dev/null', 'new-session', '-d', '-s', 'main', '-x', String(opts.width), '-y', String(opts.height), shell], {
      env: opts.env,
      cwd: opts.cwd,
      stdio: 'ignore',
    });
    // If this test process dies without cleaning up (runner timeout, SIGKILL), the server must
    // not outlive it: a detached watchdog ends it (the pane's TUI gets SIGHUP and restores).
    const sockPath = path.join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid ? process.getuid() : 0}`, socket);
    spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null && [ -S '${sockPath}' ]; do sleep 2; done; tmux -L '${socket}' kill-server 2>/dev/null; rm -f '${sockPath}'`], {
      detached: true,
      stdio: 'ignore',
    }).unref();
    // Keep the pane when its shell exits, so a crash can still be inspected.
    s.tmux('set-option', '-g', 'remain-on-exit', 'on');
    return s;
  }

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Key names as tmux knows them (Enter, Escape, Up, End, C-c) or single characters. */
  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', 'main', ...keys);
  }

  /** Literal text, nothing interpreted as a key name. */
  type(text: string): void {
    this.tmux('send-keys', '-t', 'main', '-l', text);
  }

  capture(opts: { colors?: boolean } = {}): string {
    return this.tmux('capture-pane', '-p', '-t', 'main', ...(opts.colors ? ['-e'] : []));
  }

  lines(): string[] {
    return this.capture().replace(/\n$/, '').split('\n');
  }

  display(format: string): string {
    return this.tmux('display-message', '-p', '-t', 'main', format).trim();
  }

  /** Pid of the pane's shell. */
  panePid(): number {
    return Number(this.display('#{pane_pid}'));
  }

  resize(width: number, height: number): void {
    this.tmux('resize-window', '-t', 'main', '-x', String(width), '-y', String(height));
  }

  kill(): void {
    if (this.killed) return;
    this.killed = true;
    try {
      this.tmux('kill-server');
    } catch {
      // already gone
    }
    // tmux leaves the socket file of a killed server behind.
    const uid = process.getuid ? process.getuid() : 0;
    rmSync(path.join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${uid}`, this.socket), { force: true });
  }
}
