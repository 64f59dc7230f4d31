/**
 * One call per host, all hosts at once: the remote reaper over the SSH transport (one ssh call
 * per host, through the private ControlMaster), or `local` in-process. Each host has its own
 * deadline and its own outcome; a dead, hung or lying host costs its own line and nothing else.
 */
import { ReaperError } from '../../model/errors.js';
import { sanitizeText } from '../../model/sanitize.js';
import { readHosts, defaultHostsFile, parseHostsList, destinationProblem, type HostSpec } from '../../remote/hosts.js';
import { classifySshOutcome, openControlDir, remoteCommand, runSsh, type SshErrorKind, type SshOptions, type SshOutcome } from '../../remote/ssh.js';

/** Exit status of a command when some host could not be asked (the others' answers are printed). */
export const EXIT_HOST_FAILED = 3;

/**
 * The transport's kinds, plus: `incompatible` (a reaper that does not speak this schema),
 * `failed` (the local part failed in-process).
 */
export type HostErrorKind = SshErrorKind | 'incompatible' | 'failed';

export interface HostError {
  readonly kind: HostErrorKind;
  /** One line, sanitised, at most 240 characters. */
  readonly message: string;
}

export function hostError(kind: HostErrorKind, message: string): HostError {
  const line = sanitizeText(message.replace(/\s+/g, ' ').trim());
  return { kind, message: line.length > 240 ? `${line.slice(0, 239)}…` : line };
}

/** The default remote command when neither a hosts file nor anything else names one. */
const DEFAULT_REMOTE_COMMAND = 'reaper';

/** What a command needs to reach hosts (built once per command: the ControlMaster folder). */
export interface HostTransport {
  readonly ssh: SshOptions;
  /** Why multiplexing is off (no private folder), or null. */
  readonly noMasterWhy: string | null;
}

export function openHostTransport(env: NodeJS.ProcessEnv = process.env): HostTransport {
  const dir = openControlDir(env);
  return { ssh: { controlDir: dir.dir, connectTimeoutS: 5, env }, noMasterWhy: dir.why };
}

/**
 * The hosts of `--hosts VALUE`, where VALUE is a list, `@FILE`, or null for the default hosts
 * file. A listed name without a command takes the command the default hosts file gives that
 * name, if any (so `--hosts gpu2` and `--host gpu2` run what the file says for gpu2).
 */
export function resolveHosts(value: string | null, env: NodeJS.ProcessEnv): HostSpec[] {
  const explicit = value ?? `@${defaultHostsFile(env)}`;
  const hosts = readHosts(explicit, env);
  if (!hosts) throw new ReaperError('USAGE', `--hosts: no hosts`);
  if (value !== null && !value.startsWith('@')) return withDefaultCommands(hosts, env);
  return hosts;
}

/** One host for `--host NAME` (reap, stop, install): its command from the default hosts file. */
export function resolveOneHost(name: string, env: NodeJS.ProcessEnv): HostSpec {
  const bad = destinationProblem(name);
  if (bad) throw new ReaperError('USAGE', `--host: ${bad}`);
  return withDefaultCommands(parseHostsList(name, '--host'), env)[0]!;
}

function withDefaultCommands(hosts: HostSpec[], env: NodeJS.ProcessEnv): HostSpec[] {
  if (hosts.every((h) => h.local)) return hosts;
  const file = readHosts(undefined, env); // null: no default file
  if (!file) return hosts;
  const byName = new Map(file.map((h) => [h.name, h]));
  return hosts.map((h) => (h.local || h.command !== null ? h : { ...h, command: byName.get(h.name)?.command ?? null }));
}

/** The remote shell command that runs reaper with `args` on `host`. */
export function reaperCommand(host: HostSpec, args: readonly string[]): string {
  return remoteCommand(host.command ?? DEFAULT_REMOTE_COMMAND, args);
}

export interface RemoteCall {
  readonly outcome: SshOutcome;
  /** null: the command ran and exited with an accepted status. */
  readonly error: HostError | null;
}

/** Runs `reaper ARGS` on a remote host; never throws, never outlives the deadline. */
export async function callReaper(
  host: HostSpec,
  args: readonly string[],
  t: HostTransport,
  opts: { deadlineMs: number; maxStdoutBytes?: number; okExitCodes?: readonly number[]; input?: string | Uint8Array },
): Promise<RemoteCall> {
  const outcome = await runSsh(host, reaperCommand(host, args), {
    ...t.ssh,
    deadlineMs: opts.deadlineMs,
    ...(opts.maxStdoutBytes !== undefined ? { maxStdoutBytes: opts.maxStdoutBytes } : {}),
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
  const e = classifySshOutcome(outcome, opts.okExitCodes ?? [0]);
  return { outcome, error: e ? hostError(e.kind, e.message) : null };
}

/** Hosts asked at once, at most: 256 hosts are 256 ssh processes otherwise. */
export const MAX_PARALLEL_HOSTS = 32;

/**
 * Each host's task, up to MAX_PARALLEL_HOSTS at once; results in the hosts' order. A task that
 * throws is its host's `failed`. Each task measures and limits its own time.
 */
export async function forEachHost<T>(hosts: readonly HostSpec[], task: (h: HostSpec) => Promise<T>, onThrow: (h: HostSpec, e: unknown) => T): Promise<T[]> {
  const out = new Array<T>(hosts.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < hosts.length) {
      const i = next++;
      const h = hosts[i]!;
      out[i] = await task(h).catch((e: unknown) => onThrow(h, e));
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAX_PARALLEL_HOSTS, hosts.length) }, worker));
  return out;
}

/** "refused: nothing listens there (…) after 12 ms" */
export function describeHostError(e: HostError, ms: number | null): string {
  return `${e.kind}: ${e.message}${ms === null ? '' : ` after ${ms} ms`}`;
}
