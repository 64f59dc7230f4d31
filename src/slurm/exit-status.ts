/** Slurm's two spellings of how a process ended, decoded (pure). */
import type { SlurmExit } from './types.js';

/**
 * squeue --json's exit_code (22.05) and derived_exit_code are raw wait(2) statuses: 1792 is
 * exit 7, 9 is SIGKILL, 134 is SIGABRT with a core dump (0x7f, "stopped", is not an end: null).
 */
export function decodeWaitStatus(raw: number): SlurmExit | null {
  if (!Number.isInteger(raw) || raw < 0 || raw > 0xffff) return null;
  const low = raw & 0x7f;
  if (low === 0) return { code: (raw >> 8) & 0xff, signal: null };
  if (low === 0x7f) return null;
  return { code: null, signal: low, coreDumped: (raw & 0x80) !== 0 };
}

/** sacct's and scontrol's "ExitCode=7:0" / "0:9" (exit code, then the signal that ended it). */
export function parseExitCodeText(text: string): SlurmExit | null {
  const m = /^(\d{1,3}):(\d{1,3})$/.exec(text.trim());
  if (!m) return null;
  const code = Number(m[1]);
  const signal = Number(m[2]);
  return signal !== 0 ? { code: null, signal } : { code, signal: null };
}
