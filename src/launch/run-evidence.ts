/**
 * What a journal's pids may be trusted for. A pid from a journal is a hint: before reaper acts on
 * it (a signal, or waiting on it as "the launcher"), the process must be
 *   1. the recorded identity (pid + start time, alive, not a zombie),
 *   2. never pid 1, a kernel thread, reaper itself or one of its ancestors,
 *   3. owned by the user the run belongs to (the owner of its trusted folder), and
 *   4. part of this run by evidence the journal cannot forge:
 *        launcher  holds this run's journal open (same device and inode);
 *        guardian  runs `__guardian --run <id>` (it is only waited on, never signalled);
 *        task      carries REAPER_RUN=<id> or sits in the run's own cgroup.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { ProcKey } from '../model/proc.js';
import { readSelfAndAncestors } from '../actions/proc-scan.js';
import { parseEnvMarkersBytes } from '../probe/proc-cmdline.js';
import { isKernelThreadStat, readProcIdentity, readStatSync, type ProcIdentity } from '../probe/proc-stat.js';
import type { TrustedRun } from './run-trust.js';

export type Verified = { readonly ok: true; readonly id: ProcIdentity } | { readonly ok: false; readonly alive: boolean; readonly why: string };

/** Checks 1–3 above. `alive` is false only when the recorded process no longer exists. */
function verifyTarget(key: ProcKey, owner: number, never: ReadonlySet<number> = readSelfAndAncestors()): Verified {
  if (!Number.isInteger(key.pid) || key.pid <= 1) return { ok: false, alive: key.pid === 1, why: `pid ${key.pid} is never a target` };
  const id = readProcIdentity(key.pid);
  if (!id || id.startTime !== key.startTime || id.state === 'Z' || id.state === 'X') return { ok: false, alive: false, why: `pid ${key.pid} is gone` };
  if (never.has(key.pid)) return { ok: false, alive: true, why: `pid ${key.pid} is reaper itself or one of its ancestors` };
  const st = readStatSync(key.pid);
  if (!st || isKernelThreadStat(st)) return { ok: false, alive: true, why: `pid ${key.pid} is a kernel thread` };
  if (id.uid !== owner) return { ok: false, alive: true, why: `pid ${key.pid} is owned by uid ${id.uid ?? 'unknown'}, not by the run's user (uid ${owner})` };
  return { ok: true, id };
}

/** Whether `pid` has the file (device + inode) open: the launcher keeps its journal open all run long. */
function holdsFileOpen(pid: number, dev: number, ino: number): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const st = statSync(`/proc/${pid}/fd/${fd}`);
      if (st.dev === dev && st.ino === ino) return true;
    } catch {
      /* closed meanwhile */
    }
  }
  return false;
}

/** The run's launcher, verified; `alive` tells a gone launcher from one that is not this run's. */
export function verifyLauncher(run: TrustedRun, key: ProcKey, never?: ReadonlySet<number>): Verified {
  const v = verifyTarget(key, run.owner, never);
  if (!v.ok) return v;
  if (!holdsFileOpen(key.pid, run.dev, run.ino)) return { ok: false, alive: true, why: `pid ${key.pid} does not hold run ${run.runId}'s journal open: it is not the run's launcher` };
  return v;
}

function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`).toString('utf8').split('\0');
  } catch {
    return [];
  }
}

/** The run's guardian, verified (its command line names the run). */
export function verifyGuardian(run: TrustedRun, key: ProcKey, never?: ReadonlySet<number>): Verified {
  const v = verifyTarget(key, run.owner, never);
  if (!v.ok) return v;
  const argv = argvOf(key.pid);
  const i = argv.indexOf('--run');
  if (!argv.includes('__guardian') || i < 0 || argv[i + 1] !== run.runId) return { ok: false, alive: true, why: `pid ${key.pid} is not run ${run.runId}'s guardian` };
  return v;
}

/** REAPER_RUN of a process right now (null: absent or unreadable). */
function readRunMarker(pid: number): string | null {
  try {
    const b = readFileSync(`/proc/${pid}/environ`);
    return parseEnvMarkersBytes(b, b.length).runId;
  } catch {
    return null;
  }
}

/** The process's cgroup v2 path ("/reaper/<run>/t0-sample-1"), or null. */
export function readProcCgroup(pid: number): string | null {
  try {
    for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) if (line.startsWith('0::')) return line.slice(3).trim();
  } catch {
    /* gone */
  }
  return null;
}

/** Whether a cgroup path relative to the mount ("/reaper/<id>/t0") is the run cgroup or below it. */
export function inCgroup(procCgroup: string | null, runCgroupRel: string | null): boolean {
  if (procCgroup === null || runCgroupRel === null) return false;
  return procCgroup === runCgroupRel || procCgroup.startsWith(runCgroupRel + '/');
}

/** A task process of the run: verified target plus the marker or membership of the run's cgroup. */
export function verifyMember(run: Pick<TrustedRun, 'runId' | 'owner'>, key: ProcKey, runCgroupRel: string | null, never?: ReadonlySet<number>): Verified {
  const v = verifyTarget(key, run.owner, never);
  if (!v.ok) return v;
  if (readRunMarker(key.pid) === run.runId || inCgroup(readProcCgroup(key.pid), runCgroupRel)) return v;
  return { ok: false, alive: true, why: `pid ${key.pid} carries neither REAPER_RUN=${run.runId} nor the run's cgroup` };
}
