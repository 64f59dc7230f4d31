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
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ReaperError } from '../model/errors.js';

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

export function makeCgroup(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    return true;
  } catch {
    return false;
  }
}

export function cgroupProcs(dir: string): number[] {
  try {
    return readFileSync(path.join(dir, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(Number);
  } catch {
    return [];
  }
}

export function cgroupPopulated(dir: string): boolean {
  try {
    const m = /populated (\d)/.exec(readFileSync(path.join(dir, 'cgroup.events'), 'utf8'));
    return m ? m[1] === '1' : cgroupProcs(dir).length > 0;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIGKILLs every process in the cgroup (and its children), waits until it is empty, removes it. Returns how many were in it. */
export async function killCgroup(dir: string, opts: { waitMs?: number; remove?: boolean } = {}): Promise<{ killed: number; empty: boolean }> {
  if (!existsSync(dir)) return { killed: 0, empty: true };
  const before = cgroupProcs(dir).length;
  let wrote = false;
  try {
    writeFileSync(path.join(dir, 'cgroup.kill'), '1');
    wrote = true;
  } catch {
    /* no cgroup.kill: signal the members one by one */
  }
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

/** rmdir a cgroup folder and its child cgroups, deepest first; best effort. */
export function removeCgroupTree(dir: string): void {
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
