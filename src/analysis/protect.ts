/**
 * Processes reaper must never touch, whatever was selected. Pure: everything about "who is
 * looking" (selfPid, selfUid, selfAncestors) comes from the snapshot.
 */
import type { ProcInfo, Snapshot } from '../model/index.js';
import { knownDaemonOf } from './relations.js';

export interface ProtectionOptions {
  /** Act on other users' processes too (`--all-users`). The kernel still refuses non-root (EPERM). */
  readonly allUsers: boolean;
  /**
   * Whose processes may be acted on when not `allUsers` (default: the caller). A run's teardown
   * sets the run's user, so that a root launcher or guardian takes only that user's processes.
   */
  readonly user?: number;
}

/**
 * Where a tree stops: init, kernel threads and daemons. What runs below them (every login
 * session under sshd, every job under slurmstepd, everything under init) is never "the tree"
 * of a selection that named them; only self, ancestors and other users' processes are skipped
 * one by one inside a tree.
 */
export function isTreeBoundary(p: ProcInfo): boolean {
  return p.pid <= 1 || p.isKernelThread || p.pid === 2 || p.ppid === 2 || knownDaemonOf(p) !== null;
}

/** Why `pid` must not be touched, or null when it may be. */
export function protectionOf(snapshot: Snapshot, pid: number, opts: ProtectionOptions): string | null {
  const p = snapshot.byPid.get(pid);
  if (!p) return 'not in the snapshot';
  return protectionOfProc(snapshot, p, opts);
}

export function protectionOfProc(snapshot: Snapshot, p: ProcInfo, opts: ProtectionOptions): string | null {
  if (p.pid <= 1) return 'pid 1 (init)';
  if (p.isKernelThread || p.pid === 2 || p.ppid === 2) return 'kernel thread';
  if (p.pid === snapshot.selfPid) return 'reaper itself';
  if (snapshot.selfAncestors.includes(p.pid)) return 'an ancestor of reaper (your shell or session)';
  // Even when named (--pid, --match, a key on its row): killing sshd, slurmstepd or systemd
  // takes every session or job under it, and a supervised daemon is restarted anyway.
  const daemon = knownDaemonOf(p);
  if (daemon !== null) return `${daemon}: reaper never signals daemons; stop it with its service manager (systemctl, scancel)`;
  if (p.uid === null) return 'owner unknown';
  const user = opts.user ?? snapshot.selfUid;
  if (p.uid !== user && !opts.allUsers) {
    if (user !== snapshot.selfUid) return `owned by ${p.user ?? 'uid ' + p.uid} (uid ${p.uid}), not by the run's user (uid ${user})`;
    return `owned by ${p.user ?? 'uid ' + p.uid} (uid ${p.uid}), not you: add --all-users${snapshot.selfUid === 0 ? '' : ' (as root)'}`;
  }
  return null;
}
