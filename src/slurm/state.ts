/** Slurm job states → what a launcher does with them (pure). */
import type { SlurmStateClass } from './types.js';

const PENDING = new Set(['PENDING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'SUSPENDED', 'STOPPED', 'SPECIAL_EXIT']);
const RUNNING = new Set(['RUNNING', 'CONFIGURING', 'RESIZING', 'SIGNALING', 'STAGE_OUT']);
// Slurm still has processes to kill or clean up: not done until this goes.
const ENDING = new Set(['COMPLETING']);
const DONE = new Set([
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'TIMEOUT',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'OUT_OF_MEMORY',
  'REVOKED',
]);

/** Every name we know, so a list of flags (23.11+) can be told from its base state. */
export const KNOWN_STATES: ReadonlySet<string> = new Set([...PENDING, ...RUNNING, ...ENDING, ...DONE]);

export function classifyState(state: string): SlurmStateClass {
  // sacct prints "CANCELLED by 0"; squeue may print "CANCELLED+" in short forms.
  const s = state.trim().split(/[\s+]/)[0]!.toUpperCase();
  if (RUNNING.has(s)) return 'running';
  if (PENDING.has(s)) return 'pending';
  if (ENDING.has(s)) return 'ending';
  if (DONE.has(s)) return 'done';
  return 'unknown';
}

/** "0:03", "1:02:03", "2-03:04:05", "00:00:00" → seconds; "INVALID", "N/A", "UNLIMITED" → null. */
export function parseSlurmDuration(text: string): number | null {
  const m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)(?:\.\d+)?$/.exec(text.trim());
  if (!m) return null;
  const [, d, h, mi, s] = m;
  return Number(d ?? 0) * 86400 + Number(h ?? 0) * 3600 + Number(mi) * 60 + Number(s);
}
