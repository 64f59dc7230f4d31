/**
 * reaper's own wrapper processes around a task (src/launch/containment.ts, wrapArgv): the
 * pdeathsig layer (`setpriv --pdeathsig KILL -- …`), the cgroup mover (`/bin/sh -c <script>
 * reaper-cgroup DIR …`), the PID namespace (`unshare [--user --map-current-user] --pid
 * --fork --kill-child -- …`) and its init (`perl -e <STAGE_INIT_SCRIPT> -- …`, named
 * `reaper-init` in the process table). setpriv and the mover exec into what they wrap; `unshare --fork` and
 * the init stay as parents of the user's command, the ones the screen and `ls` fold away.
 *
 * A process is one of them only on evidence, never on its name: it carries a run marker
 * (REAPER_RUN), and either it is a session leader (the launcher spawns each task in its own
 * session) whose argv is exactly one of the shapes above with a command after it, or it is the
 * init: the init's exact argv shape, a member of its session's group but not its leader. What
 * this decides is display only (folding, naming, the simulator's GPU holders), never a signal.
 * Pure.
 */
import type { ProcInfo } from './proc.js';

/** The cgroup mover's script, byte for byte as containment.ts builds it (a test keeps them equal). */
const CGROUP_MOVER_SCRIPT = 'echo 0 > "$1/cgroup.procs" || echo "reaper: could not enter cgroup $1" >&2; shift; exec "$@"';
/** `$0` of the cgroup mover's shell. */
const CGROUP_MOVER_NAME = 'reaper-cgroup';

/**
 * The init of a stage's PID namespace (launch/layers/stage-init.ts), byte for byte: PID 1 must
 * reap orphans and must not be the command (the kernel drops signals PID 1 has no handler for).
 * No `use POSIX`: loading it took ~17 ms of every stage's start (perl alone: ~3 ms); plain `exit`
 * is safe here (nothing is buffered on STDOUT, an -e script has no END blocks).
 */
export const STAGE_INIT_SCRIPT = `use strict;
my $st; if (open($st, '>&=', 3)) { fcntl($st, 2, 1) } else { undef $st }
if (open(my $c, '>', '/proc/self/comm')) { print $c 'reaper-init'; close $c }
my $child = fork;
if (!defined $child) { print STDERR "reaper: cannot fork the stage: $!\\n"; exit 127 }
if ($child == 0) { exec { $ARGV[0] } @ARGV; print STDERR "reaper: cannot run $ARGV[0]: $!\\n"; exit 127 }
my $status = 0;
for (;;) { my $w = waitpid(-1, 0); if ($w == $child) { $status = $?; last } if ($w < 0) { last unless $!{EINTR} } }
if ($st) { print $st "$status\\n"; close $st }
exit(($status & 127) ? 128 + ($status & 127) : $status >> 8);
`;

export type WrapperKind = 'pdeathsig' | 'cgroup' | 'pidns' | 'init';

const UNSHARE_FLAGS = ['--pid', '--fork', '--kill-child', '--'];
const UNSHARE_USER_FLAGS = ['--user', '--map-current-user', ...UNSHARE_FLAGS];
const SETPRIV_FLAGS = ['--pdeathsig', 'KILL', '--'];

function absoluteNamed(arg0: string | undefined, name: string): boolean {
  return arg0 !== undefined && arg0.startsWith('/') && arg0.endsWith('/' + name);
}

function startsWith(argv: readonly string[], at: number, words: readonly string[]): boolean {
  return words.every((w, i) => argv[at + i] === w);
}

/** The wrapper layer an argv has the exact shape of, and where the wrapped command starts; null when none. */
export function parseWrapperArgv(argv: readonly string[] | null): { kind: WrapperKind; commandAt: number } | null {
  if (!argv || argv.length === 0) return null;
  const shape = (): { kind: WrapperKind; at: number } | null => {
    if (absoluteNamed(argv[0], 'setpriv') && startsWith(argv, 1, SETPRIV_FLAGS)) return { kind: 'pdeathsig', at: 1 + SETPRIV_FLAGS.length };
    if (argv[0] === '/bin/sh' && argv[1] === '-c' && argv[2] === CGROUP_MOVER_SCRIPT && argv[3] === CGROUP_MOVER_NAME && argv.length > 4) return { kind: 'cgroup', at: 5 };
    if (absoluteNamed(argv[0], 'unshare') && startsWith(argv, 1, UNSHARE_FLAGS)) return { kind: 'pidns', at: 1 + UNSHARE_FLAGS.length };
    if (absoluteNamed(argv[0], 'unshare') && startsWith(argv, 1, UNSHARE_USER_FLAGS)) return { kind: 'pidns', at: 1 + UNSHARE_USER_FLAGS.length };
    if (absoluteNamed(argv[0], 'perl') && argv[1] === '-e' && argv[2] === STAGE_INIT_SCRIPT && argv[3] === '--') return { kind: 'init', at: 4 };
    return null;
  };
  const found = shape();
  if (found === null) return null;
  const { kind, at } = found;
  if (at >= argv.length) return null;
  return { kind, commandAt: at };
}

export type WrapperEvidence = Pick<ProcInfo, 'pid' | 'pgid' | 'sid' | 'runId' | 'argv'>;

/** True when this process is one of reaper's wrappers of a task (see the module comment for the evidence). */
export function isReaperWrapper(p: WrapperEvidence): boolean {
  if (p.runId === null || p.runId === '') return false;
  if (isRunningInit(p)) return true;
  if (p.pid !== p.sid || p.pid !== p.pgid) return false;
  // The session leaders: setpriv, the cgroup mover, unshare. The init never leads a session.
  const w = parseWrapperArgv(p.argv);
  return w !== null && w.kind !== 'init';
}

/** The stage init as it runs: its exact argv, in the task's session group, not its leader (unshare is). */
function isRunningInit(p: WrapperEvidence): boolean {
  return p.pgid === p.sid && p.pid !== p.sid && parseWrapperArgv(p.argv)?.kind === 'init';
}

/** The layer a wrapper process belongs to (for its label), or null. */
export function wrapperKindOf(p: WrapperEvidence): WrapperKind | null {
  if (!isReaperWrapper(p)) return null;
  return isRunningInit(p) ? 'init' : parseWrapperArgv(p.argv)?.kind ?? null;
}

/** The command a wrapper runs, innermost (past every nested wrapper layer), or null when `argv` is no wrapper. */
export function wrappedCommand(argv: readonly string[] | null): readonly string[] | null {
  let w = parseWrapperArgv(argv);
  if (!w || !argv) return null;
  let rest = argv.slice(w.commandAt);
  while ((w = parseWrapperArgv(rest)) !== null) rest = rest.slice(w.commandAt);
  return rest;
}
