/**
 * Which Slurm job and step a process belongs to, from /proc/PID/cgroup (parse pure, read thin).
 * cgroup v1 (this lab, Debian's 22.05 with multiple-slurmd): "4:freezer:/slurm_vm/uid_0/job_27/step_batch"
 * (plain "/slurm/" without it); cgroup v2 (22.05+ under systemd):
 * "0::/system.slice/slurmstepd.scope/job_27/step_batch/user/task_0".
 */
import { readFileSync } from 'node:fs';

export interface SlurmCgroupPlace {
  readonly jobId: string;
  /** "batch", "extern", "0", "1" … */
  readonly step: string;
  readonly uid: number | null;
}

const V1 = /\/slurm(?:_[^/]+)?\/uid_(\d+)\/job_(\d+)\/step_([^/\s]+)/;
const V2 = /\/slurmstepd\.scope\/job_(\d+)\/step_([^/\s]+)/;

export function parseSlurmCgroup(text: string): SlurmCgroupPlace | null {
  for (const line of text.split('\n')) {
    const m1 = V1.exec(line);
    if (m1) return { jobId: m1[2]!, step: m1[3]!, uid: Number(m1[1]) };
    const m2 = V2.exec(line);
    if (m2) return { jobId: m2[1]!, step: m2[2]!, uid: null };
  }
  return null;
}

/** null when the process is gone, unreadable, or not in a Slurm job. */
export function readSlurmCgroup(pid: number): SlurmCgroupPlace | null {
  try {
    return parseSlurmCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  } catch {
    return null;
  }
}
