/**
 * Which hosts `--hosts` names: `--hosts h1,h2`, `--hosts @FILE`, or the default hosts file
 * `$XDG_CONFIG_HOME/reaper/hosts` (else `~/.config/reaper/hosts`). A hosts file has one SSH
 * destination per line, optionally followed by the command that runs reaper there (default
 * `reaper` on the remote PATH); `#` starts a comment. `local` names this machine, without SSH.
 * Every bad entry is one line for a `reaper:` error, before anything connects.
 */
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ReaperError, isReaperError } from '../model/errors.js';
import { sanitizeText } from '../model/sanitize.js';

export interface HostSpec {
  /** The destination as written (`gpu1`, `alice@gpu2`, `ssh://gpu3:2222`), or `local`. Unique. */
  readonly name: string;
  /** This machine: no SSH at all. */
  readonly local: boolean;
  /** The shell words that start reaper on that host, as written in the hosts file; null: the default. */
  readonly command: string | null;
}

/** A screen or a fan-out over more hosts than this is a typo (a wrong file), not a fleet. */
export const MAX_HOSTS = 256;
const MAX_FILE_BYTES = 256 * 1024;
const MAX_NAME = 255;
const MAX_COMMAND = 1024;

// user@host, host, [v6]; or ssh://[user@]host[:port]. Anything else could be read by ssh as
// something else: a leading '-' is an option (-oProxyCommand=… runs a command), whitespace splits.
const USER = '[A-Za-z0-9._][A-Za-z0-9._-]*@';
const HOST = '(?:[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?|\\[[0-9A-Fa-f:.]+\\])';
const DESTINATION = new RegExp(`^(?:${USER})?${HOST}$`);
const SSH_URI = new RegExp(`^ssh://(?:${USER})?${HOST}(?::[0-9]{1,5})?$`);
// C0, DEL, C1 and the bidi/line-separator characters sanitizeText escapes.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function quoted(s: string): string {
  const t = s.length > 60 ? `${s.slice(0, 60)}…` : s;
  return `"${sanitizeText(t)}"`;
}

/** Why `name` is not a destination reaper passes to ssh, or null. */
export function destinationProblem(name: string): string | null {
  if (name === '') return 'an empty host name';
  if (name.startsWith('-')) return `${quoted(name)} starts with "-": ssh would read it as an option, not a host`;
  if (name.length > MAX_NAME) return `${quoted(name)} is longer than ${MAX_NAME} characters`;
  if (CONTROL.test(name) || /\s/.test(name)) return `${quoted(name)} contains spaces or control characters`;
  if (name === 'local') return null;
  if (name.startsWith('ssh://')) {
    if (!SSH_URI.test(name)) return `${quoted(name)} is not an ssh:// destination (ssh://[user@]host[:port])`;
    const port = /:([0-9]+)$/.exec(name.slice(6));
    if (port && !name.slice(6).startsWith('[') && (Number(port[1]) < 1 || Number(port[1]) > 65535)) return `${quoted(name)}: port out of range`;
    return null;
  }
  if (!DESTINATION.test(name)) return `${quoted(name)} is not a host name or user@host (letters, digits, ".", "_", "-")`;
  return null;
}

function checkCommand(cmd: string): string | null {
  if (cmd.length > MAX_COMMAND) return `the command is longer than ${MAX_COMMAND} characters`;
  if (CONTROL.test(cmd.replace(/\t/g, ' '))) return 'the command contains control characters';
  return null;
}

function finish(hosts: HostSpec[], where: string): HostSpec[] {
  if (hosts.length === 0) throw new ReaperError('USAGE', `${where}: no hosts`);
  if (hosts.length > MAX_HOSTS) throw new ReaperError('USAGE', `${where}: ${hosts.length} hosts, more than ${MAX_HOSTS}`);
  const seen = new Set<string>();
  for (const h of hosts) {
    if (seen.has(h.name)) throw new ReaperError('USAGE', `${where}: host ${quoted(h.name)} is listed twice`);
    seen.add(h.name);
  }
  return hosts;
}

/** `h1,h2,local` (spaces around commas allowed). */
export function parseHostsList(text: string, where = '--hosts'): HostSpec[] {
  const names = text.split(',').map((s) => s.trim());
  const hosts: HostSpec[] = [];
  for (const [i, name] of names.entries()) {
    const bad = name === '' ? `entry ${i + 1} is empty` : destinationProblem(name);
    if (bad) throw new ReaperError('USAGE', `${where}: ${bad}`);
    hosts.push({ name, local: name === 'local', command: null });
  }
  return finish(hosts, where);
}

/**
 * A hosts file: `DESTINATION [COMMAND…]` per line; blank lines and `#` comments (a whole line,
 * or after whitespace) are skipped. COMMAND is kept as written: the remote login shell runs it,
 * as it runs any ssh command.
 */
export function parseHostsFile(text: string, file: string): HostSpec[] {
  const hosts: HostSpec[] = [];
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const where = `hosts file ${quoted(file)} line ${i + 1}`;
    const line = raw.replace(/\r$/, '').replace(/(^|\s)#.*$/, '').trim();
    if (line === '') continue;
    const m = /^(\S+)(?:\s+(.*))?$/.exec(line)!;
    const name = m[1]!;
    const command = m[2]?.trim() || null;
    const bad = destinationProblem(name) ?? (command !== null ? checkCommand(command) : null);
    if (bad) throw new ReaperError('USAGE', `${where}: ${bad}`);
    if (name === 'local' && command !== null) throw new ReaperError('USAGE', `${where}: "local" is this reaper; it takes no command`);
    hosts.push({ name, local: name === 'local', command });
  }
  return finish(hosts, `hosts file ${quoted(file)}`);
}

/** `$XDG_CONFIG_HOME/reaper/hosts`, else `~/.config/reaper/hosts`. */
export function defaultHostsFile(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'reaper', 'hosts');
  const home = env.HOME && env.HOME !== '' ? env.HOME : os.homedir();
  return path.join(home, '.config', 'reaper', 'hosts');
}

/** Where the host list comes from (pure): the flag's text, a file it names, or the default file. */
export type HostsSource = { readonly kind: 'list'; readonly text: string } | { readonly kind: 'file'; readonly path: string; readonly explicit: boolean };

export function hostsSource(flag: string | undefined, env: NodeJS.ProcessEnv): HostsSource {
  if (flag === undefined) return { kind: 'file', path: defaultHostsFile(env), explicit: false };
  if (flag.startsWith('@')) {
    const p = flag.slice(1);
    if (p === '') throw new ReaperError('USAGE', '--hosts @FILE: the file name is missing');
    return { kind: 'file', path: p, explicit: true };
  }
  return { kind: 'list', text: flag };
}

/**
 * The hosts to show: `--hosts` as given, or the default file. Null when there is no `--hosts` and
 * no default file (one machine, as without this feature). A file that cannot be read, is not a
 * regular file or is oversized is a usage error.
 */
export function readHosts(flag: string | undefined, env: NodeJS.ProcessEnv): HostSpec[] | null {
  const src = hostsSource(flag, env);
  if (src.kind === 'list') return parseHostsList(src.text);
  const where = `hosts file ${quoted(src.path)}`;
  let buf: Buffer;
  try {
    // A FIFO or a device would block or never end: only a regular file is read.
    const st = statSync(src.path);
    if (!st.isFile()) throw new ReaperError('USAGE', `${where}: not a regular file`);
    if (st.size > MAX_FILE_BYTES) throw new ReaperError('USAGE', `${where}: over ${MAX_FILE_BYTES / 1024} KiB`);
    buf = readFileSync(src.path);
  } catch (e) {
    if (isReaperError(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !src.explicit) return null;
    throw new ReaperError('USAGE', `${where}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(e))}`);
  }
  const text = buf.subarray(0, MAX_FILE_BYTES).toString('utf8');
  return parseHostsFile(text, src.path);
}
