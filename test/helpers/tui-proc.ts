/** Small /proc readers for the TUI end-to-end tests (they must not depend on src/probe). */
import { readdirSync, readFileSync } from 'node:fs';

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
  const out: ProcState[] = [];
  const needle = Buffer.from(`\0REAPER_RUN=${runId}\0`);
  const first = Buffer.from(`REAPER_RUN=${runId}\0`);
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let env: Buffer;
    try {
      env = readFileSync(`/proc/${name}/environ`);
    } catch {
      continue;
    }
    if (env.indexOf(needle) < 0 && !env.subarray(0, first.length).equals(first)) continue;
    const st = readProcState(Number(name));
    if (st) out.push(st);
  }
  return out;
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
