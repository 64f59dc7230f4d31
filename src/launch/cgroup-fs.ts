/**
 * cgroup v2 file operations, confined: the only code that creates, reads, writes, kills or
 * removes a cgroup folder. The cgroup containment layer uses them for the run it launches;
 * the guardian, `stop` and `reap --run` reach a recorded run cgroup only through
 * `resolveRunCgroup`.
 */
import { closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, realpathSync, rmdirSync, statfsSync, writeSync } from 'node:fs';
import path from 'node:path';
import { AuditTrail, defaultAuditContext, type AuditContext, type AuditEntry } from '../actions/audit.js';
import { sendSignal } from '../actions/errno.js';
import { buildCmd, parseCmdline } from '../probe/proc-cmdline.js';
import { readProcIdentity, readStatSync } from '../probe/proc-stat.js';
import { RUN_ID_RE } from './paths.js';
import { sleep } from '../model/sleep.js';

/** Mount point of the cgroup2 hierarchy, from /proc/self/mountinfo. */
export function findCgroup2Mount(mountinfo?: string): string | null {
  let text = mountinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      return null;
    }
  }
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    if (fstype !== 'cgroup2') continue;
    const mp = line.slice(0, sep).split(' ')[4];
    if (mp) return mp.replace(/\\040/g, ' ');
  }
  return null;
}

/** Our own cgroup v2 path ("0::/user.slice/…"), or null. */
export function ownCgroupPath(): string | null {
  try {
    for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
      if (line.startsWith('0::')) return line.slice(3).trim() || '/';
    }
  } catch {
    /* no cgroup info */
  }
  return null;
}

// ---- cgroup operations ----
//
// Every operation below first checks that its folder really is a cgroup v2 folder reached
// without a symbolic link (statfs type, lstat, realpath), and opens interface files with
// O_NOFOLLOW: a path from a journal can name anything, and `cgroup.kill` or `cgroup.procs`
// in an ordinary folder could be links to a file that must not be written or pids that must
// not be signalled.

/** CGROUP2_SUPER_MAGIC (include/uapi/linux/magic.h). */
const CGROUP2_MAGIC = 0x63677270;

/** Why `dir` is not a real cgroup v2 folder reached without symbolic links, or null. */
function cgroupDirProblem(dir: string): string | null {
  if (!path.isAbsolute(dir) || path.normalize(dir) !== dir) return `${dir} is not a plain absolute path`;
  try {
    const st = lstatSync(dir);
    if (st.isSymbolicLink()) return `${dir} is a symbolic link`;
    if (!st.isDirectory()) return `${dir} is not a folder`;
    if (realpathSync(dir) !== dir) return `${dir} resolves elsewhere (${realpathSync(dir)})`;
    if (statfsSync(dir).type !== CGROUP2_MAGIC) return `${dir} is not on a cgroup2 file system`;
  } catch (e) {
    return `${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  return null;
}

/**
 * The run cgroup a journal names, accepted only when it is exactly `<cgroup2 mount>[/P]/reaper/<runId>`
 * for this run id, every folder from the mount down is a real cgroup folder (no symbolic
 * links), and the run's folder (and `reaper` above it) belong to the run's user (or root).
 * Returns the folder, or why it is refused. Anything else (another cgroup, a folder elsewhere, a
 * sibling run) is never written, killed or removed.
 */
export function resolveRunCgroup(recorded: string, runId: string, owner: number, mount: string | null = findCgroup2Mount()): { dir: string } | { why: string } {
  if (!mount) return { why: 'no cgroup2 file system is mounted' };
  if (!RUN_ID_RE.test(runId)) return { why: `"${runId}" is not a run id` };
  if (!path.isAbsolute(recorded) || path.normalize(recorded) !== recorded || recorded.endsWith('/')) return { why: `recorded cgroup "${recorded}" is not a plain absolute path` };
  const rel = path.relative(mount, recorded);
  const parts = rel.split('/');
  if (rel === '' || rel.startsWith('..') || parts.some((c) => c === '' || c === '.' || c === '..')) return { why: `recorded cgroup ${recorded} is not under the cgroup2 mount ${mount}` };
  if (parts.length < 2 || parts[parts.length - 1] !== runId || parts[parts.length - 2] !== 'reaper') return { why: `recorded cgroup ${recorded} is not reaper's cgroup of run ${runId} (<mount>[/…]/reaper/${runId})` };
  let cur = mount;
  const mountWhy = cgroupDirProblem(mount);
  if (mountWhy) return { why: mountWhy };
  for (const c of parts) {
    cur = path.join(cur, c);
    const why = cgroupDirProblem(cur);
    if (why) return { why };
  }
  const runSt = lstatSync(recorded);
  const baseSt = lstatSync(path.dirname(recorded));
  if (runSt.uid !== owner && runSt.uid !== 0) return { why: `cgroup ${recorded} belongs to uid ${runSt.uid}, not to the run's user (uid ${owner})` };
  if (baseSt.uid !== owner && baseSt.uid !== 0) return { why: `cgroup ${path.dirname(recorded)} belongs to uid ${baseSt.uid}, not to the run's user (uid ${owner})` };
  return { dir: recorded };
}

/** Opens an interface file of a checked cgroup folder, never through a link, never creating it. */
function openCgroupFile(dir: string, name: string, flags: number): number | null {
  let fd: number;
  try {
    fd = openSync(path.join(dir, name), flags | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    if (fstatSync(fd).isFile()) return fd;
  } catch {
    /* fall through */
  }
  closeSync(fd);
  return null;
}

function readCgroupFile(dir: string, name: string): string | null {
  const fd = openCgroupFile(dir, name, constants.O_RDONLY);
  if (fd === null) return null;
  try {
    const buf = Buffer.alloc(64 * 1024);
    let off = 0;
    for (;;) {
      const n = readSync(fd, buf, off, buf.length - off, null);
      if (n <= 0 || off + n >= buf.length) {
        off += Math.max(n, 0);
        break;
      }
      off += n;
    }
    return buf.toString('utf8', 0, off);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Writes `value` to an interface file of `dir`, only when `dir` is a real cgroup folder. */
function writeCgroupFile(dir: string, name: string, value: string): boolean {
  if (cgroupDirProblem(dir)) return false;
  const fd = openCgroupFile(dir, name, constants.O_WRONLY);
  if (fd === null) return false;
  try {
    writeSync(fd, value);
    return true;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

export function makeCgroup(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    return true;
  } catch {
    return false;
  }
}

export function cgroupProcs(dir: string): number[] {
  if (cgroupDirProblem(dir)) return [];
  const text = readCgroupFile(dir, 'cgroup.procs');
  if (text === null) return [];
  return text
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number)
    .filter((pid) => pid > 1);
}

function cgroupPopulated(dir: string): boolean {
  if (cgroupDirProblem(dir)) return false;
  const text = readCgroupFile(dir, 'cgroup.events');
  if (text === null) return false;
  const m = /populated (\d)/.exec(text);
  return m ? m[1] === '1' : cgroupProcs(dir).length > 0;
}


/**
 * SIGKILLs every process in the cgroup (and its children), waits until it is empty, removes it.
 * Returns how many were in it. A folder that is not a real cgroup (see cgroupDirProblem) is
 * left alone: `refused` says why.
 *
 * Audit: a cgroup.kill is one write that SIGKILLs every member, and it is logged per member
 * (so `reaper log --pid N` finds it): the members of the cgroup and its child cgroups are read
 * right before the write, each gets an intent line naming the cgroup (`via`), and an outcome
 * line once the cgroup is empty or the wait is over (gone, or survived while still there).
 */
export async function killCgroup(dir: string, opts: { waitMs?: number; remove?: boolean; audit?: AuditContext } = {}): Promise<{ killed: number; empty: boolean; refused?: string }> {
  if (!existsSync(dir)) return { killed: 0, empty: true };
  const refused = cgroupDirProblem(dir);
  if (refused) return { killed: 0, empty: true, refused };
  const before = cgroupProcs(dir).length;
  const audit = new CgroupAudit(dir, opts.audit);
  audit.open(cgroupTreeProcs(dir));
  // no cgroup.kill (kernel < 5.14): signal the members one by one
  const wrote = writeCgroupFile(dir, 'cgroup.kill', '1');
  if (wrote) audit.sent('SIGKILL (cgroup.kill)');
  const deadline = Date.now() + (opts.waitMs ?? 3000);
  for (;;) {
    if (!wrote) {
      for (const pid of cgroupProcs(dir)) {
        const e = audit.open([pid])[0];
        if (sendSignal(pid, 'SIGKILL').ok) e?.sent.push('SIGKILL');
      }
    }
    if (!cgroupPopulated(dir)) break;
    if (Date.now() > deadline) break;
    await sleep(10);
  }
  const empty = !cgroupPopulated(dir);
  audit.close();
  if (opts.remove !== false && empty) await removeCgroupTreeSettled(dir);
  return { killed: before, empty };
}

/** The audit entries of one killCgroup: one per member, opened before the kill. */
class CgroupAudit {
  private trail: AuditTrail | null = null;
  private readonly entries = new Map<number, { e: AuditEntry; startTime: number }>();

  constructor(
    private readonly dir: string,
    private readonly ctx: AuditContext | undefined,
  ) {}

  /** Intent lines for members not seen yet (their identity read now); returns their entries. */
  open(pids: readonly number[]): Array<AuditEntry | undefined> {
    return pids.map((pid) => {
      const known = this.entries.get(pid);
      if (known) return known.e;
      const id = readProcIdentity(pid);
      if (!id || id.state === 'Z' || id.state === 'X') return undefined;
      this.trail ??= new AuditTrail(this.ctx ?? defaultAuditContext(`cgroup.kill of ${this.dir}`));
      const e = this.trail.intent({ pid, startTime: id.startTime, uid: id.uid, cmd: readCmdOf(pid), reasons: [`in cgroup ${this.dir}`] }, 'SIGKILL', `cgroup.kill ${this.dir}`);
      this.entries.set(pid, { e, startTime: id.startTime });
      return e;
    });
  }

  sent(what: string): void {
    for (const { e } of this.entries.values()) e.sent.push(what);
  }

  /** Outcome lines: gone unless the same process is still alive. */
  close(): void {
    if (!this.trail) return;
    for (const [pid, { e, startTime }] of this.entries) {
      const id = readProcIdentity(pid);
      const alive = id !== null && id.startTime === startTime && id.state !== 'Z' && id.state !== 'X';
      this.trail.outcome(e, alive ? 'survived' : 'gone', alive ? `still alive after SIGKILL (state ${id.state})` : 'killed (SIGKILL by cgroup.kill)');
    }
    this.trail.ctx.log.flushSyslog();
  }
}

/** Members of a cgroup and of its child cgroups. */
function cgroupTreeProcs(dir: string): number[] {
  const out = cgroupProcs(dir);
  try {
    for (const k of readdirSync(dir, { withFileTypes: true })) if (k.isDirectory()) out.push(...cgroupTreeProcs(path.join(dir, k.name)));
  } catch {
    /* gone */
  }
  return out;
}

function readCmdOf(pid: number): string {
  const comm = readStatSync(pid)?.comm ?? '?';
  try {
    return buildCmd(parseCmdline(readFileSync(`/proc/${pid}/cmdline`, 'utf8')), comm);
  } catch {
    return buildCmd(null, comm);
  }
}

/** removeCgroupTree, retried while the kernel still releases exiting members (EBUSY for a moment). */
export async function removeCgroupTreeSettled(dir: string, waitMs = 2000): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    removeCgroupTree(dir);
    if (!existsSync(dir)) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

/** rmdir a cgroup folder and its child cgroups, deepest first; best effort; only real cgroup folders. */
export function removeCgroupTree(dir: string): void {
  if (cgroupDirProblem(dir)) return;
  let kids: string[] = [];
  try {
    kids = spawnSafeReaddir(dir);
  } catch {
    return;
  }
  for (const k of kids) removeCgroupTree(path.join(dir, k));
  try {
    rmdirSync(dir);
  } catch {
    /* busy or gone */
  }
}

function spawnSafeReaddir(dir: string): string[] {
  // cgroup folders hold interface files and child cgroups (folders); only folders matter.
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
}
