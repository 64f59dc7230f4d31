/**
 * Hidden command: the nvidia-smi simulator (`reaper sim-nvidia-smi [nvidia-smi args]`), used
 * by `--gpus sim:N` and by bin/nvidia-smi-sim. Arguments follow nvidia-smi, not reaper's
 * flag conventions, so they go to the simulator untouched.
 */
import { Socket } from 'node:net';
import { runSimNvidiaSmi } from '../../probe/sim/sim-cli.js';

export async function run(argv: string[]): Promise<number> {
  const closed = new Promise<void>((resolve) => {
    // The reader went away (EPIPE): stop looping quietly, like nvidia-smi on SIGPIPE.
    process.stdout.on('error', () => resolve());
  });
  // --reaper-apps: reaper's loop reader gave us a pipe on fd 3 for the compute-apps rows.
  let apps: Socket | null = null;
  if (argv.some((a) => a === '--reaper-apps' || a.startsWith('--reaper-apps='))) {
    try {
      apps = new Socket({ fd: 3, readable: false, writable: true });
      apps.on('error', () => undefined); // the reader went away: the main stream's EPIPE ends us
    } catch {
      apps = null;
    }
  }
  return runSimNvidiaSmi(argv, {
    ...(apps ? { writeApps: (t: string) => void (apps.destroyed ? undefined : apps.write(t)) } : {}),
    env: process.env,
    write: (t) => {
      if (!process.stdout.destroyed) process.stdout.write(t);
    },
    writeErr: (t) => process.stderr.write(t),
    closed,
  });
}
