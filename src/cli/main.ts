#!/usr/bin/env node
/**
 * Entry point: picks the subcommand and loads only its module, so `reaper ls` does not
 * pay for Ink and React. Every command returns its exit code; only this file exits.
 */
import { closeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { isReaperError } from '../model/errors.js';
import { sanitizeText } from '../model/sanitize.js';
import { exitCodeFor, formatError } from './exit-codes.js';
import { fileURLToPath } from 'node:url';

// Set by the bundler (scripts/bundle.mjs) for the installed, split bundle: this entry file, not
// one of its chunks, is what reaper restarts itself with (src/probe/self-command.ts).
declare const __REAPER_SPLIT_ENTRY__: boolean | undefined;
if (typeof __REAPER_SPLIT_ENTRY__ === 'boolean' && __REAPER_SPLIT_ENTRY__) globalThis.__REAPER_BUNDLE__ ??= fileURLToPath(import.meta.url);

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
  log: () => import('./commands/log.js'),
  install: () => import('./commands/install.js'),
  // Machine-facing (started over SSH by --hosts), so out of the main help and completion; it has --help.
  agent: () => import('./commands/agent.js'),
  // Hidden: the nvidia-smi simulator and the run guardian re-enter through this binary,
  // so they also work from the single-file executable.
  'sim-nvidia-smi': () => import('./commands/sim-nvidia-smi.js'),
  __guardian: () => import('./commands/guardian.js'),
};

/** Commands that read the machine once and exit: no optimising compiler, no growing young generation (one-shot.ts). */
const ONE_SHOT = new Set(['ls']);

const HELP = `reaper: see, explain and reap leftover GPU batch processes

Usage
  reaper [top] [--gpus sim:N] [--all] [--readonly]   live TUI
  reaper ls [--json] [--all] [--leftovers] [--pid N] [--gpu N] [--hosts H1,H2|@FILE]
  reaper reap [selectors] [--signal term|kill|cont] [--dry-run] [--yes] [--json] [--host H]
  reaper run BATCH.yaml [--gpus sim:N] [--detach] [--json]
  reaper stop RUN|last [--host H]
  reaper runs [--limit N] [--all] [--json]            recent runs
  reaper show RUN|last [--lines N] [--json]           what each task of a run did, and why
  reaper log [--since 1h] [--user U] [--pid N] [--run ID] [--json]  what was signalled, by whom, why
  reaper doctor
  reaper completion bash|zsh
  reaper install --host H                             copy the single-file executable to H

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
    process.stderr.write(`reaper: unknown command "${sanitizeText(name)}" (try "reaper --help")\n`);
    return 2;
  }
  // Before its code loads: what the command's modules allocate also stays in a small heap.
  if (ONE_SHOT.has(name)) (await import('./one-shot.js')).tuneForOneShot();
  try {
    const mod = await load();
    return await mod.run(args);
  } catch (e) {
    process.stderr.write(errorLine(e) + '\n');
    if (!isReaperError(e) && process.env.REAPER_DEBUG) console.error(e);
    return exitCodeFor(e);
  }
}

/**
 * The one place `reaper:` error lines are printed. Messages quote batch keys, values, paths and
 * --match patterns, so they are untrusted: a ReaperError's message is escaped whole (a newline in
 * a key shows as \\n instead of cutting the line), anything else by its first line.
 */
function errorLine(e: unknown): string {
  if (isReaperError(e)) return `reaper: ${sanitizeText(e.message)}`;
  return sanitizeText(formatError(e));
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

// `reaper ls | head` closes the pipe early: that is the reader's choice, not an error. Any other
// write error (EIO: the terminal hung up, the SSH connection dropped) only means nobody reads us
// any more: never a crash. A command that listens for write errors itself (`run`: its teardown
// must finish and record the end) owns them, EPIPE included.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (stream.listenerCount('error') > 1) return;
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
}

// Node restores the terminal modes of fds 0-2 at exit and aborts (SIGABRT, exit 134) when that
// fails, which it does on a terminal that hung up (EIO). A descriptor that was a terminal at start
// and no longer answers as one is closed before exit, so Node skips it and the exit code stands.
const startedOnTty = [0, 1, 2].map((fd) => isatty(fd));
process.on('exit', () => {
  for (const fd of [0, 1, 2]) {
    if (!startedOnTty[fd] || isatty(fd)) continue;
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  }
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`reaper: internal error: ${sanitizeText(String(e))}\n`);
    process.exitCode = 70;
  },
);
