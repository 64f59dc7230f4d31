/**
 * A host's `reaper reap --dry-run --json`, checked before it is shown or acted on: the plan's
 * action, every target's identity (pid, start time) and owner, and every text, capped and
 * sanitised. Only the identities of this checked plan are ever sent back to act on. Pure.
 */
import { BadField, BIG, fail, int, intOrNull, list, MAX_PID, obj, oneOf, parseJsonText, str, strOrNull, UID_MAX } from './check.js';
import { hostError, type HostError } from './fanout.js';
import { MAX_TARGETS } from '../../remote/protocol.js';

interface HostPlanTarget {
  readonly pid: number;
  readonly startTime: number;
  readonly uid: number | null;
  readonly user: string | null;
  readonly stat: string;
  readonly cmd: string;
  readonly reasons: readonly { readonly code: string; readonly text: string }[];
  readonly viaParentOf: number | null;
  readonly note: string | null;
}

export interface HostPlan {
  readonly action: 'kill' | 'term' | 'cont';
  readonly graceMs: number;
  readonly targets: readonly HostPlanTarget[];
  readonly skipped: readonly { readonly pid: number; readonly startTime: number; readonly cmd: string; readonly why: string }[];
  readonly scope: string | null;
  readonly warnings: readonly string[];
  /** Slurm jobs a `--run` reap on that host would scancel ("slurm job 12 name STATE"). */
  readonly jobs: readonly string[];
}

const MAX_PLAN_BYTES = 32 * 1024 * 1024;

function planOf(v: unknown): HostPlan {
  const doc = obj(v, 'document');
  if (doc.dryRun !== true) fail('dryRun', 'not true: the host did not answer with a plan only');
  if (!Array.isArray(doc.results) || doc.results.length !== 0) fail('results', 'a dry run with results');
  const p = obj(doc.plan, 'plan');
  const targets = list(p.targets, MAX_TARGETS, 'plan.targets').map((t, i): HostPlanTarget => {
    const o = obj(t, `plan.targets[${i}]`);
    const path = `plan.targets[${i}]`;
    return {
      pid: int(o.pid, 1, MAX_PID, `${path}.pid`),
      startTime: int(o.startTime, 0, BIG, `${path}.startTime`),
      uid: intOrNull(o.uid, 0, UID_MAX, `${path}.uid`),
      user: strOrNull(o.user, 64, `${path}.user`),
      stat: str(o.stat, 16, `${path}.stat`),
      cmd: str(o.cmd, 4096, `${path}.cmd`),
      reasons: list(o.reasons, 16, `${path}.reasons`).map((r, j) => {
        const ro = obj(r, `${path}.reasons[${j}]`);
        return { code: str(ro.code, 32, `${path}.reasons[${j}].code`), text: str(ro.text, 400, `${path}.reasons[${j}].text`) };
      }),
      viaParentOf: o.viaParentOf === undefined ? null : intOrNull(o.viaParentOf, 1, MAX_PID, `${path}.viaParentOf`),
      note: o.note === undefined ? null : strOrNull(o.note, 400, `${path}.note`),
    };
  });
  const seen = new Set<number>();
  for (const t of targets) {
    if (seen.has(t.pid)) fail('plan.targets', `pid ${t.pid} listed twice`);
    seen.add(t.pid);
  }
  return {
    action: oneOf(p.action, ['kill', 'term', 'cont'] as const, 'plan.action'),
    graceMs: int(p.graceMs, 0, 86_400_000, 'plan.graceMs'),
    targets,
    skipped: list(p.skipped, 65_536, 'plan.skipped').map((s, i) => {
      const o = obj(s, `plan.skipped[${i}]`);
      return {
        pid: int(o.pid, 1, MAX_PID, `plan.skipped[${i}].pid`),
        startTime: int(o.startTime, 0, BIG, `plan.skipped[${i}].startTime`),
        cmd: str(o.cmd, 4096, `plan.skipped[${i}].cmd`),
        why: str(o.why, 400, `plan.skipped[${i}].why`),
      };
    }),
    scope: strOrNull(p.scope, 1000, 'plan.scope'),
    warnings: list(p.warnings, 64, 'plan.warnings').map((w, i) => str(w, 1000, `plan.warnings[${i}]`)),
    jobs: (p.jobs === undefined ? [] : list(p.jobs, 4096, 'plan.jobs')).map((j, i) => {
      const o = obj(j, `plan.jobs[${i}]`);
      const where = typeof o.nodes === 'string' && o.nodes ? ` on ${str(o.nodes, 200, `plan.jobs[${i}].nodes`)}` : '';
      return `slurm job ${str(o.id, 64, `plan.jobs[${i}].id`)} ${str(o.name, 200, `plan.jobs[${i}].name`)} ${str(o.state, 64, `plan.jobs[${i}].state`)}${where}`;
    }),
  };
}

export type PlanCheck = { readonly ok: true; readonly plan: HostPlan } | { readonly ok: false; readonly error: HostError };

export function checkPlanText(text: string, action: HostPlan['action']): PlanCheck {
  const parsed = parseJsonText(text, MAX_PLAN_BYTES);
  if (!parsed.ok) return { ok: false, error: hostError('garbage', `reap --dry-run --json answered ${parsed.why}`) };
  const targets = (parsed.value as { plan?: { targets?: unknown } } | null)?.plan?.targets;
  if (Array.isArray(targets) && targets.length > MAX_TARGETS) {
    return { ok: false, error: hostError('too-large', `the plan there has ${targets.length} targets, more than the ${MAX_TARGETS} one act carries: narrow the selectors`) };
  }
  try {
    const plan = planOf(parsed.value);
    // The host must plan what was asked: a plan for another action is never carried out.
    if (plan.action !== action) return { ok: false, error: hostError('garbage', `the host planned "${plan.action}", not "${action}"`) };
    return { ok: true, plan };
  } catch (e) {
    if (e instanceof BadField) return { ok: false, error: hostError('garbage', `its reap --dry-run --json has a bad field: ${e.message}`) };
    throw e;
  }
}

