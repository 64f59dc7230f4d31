/**
 * `reaper agent`: this host's reaper for a remote client (started over SSH by `--hosts`).
 * Speaks the protocol of src/remote/protocol.ts on stdin/stdout; see cli/agent-server.ts.
 */
import { ReaperError } from '../../model/errors.js';
import { DEFAULT_FULL_EVERY, runAgent } from '../agent-server.js';
import { parseFlags, parseGpusFlag, parseIntFlag, type FlagSpec, type GpuSelection } from '../flags.js';

const HELP = `Usage
  reaper agent [--interval MS] [--gpus auto|none|sim:N] [--all-users] [--once]

Serves this host to a remote reaper (reaper --hosts …, started over SSH): newline-delimited
JSON on stdout (hello, then a snapshot or a delta of changes every interval, results) and
requests on stdin (act, refresh, bye). Acts are identity-checked here and follow every rule of
reaper reap, with this user's rights only. Exits when stdin closes, after finishing an act in flight.
  --interval MS    one snapshot every MS milliseconds (default 1000; 100 to 60000)
  --gpus SEL       auto (nvidia-smi when present), none, or sim:N
  --all-users      explain other users' processes too (reasons); acting on them is each request's choice
  --once           hello and one full snapshot, then exit (one-shot listings)
  --full-every N   a full snapshot every N messages, deltas between (default ${DEFAULT_FULL_EVERY}; 1: always full)`;

const SPEC: FlagSpec = {
  interval: { type: 'string' },
  gpus: { type: 'string' },
  allUsers: { type: 'boolean' },
  once: { type: 'boolean' },
  fullEvery: { type: 'string' },
};

export interface AgentArgs {
  readonly intervalMs: number;
  readonly gpus: GpuSelection;
  readonly allUsers: boolean;
  readonly once: boolean;
  readonly fullEvery: number;
}

/** Normalise argv once; every problem is one USAGE error (exit 2). */
export function parseAgentArgs(argv: string[]): AgentArgs | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const { input, flags } = parseFlags(argv, SPEC, HELP);
  if (input.length > 0) throw new ReaperError('USAGE', `agent takes no arguments, got "${input[0]}"`);
  for (const name of ['interval', 'gpus', 'fullEvery'] as const) {
    if (flags[name] === '') throw new ReaperError('USAGE', `--${name === 'fullEvery' ? 'full-every' : name} needs a value`);
  }
  return {
    intervalMs: parseIntFlag('interval', flags.interval, { min: 100, max: 60_000 }) ?? 1000,
    gpus: parseGpusFlag(flags.gpus),
    allUsers: flags.allUsers === true,
    once: flags.once === true,
    fullEvery: parseIntFlag('fullEvery', flags.fullEvery, { min: 1, max: 100_000 }) ?? DEFAULT_FULL_EVERY,
  };
}

// Set by the bundler (scripts/package.mjs); the compiled tree reads package.json.
declare const __REAPER_VERSION__: string | undefined;

async function readVersion(): Promise<string> {
  if (typeof __REAPER_VERSION__ === 'string') return __REAPER_VERSION__;
  const { readFile } = await import('node:fs/promises');
  try {
    const pkg = JSON.parse(await readFile(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return String(pkg.version);
  } catch {
    return 'unknown';
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parseAgentArgs(argv);
  if (args === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  return runAgent({ ...args, version: await readVersion(), input: process.stdin, output: process.stdout });
}
