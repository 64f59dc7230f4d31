#!/usr/bin/env node
/**
 * Entry point: picks the subcommand and loads only its module, so `reaper ls` does not
 * pay for Ink and React. Every command returns its exit code; only this file exits.
 */
import { isReaperError } from '../model/errors.js';
import { exitCodeFor, formatError } from './exit-codes.js';

type CommandModule = { run(argv: string[]): Promise<number> };

const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  ls: () => import('./commands/ls.js'),
  reap: () => import('./commands/reap.js'),
  run: () => import('./commands/run.js'),
  stop: () => import('./commands/stop.js'),
  runs: () => import('./commands/runs.js'),
  show: () => import('./commands/show.js'),
  doctor: () => import('./commands/doctor.js'),
  top: () => import('./commands/top.js'),
  completion: () => import('./commands/completion.js'),
  // Hidden: the nvidia-smi simulator and the run guardian re-enter through this binary,
  // so they also work from the single-file executable.
  'sim-nvidia-smi': () => import('./commands/sim-nvidia-smi.js'),
  __guardian: () => import('./commands/guardian.js'),
};

const HELP = `reaper: see, explain and reap leftover GPU batch processes

Usage
  reaper [top] [--gpus sim:N] [--all] [--readonly]   live TUI
  reaper ls [--json] [--all] [--leftovers] [--pid N] [--gpu N]
  reaper reap [selectors] [--signal term|kill|cont] [--dry-run] [--yes] [--json]
  reaper run BATCH.yaml [--gpus sim:N] [--detach] [--json]
  reaper stop RUN|last
  reaper runs [--limit N] [--all] [--json]            recent runs
  reaper show RUN|last [--lines N] [--json]           what each task of a run did, and why
  reaper doctor
  reaper completion bash|zsh

Run "reaper <command> --help" for a command's flags.`;

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (first === '--version' || first === '-v') {
    process.stdout.write(`${await readVersion()}\n`);
    return 0;
  }
  let name = first;
  let args = rest;
  if (name === undefined || name.startsWith('-')) {
    name = 'top';
    args = argv;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`reaper: unknown command "${name}" (try "reaper --help")\n`);
    return 2;
  }
  try {
    const mod = await load();
    return await mod.run(args);
  } catch (e) {
    process.stderr.write(formatError(e) + '\n');
    if (!isReaperError(e) && process.env.REAPER_DEBUG) console.error(e);
    return exitCodeFor(e);
  }
}

// Set by the bundler (scripts/package.mjs); the compiled tree reads package.json.
declare const __REAPER_VERSION__: string | undefined;

async function readVersion(): Promise<string> {
  if (typeof __REAPER_VERSION__ === 'string') return __REAPER_VERSION__;
  const { readFile } = await import('node:fs/promises');
  try {
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

// `reaper ls | head` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`reaper: internal error: ${String(e)}\n`);
    process.exitCode = 70;
  },
);
