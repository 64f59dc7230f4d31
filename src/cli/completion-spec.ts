/**
 * The one table of reaper's commands and flags that the shell completion scripts are generated
 * from (`reaper completion bash|zsh`). A test compares it with every command's --help, so a flag
 * added to a command without an entry here fails the build. Hidden commands (sim-nvidia-smi,
 * __guardian) are left out on purpose.
 */

/** What follows a flag (or fills a positional slot). */
export type ValueKind =
  | { readonly kind: 'none' } // a boolean flag
  | { readonly kind: 'choice'; readonly values: readonly string[] }
  | { readonly kind: 'file'; readonly extensions: readonly string[] }
  | { readonly kind: 'run' } // run ids from the state folder, and "last"
  | { readonly kind: 'pid' }
  | { readonly kind: 'free'; readonly what: string }; // a number, a regex: nothing to offer

export interface FlagEntry {
  /** With the dashes: "--dry-run". */
  readonly name: string;
  readonly value: ValueKind;
  /** One short line (shown by zsh). */
  readonly help: string;
}

export interface CommandEntry {
  readonly name: string;
  readonly help: string;
  readonly flags: readonly FlagEntry[];
  /** The positional argument, when the command takes one. */
  readonly arg?: { readonly what: string; readonly value: ValueKind };
}

const NONE: ValueKind = { kind: 'none' };
const GPUS: FlagEntry = {
  name: '--gpus',
  value: { kind: 'choice', values: ['auto', 'none', 'sim:1', 'sim:2', 'sim:4', 'sim:8'] },
  help: 'GPU source: nvidia-smi (auto), none, or N simulated GPUs',
};
const GPUS_RUN: FlagEntry = { ...GPUS, value: { kind: 'choice', values: ['auto', 'sim:1', 'sim:2', 'sim:4', 'sim:8'] }, help: 'real GPUs from nvidia-smi, or N simulated GPUs' };
const JSON_FLAG: FlagEntry = { name: '--json', value: NONE, help: 'JSON output' };
const CONTAINMENT: FlagEntry = {
  name: '--containment',
  value: { kind: 'choice', values: ['auto', 'pgroup-only', 'no-cgroup', 'no-pidns', 'no-pdeathsig', 'no-guardian'] },
  help: 'containment layers to use',
};
const BATCH_FILE: ValueKind = { kind: 'file', extensions: ['yaml', 'yml'] };
const HOSTS: FlagEntry = { name: '--hosts', value: { kind: 'free', what: 'hosts (h1,h2 or @FILE)' }, help: 'several hosts over ssh (local: this machine)' };
const HOST: FlagEntry = { name: '--host', value: { kind: 'free', what: 'ssh destination' }, help: 'act on this host over ssh' };
const HOST_TIMEOUT: FlagEntry = { name: '--host-timeout', value: { kind: 'free', what: 'seconds' }, help: 'seconds a host has to answer' };

export const GLOBAL_FLAGS: readonly FlagEntry[] = [
  { name: '--help', value: NONE, help: 'show help' },
  { name: '--version', value: NONE, help: 'print the version' },
];

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'top',
    help: 'the live screen (the default command)',
    flags: [
      GPUS,
      { name: '--interval', value: { kind: 'free', what: 'seconds' }, help: 'refresh every S seconds' },
      { name: '--all', value: NONE, help: "every user's processes" },
      { name: '--readonly', value: NONE, help: 'look only: no kill, launch or stop' },
      { name: '--batch', value: BATCH_FILE, help: 'the batch L launches' },
      { name: '--hosts', value: { kind: 'free', what: 'hosts' }, help: 'several hosts over SSH (h1,h2 or @FILE)' },
    ],
  },
  {
    name: 'ls',
    help: 'the process forest with GPU columns',
    flags: [
      { name: '--all', value: NONE, help: "every user's processes and kernel threads" },
      { name: '--leftovers', value: NONE, help: 'only leftovers, with their reason codes' },
      { name: '--match', value: { kind: 'free', what: 'regular expression' }, help: 'one more batch pattern' },
      { name: '--pid', value: { kind: 'pid' }, help: 'process N and its descendants' },
      { name: '--gpu', value: { kind: 'free', what: 'GPU index' }, help: 'holders of GPU index N' },
      JSON_FLAG,
      GPUS,
      HOSTS,
      HOST_TIMEOUT,
    ],
  },
  {
    name: 'reap',
    help: 'explain and remove leftovers',
    flags: [
      { name: '--leftovers', value: NONE, help: 'processes marked as leftovers (default)' },
      { name: '--run', value: { kind: 'run' }, help: 'members of a run' },
      { name: '--pid', value: { kind: 'pid' }, help: 'process N and its descendants' },
      { name: '--match', value: { kind: 'free', what: 'regex' }, help: 'command lines matching REGEX' },
      { name: '--state', value: { kind: 'choice', values: ['T', 'Z', 'D'] }, help: 'stopped, zombie or uninterruptible' },
      { name: '--gpu', value: { kind: 'free', what: 'GPU index' }, help: 'holders of GPU index N' },
      { name: '--all-users', value: NONE, help: "other users' processes too" },
      { name: '--signal', value: { kind: 'choice', values: ['term', 'kill', 'cont'] }, help: 'how to act (default kill)' },
      { name: '--grace', value: { kind: 'free', what: 'seconds' }, help: 'seconds between TERM and KILL' },
      { name: '--dry-run', value: NONE, help: 'print the plan, touch nothing' },
      { name: '--yes', value: NONE, help: 'do not ask' },
      JSON_FLAG,
      GPUS,
      HOST,
      HOST_TIMEOUT,
    ],
  },
  {
    name: 'run',
    help: 'run a batch so that nothing survives',
    arg: { what: 'batch file', value: BATCH_FILE },
    flags: [
      GPUS_RUN,
      { name: '--detach', value: NONE, help: 'keep running after the terminal closes' },
      { name: '--json', value: NONE, help: "the run's events as JSON lines" },
      { name: '--timeout', value: { kind: 'free', what: 'duration' }, help: 'stop the driver after D (with -- COMMAND)' },
      { name: '--backend', value: { kind: 'choice', values: ['local', 'slurm'] }, help: 'run stages here or as Slurm jobs' },
      CONTAINMENT,
    ],
  },
  {
    name: 'stop',
    help: 'stop a run and tear it down',
    arg: { what: 'run', value: { kind: 'run' } },
    flags: [
      { name: '--kill', value: NONE, help: 'no grace period' },
      { name: '--wait', value: { kind: 'free', what: 'seconds' }, help: 'how long to wait for the launcher' },
      JSON_FLAG,
      HOST,
    ],
  },
  {
    name: 'runs',
    help: 'recent runs: state, tasks ok and failed, duration',
    flags: [
      { name: '--limit', value: { kind: 'free', what: 'number of runs' }, help: 'the N newest runs (default 20)' },
      { name: '--all', value: NONE, help: 'every run' },
      JSON_FLAG,
    ],
  },
  {
    name: 'show',
    help: 'what each task and stage of a run did, and why',
    arg: { what: 'run', value: { kind: 'run' } },
    flags: [
      { name: '--lines', value: { kind: 'free', what: 'number of lines' }, help: 'lines of stderr per failed stage (default 10)' },
      JSON_FLAG,
    ],
  },
  {
    name: 'log',
    help: 'every signal reaper sent: who asked, why, what became of it',
    flags: [
      { name: '--since', value: { kind: 'free', what: 'duration or date' }, help: 'only newer entries (1h, 30m, 2d, ISO date)' },
      { name: '--user', value: { kind: 'free', what: 'user' }, help: "a user's processes, or signals they asked for" },
      { name: '--pid', value: { kind: 'pid' }, help: 'only process N' },
      { name: '--run', value: { kind: 'run' }, help: 'only signals of a run' },
      { name: '--limit', value: { kind: 'free', what: 'number of entries' }, help: 'the N newest entries (default 100)' },
      JSON_FLAG,
    ],
  },
  {
    name: 'doctor',
    help: 'what this machine allows',
    flags: [JSON_FLAG, GPUS, CONTAINMENT],
  },
  {
    name: 'completion',
    help: 'print the shell completion script',
    arg: { what: 'shell', value: { kind: 'choice', values: ['bash', 'zsh'] } },
    flags: [],
  },
  {
    name: 'install',
    help: 'copy the single-file executable to a host',
    flags: [HOST, { name: '--file', value: { kind: 'free', what: 'path of the executable' }, help: 'the executable to copy' }, HOST_TIMEOUT],
  },
];

