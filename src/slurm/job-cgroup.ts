/**
 * Is a process one of a Slurm job's own tasks (not slurmstepd), by /proc/PID/cgroup (parse pure,
 * read thin). proc-cgroup.ts answers "which job's cgroups does it sit in", which is also true of
 * the job's slurmstepd: on cgroup v1 (lab, 22.05) slurmstepd is in `freezer:/slurm_vm/uid_0/job_2`
 * but in `memory:/…/job_2/step_batch` (captured). proctrack/cgroup tracks tasks by the freezer,
 * so the freezer line decides: a step folder there is a task, the job folder is slurmstepd. On
 * cgroup v2 slurmstepd sits in `…/job_N/step_S/slurm`, tasks in `…/job_N/step_S/user/task_T`.
 * Whoever signals "the job's processes" must never include slurmstepd (root's Slurm daemon);
 * without a Slurm freezer cgroup (proctrack linuxproc or pgid) the other controllers are all
 * there is, and the caller also leaves out a process named slurmstepd.
 */
import { readFileSync } from 'node:fs';
import { parseSlurmCgroup, type SlurmCgroupPlace } from './proc-cgroup.js';

const FREEZER_V1 = /^\d+:(?:[^:]*,)?freezer(?:,[^:]*)?:(.*)$/;
const JOB_V1 = /\/slurm(?:_[^/]+)?\/uid_(\d+)\/job_(\d+)(?:\/step_([^/\s]+))?(?:\/|$)/;
const V2_STEPD = /\/slurmstepd\.scope\/job_\d+\/step_[^/\s]+\/slurm(?:\/|$)/;

export function parseSlurmTaskCgroup(text: string): SlurmCgroupPlace | null {
  for (const line of text.split('\n')) {
    const f = FREEZER_V1.exec(line.trim());
    if (!f) continue;
    const m = JOB_V1.exec(f[1]!);
    // Not in a Slurm freezer cgroup: proctrack is not cgroup (linuxproc, pgid); other controllers tell.
    if (!m) break;
    return m[3] ? { jobId: m[2]!, step: m[3], uid: Number(m[1]) } : null;
  }
  if (text.split('\n').some((l) => V2_STEPD.test(l))) return null;
  return parseSlurmCgroup(text);
}

/** null when the process is gone, unreadable, slurmstepd, or not in a Slurm job. */
export function readSlurmTaskCgroup(pid: number): SlurmCgroupPlace | null {
  try {
    return parseSlurmTaskCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  } catch {
    return null;
  }
}
