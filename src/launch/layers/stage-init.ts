/**
 * The init of a stage's PID namespace. `unshare --pid --fork` makes the stage's command the
 * namespace's PID 1, and the kernel gives PID 1 two properties a batch command does not expect:
 * a signal it has no handler for is dropped, whether it comes from inside (a Python
 * `os.kill(os.getpid(), SIGTERM)` survived) or from the launcher (SIGTERM to the stage's group
 * left a handler-less leader alive until SIGKILL at the end of the grace: measured, every
 * timeout and Ctrl+C of such a stage ended in SIGKILL), and orphans are reparented to it (it
 * never reaps them: zombies until the stage ends).
 *
 * So a tiny init is PID 1 instead: it forks the command, reaps every child (waitpid(-1)), and
 * exits with the command's status when the command ends (the kernel then kills what is left of
 * the namespace, as before). It handles no signal and forwards none: as PID 1 it ignores
 * SIGTERM/SIGINT, while the command, an ordinary member of the stage's process group, receives
 * the launcher's group signals itself, with their default meaning. SIGKILL still reaches the
 * init from the launcher's namespace and ends the whole namespace.
 *
 * PID 1 cannot die of a signal, so a command killed by one would come back as exit 128+N: the
 * init writes the command's raw wait status on fd 3 (close-on-exec, the command never sees it),
 * and the local executor reads the true end from there.
 *
 * Written in Perl because perl-base is part of every Debian and Ubuntu system and most others,
 * and starts in a few ms (measured: ~3 ms for perl alone; `use POSIX` added ~17 ms and is gone). It names itself `reaper-init` through
 * /proc/self/comm, not $0: perl's $0 overwrites /proc/PID/environ, and with it the run marker.
 * The script lives in model/wrappers.ts (the screen recognises the init by it). Node cannot be the init (libuv reaps only its own children) and a shell ignores SIGINT in
 * the commands it starts in the background. Without perl the command stays PID 1, as before.
 */

import { STAGE_INIT_SCRIPT } from '../../model/wrappers.js';

/** The argv prefix that runs the init around a command (the command follows `--`). */
export function stageInitArgv(perl: string): string[] {
  return [perl, '-e', STAGE_INIT_SCRIPT, '--'];
}


/**
 * The command's end from the init's report (a raw wait status, one line): null when there is
 * no well-formed report (the init was SIGKILLed, or never ran), then the leader's own exit counts.
 */
export function parseInitStatus(text: string): { code: number | null; signal: number | null } | null {
  const m = /^(\d{1,5})\n?$/.exec(text);
  if (!m) return null;
  const raw = Number(m[1]);
  if (raw > 0xffff) return null;
  const sig = raw & 0x7f;
  if (sig === 0) return { code: (raw >> 8) & 0xff, signal: null };
  if (sig === 0x7f) return null; // a stop status: waitpid without WUNTRACED never reports one
  return { code: null, signal: sig };
}
