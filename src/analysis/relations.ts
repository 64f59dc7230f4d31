/**
 * Pure questions about one snapshot: who adopted whom, which group/session leaders are gone.
 * A pid can be reused, so a "leader" only counts when it is not younger than the member.
 */
import type { ProcInfo, Snapshot } from '../model/index.js';

/**
 * Processes that adopt orphans besides pid 1. /proc does not expose PR_SET_CHILD_SUBREAPER,
 * so this is a name list of the usual ones (systemd --user, container inits, tmux does not).
 */
const SUBREAPER_COMMS = new Set(['systemd', 'tini', 'dumb-init', 'docker-init', 'catatonit', 's6-svscan', 'runsvdir']);

/** The parent of `p` is init or a known subreaper (the process was adopted, or started by it). */
function adopterOf(snapshot: Snapshot, p: ProcInfo): ProcInfo | { pid: 1; comm: 'init' } | null {
  if (p.ppid === 1) return snapshot.byPid.get(1) ?? { pid: 1, comm: 'init' };
  const parent = snapshot.byPid.get(p.ppid);
  if (parent && SUBREAPER_COMMS.has(parent.comm) && !parent.isKernelThread) return parent;
  return null;
}

/** Is the process with pid `leader` (a pgid or sid) still the live leader for member `p`? */
function leaderAlive(snapshot: Snapshot, leader: number, p: ProcInfo, kind: 'pgid' | 'sid'): boolean {
  if (leader <= 0) return true; // kernel-ish or unknown: nothing to say
  if (leader === p.pid) return true;
  const l = snapshot.byPid.get(leader);
  if (!l) return false;
  if (l.state === 'Z' || l.state === 'X') return false;
  // A reused pid: a younger process cannot be the leader of an older member's group.
  if (l.startTime > p.startTime) return false;
  return kind === 'pgid' ? l.pgid === leader : l.sid === leader;
}

/**
 * System daemons by kernel comm (15 characters at most). Whatever state they are in, they are
 * never leftovers: a scheduler, a login server or the GPU's own helpers are not a batch.
 */
const KNOWN_DAEMONS = new Set([
  'sshd', 'slurmd', 'slurmctld', 'slurmdbd', 'slurmstepd', 'slurmrestd', 'munged', 'sackd',
  'nvidia-persiste', 'nvidia-persistenced', 'nv-hostengine', 'nv-fabricmanage', 'nvidia-fabricma', 'dcgm-exporter',
  'systemd', 'systemd-journal', 'systemd-logind', 'systemd-udevd', 'systemd-resolve', 'systemd-timesyn',
  'systemd-network', 'dbus-daemon', 'dbus-broker', 'cron', 'crond', 'atd', 'rsyslogd', 'syslog-ng', 'agetty', 'login',
  // Container runtimes own their containers: a container's init is their child, not an orphan.
  'containerd', 'containerd-shim', 'conmon', 'dockerd', 'kubelet', 'chronyd', 'ntpd', 'polkitd', 'udisksd', 'snapd', 'irqbalance', 'Xorg', 'gdm',
  'gdm3', 'lightdm', 'sddm', 'rpcbind', 'nscd', 'sssd', 'nslcd', 'auditd', 'master', 'postfix', 'exim4',
]);

/**
 * Why `p` is a system daemon (never a leftover), or null: a known daemon by name, or a process
 * that a service manager started and supervises (its cgroup's leaf is a "….service" unit).
 */
export function daemonOf(p: ProcInfo): string | null {
  const known = knownDaemonOf(p);
  if (known !== null) return known;
  const unit = serviceUnit(p.cgroup);
  if (unit !== null) return `service ${unit}`;
  return null;
}

/**
 * A daemon by its kernel comm (sshd, slurmstepd, systemd, containerd-shim …), or null. Unlike
 * a service unit, the name does not depend on how reaper itself was started (a CI runner or a
 * timer may run reaper and its batch inside one "….service" cgroup), so it may also refuse an
 * explicit selection.
 */
export function knownDaemonOf(p: Pick<ProcInfo, 'comm'>): string | null {
  return KNOWN_DAEMONS.has(p.comm) ? `a system daemon (${p.comm})` : null;
}

/** The leaf unit of a cgroup path when it is a systemd service ("/system.slice/slurmd.service"), else null. */
export function serviceUnit(cgroup: string | null | undefined): string | null {
  if (!cgroup) return null;
  const leaf = cgroup.replace(/\/+$/, '').split('/').pop() ?? '';
  return /\.service$/.test(leaf) ? leaf : null;
}

/**
 * Where `p` lost its owner: the nearest process in its ancestry (itself included) whose parent
 * died (adopted by init or a subreaper), or null when a live owner holds it.
 *  - Adopted while inside another's job (its group is not its own): that is the root when the
 *    job's group or session leader is gone, or when its group is not its adopter's (a subshell
 *    may still lead the group of a killed driver's workers). A child in its adopter's own
 *    group and session was started by it (a container init's workload): owned.
 *  - Adopted while leading its own job (setsid, a nohup'd job, tmux, a daemon): it owns its
 *    descendants; it is its own orphan only when it made its own session or its session's
 *    leader (the login shell) is gone.
 *  - A daemon or service (daemonOf) owns what is below it: null.
 *  - The walk stops at a live session leader that has a live parent: a session is its leader's.
 */
export function orphanRootOf(snapshot: Snapshot, p: ProcInfo): ProcInfo | null {
  const seen = new Set<number>();
  let cur: ProcInfo | undefined = p;
  while (cur && !seen.has(cur.pid) && cur.pid > 1) {
    seen.add(cur.pid);
    if (cur.isKernelThread || daemonOf(cur) !== null) return null;
    const adopter = adopterOf(snapshot, cur);
    if (adopter) {
      const sessionGone = cur.sid > 0 && !leaderAlive(snapshot, cur.sid, cur, 'sid');
      if (cur.pgid === cur.pid) return cur === p && (cur.sid === cur.pid || sessionGone) ? cur : null;
      const adopterPgid = 'pgid' in adopter ? adopter.pgid : 1;
      if (sessionGone || !leaderAlive(snapshot, cur.pgid, cur, 'pgid') || cur.pgid !== adopterPgid) return cur;
      return null;
    }
    // A live session leader whose parent lives owns its session: what happened to processes
    // above it (a CI harness adopted by init, a terminal multiplexer's server) is not this job's.
    if (cur.sid === cur.pid) return null;
    cur = snapshot.byPid.get(cur.ppid);
  }
  return null;
}

export function describeProc(p: Pick<ProcInfo, 'pid' | 'comm' | 'stat'> | undefined, pid: number): string {
  if (!p) return `${pid} (gone)`;
  return `${pid} (${p.comm}, ${p.stat})`;
}

export function formatDuration(sec: number): string {
  if (sec < 60) return `${Math.round(sec)} s`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min ${Math.round(sec % 60)} s`;
  if (sec < 86400) return `${Math.floor(sec / 3600)} h ${Math.round((sec % 3600) / 60)} min`;
  return `${Math.floor(sec / 86400)} d ${Math.round((sec % 86400) / 3600)} h`;
}
