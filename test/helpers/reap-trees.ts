/**
 * Real process trees for the reap tests (helper "reap"): spawn a fixture in its own session and
 * process group, read its JSON line, and clean up by group and by a unique argv marker, whatever
 * the test did. Every assertion reads /proc.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readStatSync } from '../../src/probe/proc-stat.js';

import { otherUserKit } from './other-user-kit.js';

export const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/trees/', import.meta.url));
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
export { PYTHON } from './python.js';

export function uniqueMarker(prefix = 'reaptest'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

export interface User {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export interface Spawned<T> {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly info: T;
}

/** argv prefix that runs a command as `user` (setpriv, no supplementary groups). */
export function asUser(user: User | undefined, argv: string[]): string[] {
  if (!user) return argv;
  return ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', ...argv];
}

/** Spawn detached (own session and group) and wait for the first JSON line on stdout. */
export async function spawnFixture<T>(argv: string[], opts: { env?: NodeJS.ProcessEnv; user?: User; timeoutMs?: number; quiet?: boolean } = {}): Promise<Spawned<T>> {
  const full = asUser(opts.user, argv);
  const child = spawn(full[0]!, full.slice(1), { detached: true, stdio: ['ignore', 'pipe', opts.quiet ? 'ignore' : 'inherit'], env: opts.env ?? process.env });
  const info = await new Promise<T>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`fixture ${argv.join(' ')} printed nothing`)), opts.timeoutMs ?? 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(buf.slice(0, nl)) as T);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fixture exited early (${code})`));
    });
  });
  child.stdout!.removeAllListeners('data');
  child.stdout!.resume();
  child.removeAllListeners('exit');
  child.unref();
  return { child, pid: child.pid!, info };
}

export interface Marked {
  readonly pid: number;
  readonly startTime: number;
  readonly state: string;
  readonly ppid: number;
}

/** Every process whose argv contains `marker` (zombies have no argv: not listed). */
export function pidsWithMarker(marker: string): Marked[] {
  const out: Marked[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    } catch {
      continue;
    }
    if (!cmd.includes(marker)) continue;
    const st = readStatSync(pid);
    if (st) out.push({ pid, startTime: st.startTime, state: st.state, ppid: st.ppid });
  }
  return out;
}

/** Marked processes that are really alive (not zombies). */
export function liveWithMarker(marker: string): Marked[] {
  return pidsWithMarker(marker).filter((p) => p.state !== 'Z' && p.state !== 'X');
}

/** Gone, replaced (pid reused) or a zombie. */
export function isGone(pid: number, startTime: number): boolean {
  const st = readStatSync(pid);
  return !st || st.startTime !== startTime || st.state === 'Z' || st.state === 'X';
}

export function stateOf(pid: number): string | null {
  return readStatSync(pid)?.state ?? null;
}

/** Alive and not a zombie (a killed process stays a zombie until its parent waits). */
export function isLive(pid: number): boolean {
  const s = stateOf(pid);
  return s !== null && s !== 'Z' && s !== 'X';
}

export function startTimeOf(pid: number): number {
  const st = readStatSync(pid);
  if (!st) throw new Error(`pid ${pid} is gone`);
  return st.startTime;
}

function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

/** Kill only what the test created: its process groups, its pids, and everything carrying its marker. */
export function cleanup(opts: { pgids?: number[]; pids?: number[]; marker?: string }): void {
  for (const g of opts.pgids ?? []) {
    if (g > 1) kill(-g, 'SIGKILL');
  }
  for (const p of opts.pids ?? []) if (p > 1) kill(p, 'SIGKILL');
  if (opts.marker) {
    for (let round = 0; round < 30; round++) {
      const live = liveWithMarker(opts.marker);
      if (live.length === 0) break;
      // A tagged group leader (a test's setsid) takes its group along: its untagged children
      // (a `sleep` under `sh -c '…' TAG`) would otherwise outlive the test.
      const leaders = live.filter((p) => readStatSync(p.pid)?.pgid === p.pid);
      for (const p of leaders) kill(-p.pid, 'SIGSTOP');
      for (const p of live) kill(p.pid, 'SIGSTOP');
      for (const p of leaders) kill(-p.pid, 'SIGKILL');
      for (const p of live) kill(p.pid, 'SIGKILL');
    }
  }
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run the built CLI (optionally as another user); never through a shell. */
export function runCli(args: string[], opts: { user?: User; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  // Another user runs the bundled copy: the checkout may be unreadable to them.
  const argv = asUser(opts.user, [process.execPath, opts.user ? otherUserKit().cli : CLI, ...args]);
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A throwaway system user for the unprivileged tests (root only). Null when that is impossible. */
export function createTestUser(): User | null {
  if (process.getuid?.() !== 0) return null;
  const name = `reaper-test-${randomBytes(3).toString('hex')}`;
  const r = spawnSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', name], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const id = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  return { name, uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export function deleteTestUser(user: User | null): void {
  if (user) spawnSync('userdel', [user.name], { encoding: 'utf8' });
}
