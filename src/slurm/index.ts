/** Slurm client plumbing: run a client safely, classify its failures, read what it prints. */
export * from './types.js';
export * from './client-env.js';
export * from './run.js';
export * from './classify.js';
export * from './exit-status.js';
export * from './state.js';
export * from './squeue-text.js';
export * from './sacct-text.js';
export * from './scontrol-text.js';
export * from './squeue-json.js';
export * from './proc-cgroup.js';
export * from './query.js';
export * from './job-cgroup.js';
export * from './config-text.js';
export * from './client-path.js';
export * from './finished-job.js';
