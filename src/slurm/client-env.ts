/** The environment a Slurm client call runs with (pure). */

// Variables that change what squeue/sacct/sinfo/scontrol print or which jobs they list
// (SQUEUE_FORMAT, SQUEUE_STATES, SACCT_FORMAT, SLURM_TIME_FORMAT …): reaper asks for an explicit
// format and must get it, whatever the user's shell set up. SBATCH_* stay: site defaults such as
// SBATCH_ACCOUNT are the user's to keep, and reaper's own sbatch flags override them.
const OUTPUT_OVERRIDES = /^(SQUEUE_|SACCT_|SINFO_|SPRIO_|SSHARE_|SCONTROL_)|^SLURM_(TIME_FORMAT|BITSTR_LEN)$/;

export function slurmClientEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || OUTPUT_OVERRIDES.test(k)) continue;
    out[k] = v;
  }
  return out;
}
