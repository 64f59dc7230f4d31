/**
 * The SSH transport: runs one command on one host through the system `ssh` binary (never an SSH
 * library), so the user's ~/.ssh/config, agent, ProxyJump, known hosts and certificates just work.
 * Every call is `BatchMode=yes` (a password prompt would hang the screen), has a connect timeout
 * and a deadline that kills ssh's whole process group (ssh and a ProxyCommand it started), caps
 * what it keeps of stdout and stderr, and ends in one outcome that `classifySshOutcome` turns into
 * one kind and one sanitised line. `local` runs the command here with /bin/sh, under the same rules.
 * Multiplexing: a ControlMaster per host in a private folder (see openControlDir), kept for
 * ControlPersist seconds, so later calls skip the handshake (~10 ms instead of ~250 ms).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandOutcome } from '../model/command-outcome.js';
import { sanitizeText } from '../model/sanitize.js';

/** A host as the transport needs it (HostSpec from hosts.ts fits). */
export interface SshTarget {
  /** The ssh destination, or `local`. */
  readonly name: string;
  readonly local: boolean;
}

export interface SshOptions {
  /** Seconds for TCP connect and the server's banner (ssh's ConnectTimeout). Default 5. */
  readonly connectTimeoutS?: number;
  /** The private ControlMaster folder (openControlDir); null or absent: a fresh connection per call. */
  readonly controlDir?: string | null;
  /** How long an idle master stays (ssh's ControlPersist). Default 120 s. */
  readonly controlPersistS?: number;
  /** More ssh arguments, before the destination (`-F FILE`, `-o Key=Value`); never from a remote host. */
  readonly sshArgs?: readonly string[];
  /** The ssh program (default `ssh` from PATH). */
  readonly sshBinary?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** stderr kept: its last this many bytes (ssh's own error is the last line). Default 64 KiB. */
  readonly maxStderrBytes?: number;
}

export interface SshCallOptions extends SshOptions {
  /** The whole call, connection included: past it ssh's process group is killed. */
  readonly deadlineMs: number;
  /** stdout beyond this many bytes: the call is killed and the outcome says truncated. Default 32 MiB. */
  readonly maxStdoutBytes?: number;
  /** Written to the remote command's stdin, which is then closed (default: empty stdin). Bytes for a file copy. */
  readonly input?: string | Uint8Array;
}

/** timedOut: at the deadline (call) or after idleMs without a line (stream); truncated: stdout passed maxStdoutBytes. */
export interface SshOutcome extends CommandOutcome {
  readonly host: string;
  /** Stream: killed because one line passed maxLineBytes (the line was never held whole). */
  readonly oversizedLine: boolean;
  /** Killed by our kill() (a stream closed by its owner). */
  readonly killedByUs: boolean;
  readonly ms: number;
}

export type SshErrorKind =
  | 'refused' // nothing listens on the port
  | 'unreachable' // no such name, no route, or the server hung up before talking
  | 'auth' // the key was refused
  | 'host-key' // unknown or changed host key (StrictHostKeyChecking)
  | 'timeout' // no connection or no answer within the deadline
  | 'command-missing' // the remote shell could not find the command (exit 127)
  | 'killed' // the connection or the remote command died without an exit status
  | 'garbage' // an answer that is not what was asked for (oversized line, bad message)
  | 'too-large' // more output than the cap
  | 'ssh-missing' // no ssh binary here
  | 'remote-exit'; // the remote command ran and failed

export interface SshError {
  readonly kind: SshErrorKind;
  /** One line, sanitised, at most 240 characters. */
  readonly message: string;
}

const DEFAULT_CONNECT_TIMEOUT_S = 5;
const DEFAULT_PERSIST_S = 120;
const DEFAULT_MAX_STDOUT = 32 * 1024 * 1024;
const DEFAULT_MAX_STDERR = 64 * 1024;

/**
 * Quotes one word for the remote POSIX shell: ssh joins its arguments with spaces and the remote
 * login shell parses the result, so every argument reaper adds is quoted.
 */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `prefix` (a hosts-file command, kept as written) followed by quoted arguments. */
export function remoteCommand(prefix: string, args: readonly string[]): string {
  return [prefix, ...args.map(shellQuote)].join(' ');
}

/** The argv of one call (pure). The destination comes after `--`: it can never be an option. */
export function buildSshArgv(target: SshTarget, command: string, opts: SshOptions): string[] {
  if (target.local) return ['/bin/sh', '-c', command];
  if (target.name.startsWith('-')) throw new Error(`refusing ssh destination ${JSON.stringify(target.name)}`);
  const o = (kv: string): string[] => ['-o', kv];
  const argv = [opts.sshBinary ?? 'ssh', '-T', ...o('BatchMode=yes')];
  // ssh keeps the first value it sees for an option: BatchMode above can not be undone by sshArgs.
  argv.push(...(opts.sshArgs ?? []));
  argv.push(...o(`ConnectTimeout=${Math.max(1, Math.round(opts.connectTimeoutS ?? DEFAULT_CONNECT_TIMEOUT_S))}`));
  // A connection that dies silently (host gone) is noticed by the master within 3 × 10 s.
  argv.push(...o('ServerAliveInterval=10'), ...o('ServerAliveCountMax=3'));
  if (opts.controlDir) {
    argv.push(...o('ControlMaster=auto'), ...o(`ControlPath=${path.join(opts.controlDir, '%C')}`));
    argv.push(...o(`ControlPersist=${Math.max(1, Math.round(opts.controlPersistS ?? DEFAULT_PERSIST_S))}`));
  } else {
    argv.push(...o('ControlMaster=no'), ...o('ControlPath=none'));
  }
  argv.push('--', target.name, command);
  return argv;
}

/** Keeps the last `max` bytes: ssh writes its own error last, after whatever the remote printed. */
function tailKeeper(max: number): { push(b: Buffer): void; text(): string } {
  let parts: Buffer[] = [];
  let size = 0;
  return {
    push(b) {
      parts.push(b);
      size += b.length;
      if (size > 2 * max) {
        const all = Buffer.concat(parts).subarray(-max);
        parts = [all];
        size = all.length;
      }
    },
    text() {
      return Buffer.concat(parts).subarray(-max).toString('utf8');
    },
  };
}

interface Spawned {
  readonly child: ChildProcess;
  readonly argv: string[];
  /** SIGKILL to the whole process group (ssh, its ProxyCommand); idempotent. */
  kill(): void;
  /** Resolves once: on close, or shortly after exit if something outside the group holds a pipe. */
  readonly ended: Promise<{ exitCode: number | null; signal: string | null; spawnError: string | null }>;
}

function start(target: SshTarget, command: string, opts: SshOptions, stdin: 'pipe' | 'ignore'): Spawned {
  const argv = buildSshArgv(target, command, opts);
  // detached: ssh leads its own process group, so the deadline kills a ProxyCommand with it. A
  // ControlPersist master daemonises out of that group and stays, as it should.
  const child = spawn(argv[0]!, argv.slice(1), { stdio: [stdin, 'pipe', 'pipe'], detached: true, env: opts.env ?? process.env, shell: false });
  let killed = false;
  const kill = (): void => {
    if (killed || child.pid === undefined) return;
    killed = true;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      try {
        child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  const ended = new Promise<{ exitCode: number | null; signal: string | null; spawnError: string | null }>((resolve) => {
    let done = false;
    const finish = (exitCode: number | null, signal: string | null, spawnError: string | null): void => {
      if (done) return;
      done = true;
      // Stop reading: a descendant that escaped the group must not keep this process busy.
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.stdin?.destroy();
      resolve({ exitCode, signal, spawnError });
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (child.pid === undefined) finish(null, null, e.code ?? e.message);
    });
    child.on('exit', (code, signal) => {
      // A descendant that left the group (a master that failed to detach its stdio) must not
      // hold the call open: half a second after ssh itself exits, the call is over.
      setTimeout(() => finish(code, signal, null), 500).unref();
    });
    child.on('close', (code, signal) => finish(code, signal, null));
  });
  return { child, argv, kill, ended };
}

/** Runs `command` on `target`: never throws, never outlives its deadline. */
export async function runSsh(target: SshTarget, command: string, opts: SshCallOptions): Promise<SshOutcome> {
  const t0 = Date.now();
  const maxOut = opts.maxStdoutBytes ?? DEFAULT_MAX_STDOUT;
  const err = tailKeeper(opts.maxStderrBytes ?? DEFAULT_MAX_STDERR);
  const out: Buffer[] = [];
  let outBytes = 0;
  let timedOut = false;
  let truncated = false;
  const s = start(target, command, opts, opts.input !== undefined ? 'pipe' : 'ignore');
  const timer = setTimeout(() => {
    timedOut = true;
    s.kill();
  }, Math.max(1, opts.deadlineMs));
  s.child.stdout!.on('data', (chunk: Buffer) => {
    if (truncated) return;
    if (outBytes + chunk.length > maxOut) {
      out.push(chunk.subarray(0, maxOut - outBytes));
      outBytes = maxOut;
      truncated = true;
      s.kill();
      return;
    }
    out.push(chunk);
    outBytes += chunk.length;
  });
  s.child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
  if (opts.input !== undefined && s.child.stdin) {
    s.child.stdin.on('error', () => {}); // EPIPE: the remote side did not read it; the outcome tells why
    s.child.stdin.end(opts.input);
  }
  const end = await s.ended;
  clearTimeout(timer);
  return {
    host: target.name,
    argv: s.argv,
    exitCode: end.exitCode,
    signal: end.signal,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: err.text(),
    spawnError: end.spawnError,
    timedOut,
    truncated,
    oversizedLine: false,
    killedByUs: false,
    ms: Date.now() - t0,
  };
}

/**
 * Splits a byte stream into lines without ever holding more than `maxLineBytes` of one line: a
 * longer line is reported once to `onOversize` and its bytes are dropped up to its newline (a
 * 1 GB line costs no memory). A final line without a newline is returned by end().
 */
export function createLineReader(
  maxLineBytes: number,
  onLine: (line: string) => void,
  onOversize: (maxLineBytes: number) => void,
): { push(chunk: Buffer): void; end(): string | null } {
  let parts: Buffer[] = [];
  let size = 0;
  let skipping = false;
  return {
    push(chunk) {
      let from = 0;
      while (from < chunk.length) {
        const nl = chunk.indexOf(0x0a, from);
        const piece = chunk.subarray(from, nl === -1 ? chunk.length : nl);
        if (!skipping) {
          if (size + piece.length > maxLineBytes) {
            skipping = true;
            parts = [];
            size = 0;
            onOversize(maxLineBytes);
          } else if (piece.length > 0) {
            // Copy: a slice would keep the whole 64 KiB chunk alive for a few bytes of line.
            parts.push(Buffer.from(piece));
            size += piece.length;
          }
        }
        if (nl === -1) return;
        if (skipping) skipping = false;
        else {
          const line = Buffer.concat(parts, size).toString('utf8');
          parts = [];
          size = 0;
          onLine(line);
        }
        from = nl + 1;
      }
    },
    end() {
      const rest = skipping || size === 0 ? null : Buffer.concat(parts, size).toString('utf8');
      parts = [];
      size = 0;
      return rest;
    },
  };
}

export interface SshStreamOptions extends SshOptions {
  /** One line longer than this: reported as `garbage` and the stream is killed. */
  readonly maxLineBytes: number;
  /** No complete line for this long (the first one included): killed, `timeout`. Absent: no limit. */
  readonly idleMs?: number;
  readonly onLine: (line: string) => void;
}

export interface SshStream {
  readonly pid: number | undefined;
  /** Writes one line (a newline is added) to the remote command's stdin; false if it is closed. */
  send(line: string): boolean;
  /** Closes the remote command's stdin (an agent reads that as "stop"). */
  close(): void;
  /** Kills ssh's process group now. */
  kill(): void;
  readonly done: Promise<SshOutcome>;
}

/** A long-running remote command whose stdout is read line by line (reaper agent). */
export function openSshStream(target: SshTarget, command: string, opts: SshStreamOptions): SshStream {
  const t0 = Date.now();
  const err = tailKeeper(opts.maxStderrBytes ?? DEFAULT_MAX_STDERR);
  let timedOut = false;
  let oversizedLine = false;
  let killedByUs = false;
  const s = start(target, command, opts, 'pipe');
  let idle: NodeJS.Timeout | null = null;
  const arm = (): void => {
    if (opts.idleMs === undefined) return;
    if (idle) clearTimeout(idle);
    idle = setTimeout(() => {
      timedOut = true;
      s.kill();
    }, Math.max(1, opts.idleMs));
  };
  const reader = createLineReader(
    opts.maxLineBytes,
    (line) => {
      arm();
      opts.onLine(line);
    },
    () => {
      oversizedLine = true;
      s.kill();
    },
  );
  arm();
  s.child.stdout!.on('data', (chunk: Buffer) => {
    if (!oversizedLine) reader.push(chunk);
  });
  s.child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
  const stdin = s.child.stdin!;
  stdin.on('error', () => {}); // EPIPE when the remote side is gone: done tells why
  const done = s.ended.then((end): SshOutcome => {
    if (idle) clearTimeout(idle);
    const rest = reader.end();
    return {
      host: target.name,
      argv: s.argv,
      exitCode: end.exitCode,
      signal: end.signal,
      stdout: rest ?? '',
      stderr: err.text(),
      spawnError: end.spawnError,
      timedOut,
      truncated: false,
      oversizedLine,
      killedByUs,
      ms: Date.now() - t0,
    };
  });
  return {
    pid: s.child.pid,
    send(line) {
      if (stdin.destroyed || stdin.writableEnded) return false;
      stdin.write(`${line}\n`);
      return true;
    },
    close() {
      if (!stdin.writableEnded) stdin.end();
    },
    kill() {
      killedByUs = true;
      s.kill();
    },
    done,
  };
}

// --- failure classification (pure) ------------------------------------------------------------

interface Rule {
  readonly kind: SshErrorKind;
  readonly re: RegExp;
  readonly what: string;
}

// Texts of OpenSSH 9.2 as met on the lab (test/integration/ssh-transport.test.ts). Order matters:
// a changed host key prints a page of warnings before "Host key verification failed".
const RULES: readonly Rule[] = [
  { kind: 'host-key', re: /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/, what: 'the host key has changed' },
  { kind: 'host-key', re: /No \S+ host key is known for .*|Host key verification failed|host key .* not known/i, what: 'host key unknown or not accepted' },
  { kind: 'auth', re: /Permission denied \([^)]*\)|Too many authentication failures|no mutual signature algorithm/i, what: 'the key was refused' },
  { kind: 'refused', re: /connect to host .* Connection refused/i, what: 'connection refused: nothing listens there' },
  { kind: 'timeout', re: /Connection timed out during banner exchange|connect to host .* (?:Connection|Operation) timed out/i, what: 'no answer to connect' },
  {
    kind: 'unreachable',
    re: /Could not resolve hostname .*|No route to host|Network is unreachable|Host is down|kex_exchange_identification: .*|Connection closed by \S+ port \d+|Connection reset by .*/i,
    what: 'host unreachable',
  },
  { kind: 'killed', re: /Connection to .* closed by remote host|Timeout, server .* not responding|client_loop: send disconnect: .*|Broken pipe/i, what: 'the connection was lost' },
];

function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !/^@+$/.test(l));
  return lines[lines.length - 1] ?? '';
}

function sshError(kind: SshErrorKind, what: string, detail?: string): SshError {
  const d = detail?.trim().replace(/\s+/g, ' ').slice(0, 160);
  const line = d && d !== what ? `${what} (${d})` : what;
  return { kind, message: sanitizeText(line).slice(0, 240) };
}

/** A known ssh failure in stderr, or null. */
function classifySshText(stderr: string): SshError | null {
  for (const rule of RULES) {
    const m = rule.re.exec(stderr);
    if (m) return sshError(rule.kind, rule.what, m[0]);
  }
  return null;
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * null when the command ran and exited with one of `okExitCodes` (default 0). ssh itself exits 255
 * for its own failures; anything else is the remote command's status, passed through.
 */
export function classifySshOutcome(o: SshOutcome, okExitCodes: readonly number[] = [0]): SshError | null {
  const local = o.argv[0] === '/bin/sh';
  if (o.spawnError) {
    if (o.spawnError === 'ENOENT') return sshError('ssh-missing', local ? '/bin/sh not found' : 'ssh is not installed (not found in PATH)');
    return sshError('ssh-missing', `cannot start ${local ? '/bin/sh' : 'ssh'}: ${o.spawnError}`);
  }
  if (o.oversizedLine) return sshError('garbage', 'the host sent a line over the size limit');
  if (o.truncated) return sshError('too-large', 'the host sent more output than the size limit');
  if (o.timedOut) return sshError('timeout', `no answer within ${secs(o.ms)}`, lastLine(o.stderr));
  if (o.killedByUs) return sshError('killed', 'closed by reaper');
  if (o.exitCode !== null && okExitCodes.includes(o.exitCode)) return null;
  if (o.exitCode === 127) return sshError('command-missing', 'command not found on the host', lastLine(o.stderr));
  if (o.exitCode === 255 && !local) {
    const known = classifySshText(o.stderr);
    if (known) return known;
    const last = lastLine(o.stderr);
    // An exit-signal from the remote side, or a connection cut without a word, ends ssh with 255 and no message.
    return last ? sshError('unreachable', 'ssh failed', last) : sshError('killed', 'the remote command or the connection ended without an exit status');
  }
  if (o.exitCode === null) return sshError('killed', `${local ? 'the command' : 'ssh'} was killed by ${o.signal ?? 'a signal'}`);
  return sshError('remote-exit', `exit ${o.exitCode}`, lastLine(o.stderr));
}

// --- the private ControlMaster folder ---------------------------------------------------------

/** sun_path holds 108 bytes with the NUL. */
const SOCKET_PATH_MAX = 107;
/**
 * ControlPath is `<dir>/%C` (40 hex characters), and a starting master first listens on
 * `<path>.<16 random characters>`: the folder may be at most this long.
 */
export const CONTROL_DIR_MAX = SOCKET_PATH_MAX - 1 - 40 - 17;

function stateBase(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_STATE_HOME;
  if (xdg && path.isAbsolute(xdg)) return xdg;
  const home = env.HOME && env.HOME !== '' ? env.HOME : os.homedir();
  return path.join(home, '.local', 'state');
}

/**
 * Where masters may live, best first (pure): `$XDG_RUNTIME_DIR/reaper/ssh` (a per-login tmpfs),
 * `<state>/reaper/ssh`, `<tmp>/reaper-<uid>-ssh`. Each is [trusted parent, own components…];
 * one whose path is too long for a socket, or holds `%` (an ssh token), is left out.
 */
export function controlDirCandidates(env: NodeJS.ProcessEnv, uid: number, tmp = os.tmpdir()): { base: string; own: string[] }[] {
  const out: { base: string; own: string[] }[] = [];
  const rt = env.XDG_RUNTIME_DIR;
  if (rt && path.isAbsolute(rt)) out.push({ base: rt, own: ['reaper', 'ssh'] });
  out.push({ base: stateBase(env), own: ['reaper', 'ssh'] });
  out.push({ base: tmp, own: [`reaper-${uid}-ssh`] });
  return out.filter((c) => {
    const full = path.join(c.base, ...c.own);
    return full.length <= CONTROL_DIR_MAX && !/[%\s]/.test(full);
  });
}

/** Creates (0700) or checks one folder reaper owns: no symlink is followed, it must be ours. */
function ownPrivateDir(dir: string, uid: number): string | null {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return `cannot create ${dir}: ${(e as NodeJS.ErrnoException).code ?? e}`;
  }
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) return `${dir} is a symbolic link`;
  if (!st.isDirectory()) return `${dir} is not a folder`;
  if (st.uid !== uid) return `${dir} belongs to uid ${st.uid}, not ${uid}`;
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return null;
}

/**
 * The private folder for ControlMaster sockets, created 0700 without following symlinks; or null
 * and why (then every call makes its own connection: slower, never unsafe).
 */
export function openControlDir(env: NodeJS.ProcessEnv = process.env): { dir: string; why: null } | { dir: null; why: string } {
  const uid = process.getuid?.() ?? 0;
  const why: string[] = [];
  for (const c of controlDirCandidates(env, uid)) {
    try {
      const base = lstatSync(c.base, { throwIfNoEntry: false });
      if (!base) mkdirSync(c.base, { recursive: true, mode: 0o700 });
      let dir = c.base;
      let bad: string | null = null;
      for (const part of c.own) {
        dir = path.join(dir, part);
        bad = ownPrivateDir(dir, uid);
        if (bad) break;
      }
      if (!bad) return { dir, why: null };
      why.push(bad);
    } catch (e) {
      why.push(`${c.base}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  return { dir: null, why: why.length ? why.join('; ') : 'no folder short enough for a socket path' };
}

/** Ends the master for `target` (ssh -O exit), if any; used by tests and on quit. */
export async function closeMaster(target: SshTarget, opts: SshOptions & { deadlineMs?: number }): Promise<void> {
  if (target.local || !opts.controlDir) return;
  const argv = [opts.sshBinary ?? 'ssh', ...(opts.sshArgs ?? []), '-o', `ControlPath=${path.join(opts.controlDir, '%C')}`, '-O', 'exit', '--', target.name];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', env: opts.env ?? process.env });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.deadlineMs ?? 3000);
  await new Promise<void>((resolve) => {
    child.on('error', () => resolve());
    child.on('close', () => resolve());
  });
  clearTimeout(timer);
}
