/** What procps says about a process, for comparisons with the snapshot. */
import { execFileSync } from 'node:child_process';

/** `ps -o stat= -p PID`, or null when ps no longer sees it. */
export function psStat(pid: number): string | null {
  try {
    return execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { env: { ...process.env, LC_ALL: 'C' } }).toString().trim() || null;
  } catch {
    return null;
  }
}

/** pid → stat for every process ps sees. */
export function psAllStats(): Map<number, string> {
  const out = new Map<number, string>();
  const text = execFileSync('ps', ['-e', '-o', 'pid=,stat='], { env: { ...process.env, LC_ALL: 'C' } }).toString();
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(\S+)\s*$/.exec(line);
    if (m) out.set(Number(m[1]), m[2]!);
  }
  return out;
}
