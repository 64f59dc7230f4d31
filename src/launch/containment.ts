/**
 * Containment layers: what this machine allows, detected at start-up, and how a task's argv is
 * wrapped to use them. Layers that the machine refuses are skipped with a note; the process
 * group, the environment marker and the guardian always remain.
 *
 *   1 pgroup     own session + process group per task, stdin closed     (always)
 *   2 marker     REAPER_RUN / REAPER_TASK in the environment             (always)
 *   3 cgroup     cgroup v2 leaf per task, cgroup.kill                     (cgroup2 writable)
 *     pidns      PID namespace per task: when its init dies the kernel    (unshare permitted)
 *                kills every member
 *     pdeathsig  SIGKILL to the task's direct child when the launcher dies (setpriv present)
 *   4 guardian   detached process holding the launcher's lifeline pipe   (always, unless disabled)
 *   5 teardown   the shared ladder (src/actions)                          (always)
 */
import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, realpathSync, rmdirSync, statfsSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ReaperError } from '../model/errors.js';
import { RUN_ID_RE } from './paths.js';

export type LayerId = 'pgroup' | 'marker' | 'cgroup' | 'pidns' | 'pdeathsig' | 'guardian';

export interface LayerInfo {
  readonly id: LayerId;
  readonly title: string;
  /** The machine allows it. */
  readonly available: boolean;
  /** It will be used (available and not disabled). */
  readonly active: boolean;
  /** What was found ("cgroup2 at /sys/fs/cgroup/unified, writable, cgroup.kill"), or why it is off. */
  readonly detail: string;
  /** What it means for the guarantee. */
  readonly meaning: string;
}

export interface Containment {
  readonly layers: readonly LayerInfo[];
  /** Folder under which run cgroups are created (<base>/<run>/<task>); null when the layer is off. */
  readonly cgroupBase: string | null;
  readonly cgroupKill: boolean;
  /** unshare prefix (without the command), or null. */
  readonly pidnsPrefix: readonly string[] | null;
  readonly setpriv: string | null;
  readonly guardian: boolean;
}

const TOKENS = ['auto', 'all', 'pgroup-only', 'none', 'no-cgroup', 'no-pidns', 'no-pdeathsig', 'no-guardian'] as const;

export interface ContainmentRequest {
  readonly cgroup: boolean;
  readonly pidns: boolean;
  readonly pdeathsig: boolean;
  readonly guardian: boolean;
}

/**
 * `--containment` / REAPER_CONTAINMENT: "auto" (every layer the machine allows), "pgroup-only"
 * (alias "none": process groups and the marker only, for tests that need survivors), or a comma
 * list of "no-cgroup", "no-pidns", "no-pdeathsig", "no-guardian".
 */
export function parseContainment(value: string | undefined): ContainmentRequest {
  const req = { cgroup: true, pidns: true, pdeathsig: true, guardian: true };
  if (value === undefined || value.trim() === '') return req;
  for (const raw of value.split(',')) {
    const t = raw.trim();
    if (!(TOKENS as readonly string[]).includes(t)) throw new ReaperError('USAGE', `--containment expects ${TOKENS.join(', ')} (comma separated), got "${t}"`);
    if (t === 'pgroup-only' || t === 'none') Object.assign(req, { cgroup: false, pidns: false, pdeathsig: false, guardian: false });
    else if (t === 'no-cgroup') req.cgroup = false;
    else if (t === 'no-pidns') req.pidns = false;
    else if (t === 'no-pdeathsig') req.pdeathsig = false;
    else if (t === 'no-guardian') req.guardian = false;
  }
  return req;
}

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

function writable(p: string): boolean {
  try {
    accessSync(p, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

interface CgroupProbe {
  base: string | null;
  kill: boolean;
  detail: string;
}

function probeCgroup(): CgroupProbe {
  const mount = findCgroup2Mount();
  if (!mount) return { base: null, kill: false, detail: 'no cgroup2 file system mounted' };
  const own = ownCgroupPath();
  // The hierarchy root (root), or our own delegated subtree (systemd user@UID.service).
  const candidates: Array<{ base: string; procs: string }> = [{ base: path.join(mount, 'reaper'), procs: path.join(mount, 'cgroup.procs') }];
  if (own && own !== '/') candidates.push({ base: path.join(mount, own, 'reaper'), procs: path.join(mount, own, 'cgroup.procs') });
  const reasons: string[] = [];
  for (const c of candidates) {
    const parent = path.dirname(c.base);
    if (!existsSync(c.base) && !writable(parent)) {
      reasons.push(`${parent} not writable`);
      continue;
    }
    if (!writable(c.procs)) {
      reasons.push(`${c.procs} not writable`);
      continue;
    }
    const probe = path.join(c.base, `.probe-${process.pid}`);
    try {
      mkdirSync(probe, { recursive: true });
      const kill = existsSync(path.join(probe, 'cgroup.kill'));
      const procsOk = writable(path.join(probe, 'cgroup.procs'));
      rmdirSync(probe);
      if (!procsOk) {
        reasons.push(`${probe}/cgroup.procs not writable`);
        continue;
      }
      return { base: c.base, kill, detail: `cgroup2 at ${mount}, runs under ${c.base}${kill ? ', cgroup.kill' : ', no cgroup.kill (kernel < 5.14): kills listed members'}` };
    } catch (e) {
      reasons.push(`${c.base}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return { base: null, kill: false, detail: `cgroup2 at ${mount} but ${reasons.join('; ')}` };
}

function which(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, bin);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  for (const p of [`/usr/bin/${bin}`, `/bin/${bin}`, `/usr/sbin/${bin}`]) if (existsSync(p)) return p;
  return null;
}

function tryRun(argv: string[]): { ok: boolean; why: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], timeout: 3000 });
  if (r.error) return { ok: false, why: r.error.message };
  if (r.status === 0) return { ok: true, why: '' };
  return { ok: false, why: (r.stderr?.toString() ?? '').trim().split('\n')[0] || `exit ${r.status ?? r.signal}` };
}

function probePidns(unshare: string | null): { prefix: string[] | null; detail: string } {
  if (!unshare) return { prefix: null, detail: 'unshare (util-linux) not found' };
  const base = [unshare, '--pid', '--fork', '--kill-child'];
  const direct = tryRun([...base, '--', 'true']);
  if (direct.ok) return { prefix: base, detail: `${unshare} --pid --fork --kill-child` };
  const user = [unshare, '--user', '--map-current-user', '--pid', '--fork', '--kill-child'];
  const viaUser = tryRun([...user, '--', 'true']);
  if (viaUser.ok) return { prefix: user, detail: `${unshare} --user --map-current-user --pid --fork --kill-child (unprivileged)` };
  return { prefix: null, detail: `refused: ${direct.why}; with a user namespace: ${viaUser.why}` };
}

const MEANING: Record<LayerId, string> = {
  pgroup: 'terminal signals never stop a task (SIGTTIN/SIGTTOU); a task tree is signalled as one group',
  marker: 'escapees that leave the group (setsid, double fork) are still found by /proc/*/environ; `env -i` escapees are not',
  cgroup: 'every process of a task, escapees included, is killed at once by cgroup.kill, whatever it did to its environment',
  pidns: 'when the task leader dies the kernel kills every process in its namespace, even after the launcher was SIGKILLed',
  pdeathsig: "the task's direct child gets SIGKILL when the launcher dies (only that process)",
  guardian: 'a detached process tears the run down when the launcher dies, even by SIGKILL',
};

/** Detects what this machine allows and combines it with what was asked for. */
export function detectContainment(req: ContainmentRequest = parseContainment(undefined)): Containment {
  const cg = probeCgroup();
  const pid = probePidns(which('unshare'));
  const setprivBin = which('setpriv');
  let pdOk = false;
  let pdDetail = 'setpriv (util-linux) not found';
  if (setprivBin) {
    const r = tryRun([setprivBin, '--pdeathsig', 'KILL', '--', 'true']);
    pdOk = r.ok;
    pdDetail = r.ok ? `${setprivBin} --pdeathsig KILL` : `setpriv refused: ${r.why}`;
  }
  const off = (what: boolean, d: string): string => (what ? d : `${d} (disabled by --containment)`);
  const layers: LayerInfo[] = [
    { id: 'pgroup', title: 'process group + session', available: true, active: true, detail: 'setsid per task, stdin closed', meaning: MEANING.pgroup },
    { id: 'marker', title: 'environment marker', available: true, active: true, detail: 'REAPER_RUN, REAPER_TASK, REAPER_STAGE', meaning: MEANING.marker },
    { id: 'cgroup', title: 'cgroup v2 leaf per task', available: cg.base !== null, active: cg.base !== null && req.cgroup, detail: cg.base ? off(req.cgroup, cg.detail) : cg.detail, meaning: MEANING.cgroup },
    { id: 'pidns', title: 'PID namespace per task', available: pid.prefix !== null, active: pid.prefix !== null && req.pidns, detail: pid.prefix ? off(req.pidns, pid.detail) : pid.detail, meaning: MEANING.pidns },
    { id: 'pdeathsig', title: 'parent-death signal', available: pdOk, active: pdOk && req.pdeathsig, detail: pdOk ? off(req.pdeathsig, pdDetail) : pdDetail, meaning: MEANING.pdeathsig },
    { id: 'guardian', title: 'guardian process', available: true, active: req.guardian, detail: off(req.guardian, 'reaper __guardian on a lifeline pipe'), meaning: MEANING.guardian },
  ];
  return {
    layers,
    cgroupBase: req.cgroup ? cg.base : null,
    cgroupKill: cg.kill,
    pidnsPrefix: req.pidns ? pid.prefix : null,
    setpriv: req.pdeathsig && pdOk ? setprivBin : null,
    guardian: req.guardian,
  };
}

/** One line for `reaper run`: "containment: a, b, c; off: d (why)". */
export function describeLayers(c: Containment): string {
  const on = c.layers.filter((l) => l.active).map((l) => l.id);
  const offList = c.layers.filter((l) => !l.active).map((l) => `${l.id} (${l.detail})`);
  return `containment: ${on.join(', ')}${offList.length ? `; off: ${offList.join('; ')}` : ''}`;
}

const CG_SCRIPT = 'echo 0 > "$1/cgroup.procs" || echo "reaper: could not enter cgroup $1" >&2; shift; exec "$@"';

/** The argv that runs `cmd` inside the active layers (the process group comes from spawn itself). */
export function wrapArgv(c: Containment, cmd: readonly string[], cgroupDir: string | null): string[] {
  let argv = [...cmd];
  if (c.pidnsPrefix) argv = [...c.pidnsPrefix, '--', ...argv];
  if (cgroupDir) argv = ['/bin/sh', '-c', CG_SCRIPT, 'reaper-cgroup', cgroupDir, ...argv];
  if (c.setpriv) argv = [c.setpriv, '--pdeathsig', 'KILL', '--', ...argv];
  return argv;
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
export function cgroupDirProblem(dir: string): string | null {
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
export function writeCgroupFile(dir: string, name: string, value: string): boolean {
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

export function cgroupPopulated(dir: string): boolean {
  if (cgroupDirProblem(dir)) return false;
  const text = readCgroupFile(dir, 'cgroup.events');
  if (text === null) return false;
  const m = /populated (\d)/.exec(text);
  return m ? m[1] === '1' : cgroupProcs(dir).length > 0;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * SIGKILLs every process in the cgroup (and its children), waits until it is empty, removes it.
 * Returns how many were in it. A folder that is not a real cgroup (see cgroupDirProblem) is
 * left alone: `refused` says why.
 */
export async function killCgroup(dir: string, opts: { waitMs?: number; remove?: boolean } = {}): Promise<{ killed: number; empty: boolean; refused?: string }> {
  if (!existsSync(dir)) return { killed: 0, empty: true };
  const refused = cgroupDirProblem(dir);
  if (refused) return { killed: 0, empty: true, refused };
  const before = cgroupProcs(dir).length;
  // no cgroup.kill (kernel < 5.14): signal the members one by one
  const wrote = writeCgroupFile(dir, 'cgroup.kill', '1');
  const deadline = Date.now() + (opts.waitMs ?? 3000);
  for (;;) {
    if (!wrote) {
      for (const pid of cgroupProcs(dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    if (!cgroupPopulated(dir)) break;
    if (Date.now() > deadline) break;
    await sleep(10);
  }
  const empty = !cgroupPopulated(dir);
  if (opts.remove !== false && empty) await removeCgroupTreeSettled(dir);
  return { killed: before, empty };
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
