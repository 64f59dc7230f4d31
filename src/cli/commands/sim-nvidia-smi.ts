/**
 * Hidden command: the nvidia-smi simulator (`reaper sim-nvidia-smi [nvidia-smi args]`), used
 * by `--gpus sim:N` and by bin/nvidia-smi-sim. Arguments follow nvidia-smi, not reaper's
 * flag conventions, so they go to the simulator untouched.
 */
import { runSimNvidiaSmi } from '../../probe/sim/sim-cli.js';

export async function run(argv: string[]): Promise<number> {
  const closed = new Promise<void>((resolve) => {
    // The reader went away (EPIPE): stop looping quietly, like nvidia-smi on SIGPIPE.
    process.stdout.on('error', () => resolve());
  });
  return runSimNvidiaSmi(argv, {
    env: process.env,
    write: (t) => {
      if (!process.stdout.destroyed) process.stdout.write(t);
    },
    writeErr: (t) => process.stderr.write(t),
    closed,
  });
}
