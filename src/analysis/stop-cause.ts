/**
 * Why a stopped (T) process group is stopped, from evidence only (pure). The kernel stops a
 * whole background group when one member reads its controlling terminal (SIGTTIN) or writes
 * it / changes its modes (SIGTTOU): that member is still inside read/write/ioctl on the
 * terminal (StopEvidence, from /proc/PID/syscall). A group where every member's system call is
 * known and none touches the terminal was stopped by a signal someone sent (SIGSTOP, SIGTSTP,
 * Ctrl+Z). Anything less is "unknown": never a guess.
 */
import type { ProcInfo, Snapshot, StopCause } from '../model/index.js';

const SHELLS = new Set(['bash', 'sh', 'dash', 'zsh', 'fish', 'ksh', 'mksh', 'tcsh', 'csh', 'ash', 'busybox']);

/** Does `path` (an fd link) name p's controlling terminal? */
function isOwnTerminal(p: ProcInfo, path: string | null): boolean {
  if (path === null) return false;
  if (path === '/dev/tty') return p.ttyNr !== 0;
  return p.tty !== null && path === `/dev/${p.tty}`;
}

export function deriveStopCause(s: Snapshot, p: ProcInfo): StopCause {
  const leader = s.byPid.get(p.sid);
  const shellPid = leader && leader.pid === leader.sid && leader.state !== 'Z' && SHELLS.has(leader.comm) ? leader.pid : null;
  const base = { shellPid, tty: p.tty };
  const members = s.processes.filter((m) => m.pgid === p.pgid && m.state === 'T');
  // TTIN/TTOU stop only a background group: a group that is the terminal's foreground was stopped otherwise.
  const background = p.ttyNr !== 0 && p.tpgid !== p.pgid;
  if (background) {
    for (const kind of ['ttin', 'ttou'] as const) {
      const culprit = members.find((m) => {
        const e = m.stopEvidence;
        if (!e || !isOwnTerminal(m, e.fdPath)) return false;
        return kind === 'ttin' ? e.call === 'read' : e.call === 'write' || e.call === 'ioctl';
      });
      if (culprit) return { kind, culpritPid: culprit.pid, ...base };
    }
  }
  const allKnown = members.length > 0 && members.every((m) => m.stopEvidence !== undefined && m.stopEvidence !== null);
  return { kind: allKnown ? 'signal' : 'unknown', culpritPid: null, ...base };
}

/** The sentence for a stopped process's cause (sanitised inputs only: comm, tty names). */
export function describeStopCause(s: Snapshot, p: ProcInfo, c: StopCause): string {
  const tty = c.tty ?? 'its terminal';
  const shell = c.shellPid !== null ? `fg it in shell ${c.shellPid} on ${tty}` : `bring it to the foreground of ${tty}`;
  if (c.kind === 'ttin' || c.kind === 'ttou') {
    const who = c.culpritPid === p.pid ? 'it' : `process ${c.culpritPid} (${s.byPid.get(c.culpritPid!)?.comm ?? 'gone'})`;
    const what = c.kind === 'ttin' ? `read the terminal ${tty} (SIGTTIN)` : `wrote to or set the modes of the terminal ${tty} (SIGTTOU)`;
    return `${who} ${what} from background group ${p.pgid}, and the kernel stopped the whole group; resuming alone is pointless (it touches the terminal again and stops again): ${shell}, or kill it`;
  }
  if (c.kind === 'signal') {
    return `stopped by a signal (SIGSTOP, SIGTSTP or Ctrl+Z): no process of group ${p.pgid} was reading or writing a terminal`;
  }
  return `stopped by a signal, cause unknown (what its group was doing could not be read: /proc/PID/syscall needs its owner or root)`;
}
