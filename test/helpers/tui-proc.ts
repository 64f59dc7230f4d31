/** Small /proc readers for end-to-end and integration tests (they must not depend on src/probe). */
import { readFileSync } from 'node:fs';
import { markerPids } from './launch-run.js';

export interface ProcState {
  readonly pid: number;
  readonly startTime: number;
  readonly state: string;
  readonly ppid: number;
}

export function readProcState(pid: number): ProcState | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { pid, state: f[0]!, ppid: Number(f[1]), startTime: Number(f[19]) };
  } catch {
    return null;
  }
}

/** Every live process whose environment carries REAPER_RUN=<runId>. */
export function markerProcesses(runId: string): ProcState[] {
  return markerPids(runId, { escapee: false }).flatMap((pid) => readProcState(pid) ?? []);
}

/** Gone: no such pid, another process under that pid, or a zombie waiting for its parent. */
export function isGone(p: { pid: number; startTime: number }): boolean {
  const now = readProcState(p.pid);
  return now === null || now.startTime !== p.startTime || now.state === 'Z' || now.state === 'X';
}

export function killQuietly(pid: number, sig: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}
