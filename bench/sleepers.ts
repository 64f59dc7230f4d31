/**
 * N sleeping processes for a bench (a machine of ~2,000 processes), all children of one shell in
 * its own process group: killed together by stop(), or when this process exits.
 * `argv0`: the command line they show (default `sleep 600`), e.g. a long python-style one.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export async function startSleepers(count: number, argv0?: string): Promise<{ stop(): void }> {
  const one = argv0 ? `(exec -a "${argv0} --rank $i" sleep 600)` : 'sleep 600';
  const child = spawn('bash', ['-c', `i=0; while [ $i -lt ${count} ]; do ${one} & i=$((i+1)); done; wait`], { detached: true, stdio: 'ignore' });
  const stop = (): void => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', stop);
  // Count the spawner's own children: a machine-wide count also moves with other work
  // (an earlier bench's tree still exiting made this fail once).
  const started = (): number => {
    try {
      return readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).length;
    } catch {
      return 0;
    }
  };
  const deadline = Date.now() + 120_000;
  while (started() < count) {
    if (Date.now() > deadline) {
      stop();
      throw new Error(`could not start ${count} sleeping processes (have ${started()})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { stop };
}
