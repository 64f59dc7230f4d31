/**
 * Is the hosts lab (test/lab/hosts-start.sh, `sudo npm run lab:start`) up, and how to reach it?
 * Reads the env file the lab writes, then logs in to the first host once (10 s deadline). Tests
 * that need the lab skip with the reason this gives. Also: how the hosts run this checkout's reaper.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifySshOutcome, runSsh, shellQuote } from '../../src/remote/ssh.js';
import { parseLabEnv } from './slurm-lab.js';

const HOSTS_LAB_ENV_FILE = process.env.REAPER_HOSTS_LAB_ENV ?? '/var/lib/reaper-lab/hosts/env';
/** This checkout: <repo>/ from <repo>/<outDir>/test/helpers/. */
export const checkoutDir = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

export interface HostsLab {
  /** host1, host2, … */
  readonly hosts: readonly string[];
  readonly ports: readonly number[];
  readonly user: string;
  readonly sshConfig: string;
  readonly identity: string;
  readonly knownHosts: string;
  /** ssh arguments that point at the lab (`-F <config>`), for the transport's sshArgs. */
  readonly sshArgs: readonly string[];
  /** process.env with the lab's `ssh` wrapper first in PATH: a plain `ssh host2 …` reaches the lab. */
  readonly env: Record<string, string>;
  /** The shell words that run this checkout's reaper on a host (`node …/dist/src/cli/main.js`), or null. */
  readonly remoteCli: string | null;
  /** Why remoteCli is null. */
  readonly remoteCliWhy: string | null;
}

export type HostsLabCheck = { lab: HostsLab; why: null } | { lab: null; why: string };

const START = 'sudo npm run lab:start (or npm run lab:hosts:start)';
let cached: Promise<HostsLabCheck> | null = null;

/** Checked once per test file. */
export function hostsLab(): Promise<HostsLabCheck> {
  cached ??= check();
  return cached;
}

async function check(): Promise<HostsLabCheck> {
  if (process.getuid?.() !== 0) return { lab: null, why: 'the hosts lab is root\'s (its client key is 0600 root): run the tests as root' };
  if (!existsSync(HOSTS_LAB_ENV_FILE)) return { lab: null, why: `hosts lab not running (no ${HOSTS_LAB_ENV_FILE}; start it: ${START})` };
  const f = parseLabEnv(readFileSync(HOSTS_LAB_ENV_FILE, 'utf8'));
  const hosts = (f.REAPER_LAB_HOSTS ?? '').split(',').filter(Boolean);
  const sshConfig = f.REAPER_LAB_SSH_CONFIG;
  if (hosts.length === 0 || !sshConfig || !f.REAPER_LAB_SSH_BIN) return { lab: null, why: `${HOSTS_LAB_ENV_FILE} lacks REAPER_LAB_HOSTS, REAPER_LAB_SSH_CONFIG or REAPER_LAB_SSH_BIN` };
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  env.PATH = `${f.REAPER_LAB_SSH_BIN}:${env.PATH ?? '/usr/bin:/bin'}`;
  const sshArgs = ['-F', sshConfig];
  const first = { name: hosts[0]!, local: false };
  const o = await runSsh(first, 'hostname', { deadlineMs: 10_000, sshArgs });
  const err = classifySshOutcome(o);
  if (err) return { lab: null, why: `hosts lab not usable (${HOSTS_LAB_ENV_FILE} is there, but ${first.name}: ${err.kind}: ${err.message}); restart it: ${START}` };
  if (o.stdout.trim() !== first.name) return { lab: null, why: `hosts lab: ${first.name} says its hostname is "${o.stdout.trim()}": not isolated` };

  // Which path of this checkout the hosts can read: the lab binds its own checkout where the lab
  // user could not read it; another checkout must be readable where it is.
  let cliRoot: string | null = null;
  let remoteCliWhy: string | null = null;
  if (f.REAPER_LAB_CHECKOUT && path.resolve(f.REAPER_LAB_CHECKOUT) === path.resolve(checkoutDir)) cliRoot = f.REAPER_LAB_REMOTE_CHECKOUT ?? checkoutDir;
  else cliRoot = checkoutDir;
  const main = `${cliRoot}/dist/src/cli/main.js`;
  const r = await runSsh(first, `test -r ${shellQuote(main)} && command -v node`, { deadlineMs: 10_000, sshArgs });
  if (classifySshOutcome(r)) {
    remoteCliWhy = `the lab's user cannot read ${main} or has no node on its PATH (the lab was started from ${f.REAPER_LAB_CHECKOUT ?? '?'})`;
    cliRoot = null;
  }
  return {
    lab: {
      hosts,
      ports: (f.REAPER_LAB_HOST_PORTS ?? '').split(',').filter(Boolean).map(Number),
      user: f.REAPER_LAB_SSH_USER ?? 'reaperlab',
      sshConfig,
      identity: f.REAPER_LAB_SSH_IDENTITY ?? '',
      knownHosts: f.REAPER_LAB_KNOWN_HOSTS ?? '',
      sshArgs,
      env,
      remoteCli: cliRoot === null ? null : `node ${shellQuote(main)}`,
      remoteCliWhy,
    },
    why: null,
  };
}

/** Live (not zombie) pids on this machine whose NUL-joined cmdline contains `needle`. */
export function pidsWithCmdline(needle: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'latin1');
      if (!cmd.includes(needle)) continue;
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z') out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}
