/** `reaper reap --json`: one document `{ plan, results }`. Pure. */
import type { ReapJob, ReapPlan } from '../../analysis/index.js';
import type { ReapResult } from '../../actions/index.js';
import type { JobCancelResult } from '../../launch/slurm-jobs.js';

export interface ReapJsonDocument {
  readonly plan: {
    readonly action: ReapPlan['action'];
    readonly graceMs: number;
    readonly targets: ReapPlan['targets'];
    readonly skipped: ReapPlan['skipped'];
    /** What will be signalled (see ReapPlan.scope); null with no targets. */
    readonly scope: string | null;
    /** Plan warnings (see ReapPlan.warnings), e.g. "resuming is pointless: …". */
    readonly warnings: readonly string[];
    /** Slurm jobs of a `--run` to scancel ("slurm job 123 … RUNNING on vm"); [] for local runs. */
    readonly jobs: readonly ReapJob[];
  };
  readonly results: readonly ReapResult[];
  /** What became of each planned Slurm job: cancelled, gone (finished before), survived. */
  readonly jobResults: readonly JobCancelResult[];
  readonly dryRun: boolean;
}

export function buildReapJson(plan: ReapPlan, results: readonly ReapResult[], dryRun: boolean, jobResults: readonly JobCancelResult[] = []): ReapJsonDocument {
  return {
    plan: {
      action: plan.action,
      graceMs: plan.graceMs,
      targets: plan.targets.map((t) => ({
        pid: t.pid,
        startTime: t.startTime,
        uid: t.uid,
        user: t.user,
        stat: t.stat,
        cmd: t.cmd,
        reasons: t.reasons.map((r) => ({ code: r.code, text: r.text })),
        viaParentOf: t.viaParentOf ?? null,
        note: t.note ?? null,
      })) as unknown as ReapPlan['targets'],
      skipped: plan.skipped,
      scope: plan.targets.length > 0 ? (plan.scope ?? null) : null,
      warnings: plan.warnings ?? [],
      jobs: plan.jobs ?? [],
    },
    results,
    jobResults,
    dryRun,
  };
}
