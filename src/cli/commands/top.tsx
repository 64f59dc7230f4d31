/**
 * `reaper` / `reaper top`: the live screen. This file wires the TUI to the view layer: the host
 * sources (src/view: this machine, or several hosts with --hosts) and the actions object
 * (signals through each host's source, launch and stop through the launch layer); it owns the
 * terminal (alternate screen, restored on every way out) and renders the Ink root.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_BATCH_PATTERNS, patternForScript } from '../../analysis/index.js';
// Only the safe file reader and the state paths at start: the YAML parser and the launcher (a
// third of the screen's code) load when a batch file is named or a key launches or stops.
import { readBatchFile } from '../../launch/batch-file.js';
import { newRunId, stateDir } from '../../launch/paths.js';
import { isReaperError, ReaperError } from '../../model/errors.js';
import { sanitizeText } from '../../model/sanitize.js';
import { incrementalSafeStdout, ownTerminal } from '../../tui/terminal.js';
import { colorsFromEnv, createTheme } from '../../tui/theme.js';
import { ReadonlyRefusal, type ActionOutcome, type ActionTarget, type DataSource, type SignalAction, type TuiActions } from '../../tui/types.js';
import { readHosts, type HostSpec } from '../../remote/hosts.js';
import { openControlDir } from '../../remote/ssh.js';
import type { HostSource } from '../../view/host-source.js';
import { HostsView } from '../../view/hosts-view.js';
import { LocalSource, readOwnAuditEntries } from '../../view/local-source.js';
import { RemoteSource } from '../../view/remote-source.js';
import { parseFlags, parseGpusFlag, parseSecondsFlag, type FlagSpec, type GpuSelection } from '../flags.js';
import { importWithoutFetch } from '../without-fetch.js';

export { LocalSource, type LiveSourceOptions } from '../../view/local-source.js';
export { createHistoryReader, createRunsReader, PANE_TAIL_LINES } from '../../launch/run-readers.js';

const HELP = `Usage
  reaper [top] [--gpus auto|none|sim:N] [--interval SECONDS] [--all] [--readonly] [--batch FILE]
               [--hosts H1,H2,…|@FILE]

The live screen: GPUs, jobs launched by reaper, and process trees with leftovers highlighted.
  --gpus SEL       auto (nvidia-smi when present), none, or sim:N (simulated GPUs)
  --interval S     refresh every S seconds (default 1; 0.2 to 60)
  --all            every user's processes (acting on them still needs the right to)
  --readonly       look only: kill, terminate, resume, launch and stop are disabled
  --batch FILE     the batch L launches (default ./reaper.yaml when present)
  --hosts LIST     several hosts on one screen, over SSH (a reaper agent runs on each; "local"
                   is this machine); @FILE reads one host per line; --hosts alone: the
                   hosts file ~/.config/reaper/hosts
Keys: ? in the screen. NO_COLOR=1 turns colours off.`;

const SPEC: FlagSpec = {
  gpus: { type: 'string' },
  interval: { type: 'string' },
  all: { type: 'boolean' },
  readonly: { type: 'boolean' },
  batch: { type: 'string' },
  hosts: { type: 'string' },
};

export interface TopArgs {
  readonly gpus: GpuSelection;
  readonly intervalMs: number;
  readonly allUsers: boolean;
  readonly readonly: boolean;
  readonly batchFile: string | null;
  /** Why a ./reaper.yaml found in the folder is not used (shown once on the screen), else absent. */
  readonly batchNotice?: string;
  /** --hosts (or the default hosts file): several hosts on one screen; absent: this machine alone. */
  readonly hosts?: readonly HostSpec[];
}

/**
 * The text of a batch file through the launcher's one safe reader (regular file, at most
 * MAX_BATCH_BYTES, never a hang on /dev/zero or a FIFO, UTF-8); `found`: a ./reaper.yaml nobody
 * named must also be the caller's and writable by nobody else. Throws one USAGE line.
 */
export function readBatchText(file: string, shown: string = file, found = false): string {
  try {
    return readBatchFile(file, { requireOwn: found });
  } catch (e) {
    if (!isReaperError(e)) throw e;
    const why = e.message.startsWith(`${file}: `) ? e.message.slice(file.length + 2) : e.message;
    throw new ReaperError('USAGE', `batch file ${sanitizeText(shown)}: ${why}`);
  }
}

/** Normalise argv once; every problem is one USAGE error (exit 2). */
export function parseTopArgs(argv: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): TopArgs | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  // `--hosts` with no value (last, or followed by a flag): the default hosts file, as for `ls`.
  // Without --hosts the screen is this machine's alone, whether or not a hosts file exists.
  let hostsDefault = false;
  argv = argv.filter((a, i) => {
    if (a !== '--hosts' || (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-'))) return true;
    hostsDefault = true;
    return false;
  });
  const { input, flags } = parseFlags(argv, SPEC, HELP);
  const rest = input[0] === 'top' ? input.slice(1) : input;
  if (rest.length > 0) throw new ReaperError('USAGE', `top takes no arguments, got "${rest[0]}"`);
  const sec = parseSecondsFlag('interval', flags.interval);
  if (sec !== undefined && (sec < 0.2 || sec > 60)) throw new ReaperError('USAGE', `--interval must be between 0.2 and 60 seconds, got ${sec}`);
  if (flags.hosts !== undefined && typeof flags.hosts !== 'string') throw new ReaperError('USAGE', '--hosts needs a list of hosts or @FILE');
  const hosts = flags.hosts !== undefined || hostsDefault ? readHosts(flags.hosts as string | undefined, env) : null;
  if (hostsDefault && hosts === null) throw new ReaperError('USAGE', '--hosts without a list needs the hosts file ($XDG_CONFIG_HOME/reaper/hosts, one ssh destination per line)');
  let batchFile: string | null = null;
  let batchNotice: string | undefined;
  if (flags.batch !== undefined) {
    const b = String(flags.batch);
    if (b === '') throw new ReaperError('USAGE', '--batch needs a file');
    batchFile = path.resolve(cwd, b);
    if (!existsSync(batchFile)) throw new ReaperError('USAGE', `--batch: no such file: ${sanitizeText(b)}`);
    readBatchText(batchFile, b);
  } else if (existsSync(path.join(cwd, 'reaper.yaml'))) {
    // Found, not given: a ./reaper.yaml that is no batch file (a FIFO, a device, huge) is set
    // aside with a notice instead of stopping the screen.
    try {
      readBatchText(path.join(cwd, 'reaper.yaml'), './reaper.yaml', true);
      batchFile = path.join(cwd, 'reaper.yaml');
    } catch (e) {
      batchNotice = `${(e as Error).message}: not used (L needs --batch FILE)`;
    }
  }
  return {
    gpus: parseGpusFlag(flags.gpus),
    intervalMs: Math.round((sec ?? 1) * 1000),
    allUsers: flags.all === true,
    readonly: flags.readonly === true,
    batchFile,
    ...(batchNotice !== undefined ? { batchNotice } : {}),
    ...(hosts ? { hosts } : {}),
  };
}

export function gpusFlagText(sel: GpuSelection): string {
  return sel.kind === 'sim' ? `sim:${sel.count}` : sel.kind;
}

// ---------------------------------------------------------------------------------------------
// Actions: the executor for signals; launch and stop through the launch layer (a detached
// run is its own process tree and outlives this screen).

/** The default batch patterns plus the script names of the batch file L launches (if it parses). */
async function patternsOf(batchFile: string | null): Promise<readonly RegExp[]> {
  if (!batchFile) return DEFAULT_BATCH_PATTERNS;
  try {
    const { batchPatterns, parseBatchConfig } = await import('../../launch/config.js');
    const extra = batchPatterns(parseBatchConfig(readBatchText(batchFile), batchFile)).map(patternForScript);
    return [...DEFAULT_BATCH_PATTERNS, ...extra];
  } catch {
    return DEFAULT_BATCH_PATTERNS; // a broken batch file is reported when L launches it
  }
}

/** What the actions need of the screen's source: this machine's, or several hosts' (each acts on its own targets). */
export interface ActingSource {
  signal(action: SignalAction, targets: readonly ActionTarget[], opts: { readonly allUsers: boolean }): Promise<ActionOutcome[]>;
  refresh(): void;
}

export function createLiveActions(args: TopArgs, source: ActingSource, opts: { readonly localLaunch?: boolean } = {}): TuiActions {
  const guard = (): void => {
    if (args.readonly) throw new ReadonlyRefusal();
  };
  return {
    readonly: args.readonly,
    batchFile: args.batchFile,
    async signal(action: SignalAction, targets): Promise<readonly ActionOutcome[]> {
      guard();
      return source.signal(action, targets, { allUsers: args.allUsers });
    },
    async launch(): Promise<{ runId: string }> {
      guard();
      if (opts.localLaunch === false) throw new ReaperError('USAGE', 'launching on another host is not supported yet');
      if (!args.batchFile) throw new ReaperError('USAGE', 'no batch file (--batch FILE or ./reaper.yaml)');
      readBatchText(args.batchFile); // still a batch file (it may have been replaced since the start)
      // In-process, through the entry point `reaper run --detach` uses, with an id minted here.
      const { launchDetached } = await import('../../launch/detach.js');
      const r = await launchDetached(args.batchFile, { gpus: gpusFlagText(args.gpus), runId: newRunId() });
      source.refresh();
      return { runId: r.runId };
    },
    async stop(runId: string): Promise<string> {
      guard();
      const { stopRun } = await import('../../launch/stop.js');
      const r = await stopRun(stateDir(process.env), runId, { asked: 'key S (reaper top)' });
      source.refresh();
      const by = r.by === 'none' ? 'it had already ended' : `torn down by the ${r.by === 'stop' ? 'stop command' : r.by}`;
      return `stop ${runId}: ${by}, ${r.survivors} survivor${r.survivors === 1 ? '' : 's'}`;
    },
  };
}

// ---------------------------------------------------------------------------------------------

export async function run(argv: string[]): Promise<number> {
  const args = parseTopArgs(argv, process.cwd());
  if (args === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new ReaperError('USAGE', 'the live screen needs a terminal; for a one-shot listing use "reaper ls"');
  }
  const patterns = await patternsOf(args.batchFile);
  let source: LocalSource | HostsView;
  let actions: TuiActions;
  if (args.hosts) {
    const control = openControlDir(process.env);
    const ssh = { controlDir: control.dir, env: process.env };
    const sources: HostSource[] = args.hosts.map((h) =>
      h.local
        ? new LocalSource({ gpus: args.gpus, intervalMs: args.intervalMs, allUsers: args.allUsers, patterns, name: h.name })
        : new RemoteSource(h, { intervalMs: args.intervalMs, allUsers: args.allUsers, gpus: gpusFlagText(args.gpus), ssh }),
    );
    const view = new HostsView(sources, args.intervalMs);
    source = view;
    actions = createLiveActions(args, view, { localLaunch: view.localSource !== undefined });
  } else {
    const local = new LocalSource({ gpus: args.gpus, intervalMs: args.intervalMs, allUsers: args.allUsers, patterns });
    source = local;
    actions = createLiveActions(args, local);
  }
  // React and Ink pick their development or production build when first loaded: load them only
  // now, in production mode (the development build spends most of a frame on profiling hooks).
  if (process.env.NODE_ENV === undefined) process.env.NODE_ENV = 'production';
  // The first scan and the GPU readers start while the screen's code loads: the module loader
  // waits on file reads, and the scan yields every 256 processes.
  source.start();
  let screen: typeof import('../../tui/screen.js');
  try {
    screen = await importWithoutFetch(() => import('../../tui/screen.js'));
  } catch (e) {
    source.stop();
    throw e;
  }
  const { createElement, render, App } = screen;
  let instance: ReturnType<typeof render> | null = null;
  const owner = ownTerminal({
    stdout: process.stdout,
    stdin: process.stdin,
    onAbort: () => {
      source.stop();
      instance?.unmount();
    },
  });
  try {
    // Several hosts: the view's data, and this machine's audit log for the log overlay (o).
    const screenSource: DataSource =
      source instanceof HostsView
        ? { subscribe: source.subscribe, getData: source.getData, refresh: source.refresh, readRunHistory: source.readRunHistory, readAuditEntries: (q) => readOwnAuditEntries(q, process.env) }
        : source;
    instance = render(createElement(App, { source: screenSource, actions, allUsers: args.allUsers, ...(args.batchNotice ? { notice: args.batchNotice } : {}), theme: createTheme(colorsFromEnv(process.env) && process.stdout.hasColors()) }), {
      stdout: incrementalSafeStdout(process.stdout),
      stdin: process.stdin,
      exitOnCtrlC: false,
      // Only changed lines go out (an SSH link carries the difference); see incrementalSafeStdout.
      incrementalRendering: true,
      patchConsole: true,
      maxFps: 30,
    });
    await instance.waitUntilExit();
  } finally {
    source.stop();
    instance?.unmount();
    owner.restore();
    owner.dispose();
  }
  return 0;
}
export { MAX_BATCH_BYTES } from '../../launch/batch-file.js';
