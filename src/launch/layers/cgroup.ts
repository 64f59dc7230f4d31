/**
 * Layer cgroup: a cgroup v2 leaf per stage under <base>/<run>/, entered by a tiny shell before
 * the command: every process of the stage, escapees included, is killed at once by
 * cgroup.kill, whatever it did to its environment. Every folder operation goes through
 * cgroup-fs.ts (confined to real cgroup folders, never through a link).
 */
import { existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { readStatSync } from '../../probe/proc-stat.js';
import { cgroupProcs, findCgroup2Mount, killCgroup, makeCgroup, ownCgroupPath, removeCgroupTree, removeCgroupTreeSettled } from '../cgroup-fs.js';
import type { AuditContext } from '../../actions/audit.js';
import { writable } from './probe.js';
import type { ContainmentLayer, LayerProbe, Member } from './layer.js';

const CG_SCRIPT = 'echo 0 > "$1/cgroup.procs" || echo "reaper: could not enter cgroup $1" >&2; shift; exec "$@"';

/** The hierarchy root (root), or our own delegated subtree (systemd user@UID.service). */
function probeCgroup(): LayerProbe {
  const mount = findCgroup2Mount();
  if (!mount) return { available: false, detail: 'no cgroup2 file system mounted' };
  const own = ownCgroupPath();
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
      return { available: true, detail: `cgroup2 at ${mount}, runs under ${c.base}${kill ? ', cgroup.kill' : ', no cgroup.kill (kernel < 5.14): kills listed members'}`, settings: { cgroupBase: c.base } };
    } catch (e) {
      reasons.push(`${c.base}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return { available: false, detail: `cgroup2 at ${mount} but ${reasons.join('; ')}` };
}

/** Every process of a stage's cgroup and its child cgroups, read from cgroup.procs (no /proc scan). */
function cgroupMembers(dir: string): Member[] {
  const out: Member[] = [];
  const walk = (d: string): void => {
    for (const pid of cgroupProcs(d)) {
      const st = readStatSync(pid);
      if (st) out.push({ pid, startTime: st.startTime, state: st.state, cmd: st.comm, wchan: null });
    }
    try {
      for (const k of readdirSync(d, { withFileTypes: true })) if (k.isDirectory()) walk(path.join(d, k.name));
    } catch {
      /* gone */
    }
  };
  walk(dir);
  return out;
}

const auditOf = (s: { audit?: AuditContext }): { audit?: AuditContext } => (s.audit ? { audit: s.audit } : {});

export const cgroupLayer: ContainmentLayer = {
  id: 'cgroup',
  title: 'cgroup v2 leaf per task',
  meaning: 'every process of a task, escapees included, is killed at once by cgroup.kill, whatever it did to its environment',
  wanted: (req) => req.cgroup,
  detect: probeCgroup,
  holdsEveryProcess: (c) => c.cgroupBase !== null,
  openRun(c, run) {
    if (!c.cgroupBase) return;
    const dir = path.join(c.cgroupBase, run.runId);
    if (makeCgroup(dir)) run.cgroup = dir;
  },
  openStage(_c, run, stage) {
    if (!run.cgroup) return;
    const dir = path.join(run.cgroup, `t${stage.task}-${stage.stage}-${stage.attempt}`);
    if (makeCgroup(dir)) stage.cgroup = dir;
  },
  wrap: (_c, argv, stage) => (stage.cgroup ? ['/bin/sh', '-c', CG_SCRIPT, 'reaper-cgroup', stage.cgroup, ...argv] : [...argv]),
  members: (stage) => (stage.cgroup ? cgroupMembers(stage.cgroup) : null),
  async stopStage(stage) {
    if (!stage.cgroup) return null;
    const k = await killCgroup(stage.cgroup, auditOf(stage));
    return { found: k.killed, survived: k.empty ? 0 : 1, cgroupKilled: k.killed > 0 };
  },
  // The cgroup holds every process of the stage: empty means nothing was left behind.
  async afterStage(_c, _run, stage) {
    if (!stage.cgroup) return null;
    const k = await killCgroup(stage.cgroup, auditOf(stage));
    return { sweep: k.killed > 0 ? { found: k.killed, survived: k.empty ? 0 : 1, cgroupKilled: true } : null, clean: k.empty };
  },
  closeStage(stage) {
    if (stage.cgroup) removeCgroupTree(stage.cgroup);
  },
  async stopRun(run, when, mode) {
    // Killing: the run cgroup first (one write), then the ladder; either way once more after it.
    if (run.cgroup && (when === 'after' || mode === 'kill')) await killCgroup(run.cgroup, { remove: false, ...auditOf(run) });
  },
  async atRunEnd(run) {
    if (!run.cgroup) return null;
    const k = await killCgroup(run.cgroup, auditOf(run));
    await removeCgroupTreeSettled(run.cgroup);
    return { sweep: null, survived: k.empty ? 0 : 1 };
  },
  closeRun(run) {
    if (run.cgroup) removeCgroupTree(run.cgroup);
  },
};
