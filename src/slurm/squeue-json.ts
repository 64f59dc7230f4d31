/**
 * squeue --json (pure), read defensively: the shape changes with every Slurm release.
 *   22.05 (openapi v0.0.38): job_state "RUNNING"; exit_code a raw wait status (1792 = exit 7);
 *     times plain epoch seconds; meta.Slurm.release.
 *   23.02+ (v0.0.39…): job_state ["RUNNING", flags…]; numbers as {set, infinite, number};
 *   23.11+ (v0.0.40…): exit_code {status: ["EXITED"], return_code: {…}, signal: {id: {…}, name}};
 *     meta.slurm.release.
 * Whatever is missing or of an unknown shape becomes null; a job without an id or a state is
 * counted in `bad`, never guessed at.
 */
import { decodeWaitStatus } from './exit-status.js';
import { classifyState, KNOWN_STATES } from './state.js';
import type { SlurmExit, SlurmJob } from './types.js';

export interface ParsedSqueueJson {
  readonly jobs: readonly SlurmJob[];
  /** Slurm's release ("22.05.8"), when the meta block says. */
  readonly release: string | null;
  /** errors[] of the reply, as one line each. */
  readonly errors: readonly string[];
  readonly bad: number;
  /** The text was not a JSON object with a jobs list. */
  readonly unreadable: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A number, or 23.02+'s {set, infinite, number}; unset and infinite are null. */
function noVal(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (isObj(v)) {
    if (v.set === false || v.infinite === true) return null;
    return typeof v.number === 'number' && Number.isFinite(v.number) ? v.number : null;
  }
  return null;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** "RUNNING" or ["RUNNING", "COMPLETING"]: the base state first, the rest as flags. */
function readState(v: unknown): { state: string; flags: string[] } | null {
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  if (list.length === 0) return null;
  const base = list.find((s) => KNOWN_STATES.has(s)) ?? list[0]!;
  return { state: base, flags: list.filter((s) => s !== base) };
}

function readExit(v: unknown): SlurmExit | null {
  if (typeof v === 'number') return decodeWaitStatus(v);
  if (!isObj(v)) return null;
  const status = Array.isArray(v.status) ? v.status : [];
  const sig = isObj(v.signal) ? noVal(v.signal.id) : null;
  const rc = noVal(v.return_code);
  if (status.includes('PENDING') || status.includes('INVALID')) return null;
  if (status.includes('SIGNALED') || status.includes('CORE_DUMPED') || (sig !== null && sig > 0)) {
    return sig !== null && sig > 0 ? { code: null, signal: sig, coreDumped: status.includes('CORE_DUMPED') } : null;
  }
  return rc !== null ? { code: rc, signal: null } : null;
}

function readJob(j: Obj, nowS: number): SlurmJob | null {
  const id = noVal(j.job_id);
  const st = readState(j.job_state);
  if (id === null || !st) return null;
  const arrayJob = noVal(j.array_job_id);
  const arrayTask = noVal(j.array_task_id);
  const jobId = arrayJob && arrayTask !== null ? `${arrayJob}_${arrayTask}` : String(id);
  const stateClass = classifyState(st.state);
  const start = noVal(j.start_time);
  const end = noVal(j.end_time);
  // start_time of a pending job is a forecast; elapsed only once it ran.
  let elapsedS: number | null = null;
  if (start && start > 0 && stateClass !== 'pending') {
    const until = stateClass === 'done' && end && end >= start ? end : nowS;
    elapsedS = Math.max(0, Math.round(until - start));
  }
  const reason = str(j.state_reason);
  return {
    jobId,
    state: st.state,
    stateFlags: st.flags,
    stateClass,
    reason: reason === 'None' ? null : reason,
    user: str(j.user_name),
    partition: str(j.partition),
    nodes: str(j.nodes),
    elapsedS,
    name: typeof j.name === 'string' ? j.name : null,
    exit: stateClass === 'done' ? readExit(j.exit_code) : null,
  };
}

/** nowS: the caller's clock (seconds), for the elapsed time of running jobs. */
export function parseSqueueJson(text: string, nowS: number): ParsedSqueueJson {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { jobs: [], release: null, errors: [], bad: 0, unreadable: true };
  }
  if (!isObj(doc) || !Array.isArray(doc.jobs)) return { jobs: [], release: null, errors: [], bad: 0, unreadable: true };
  const meta = isObj(doc.meta) ? doc.meta : {};
  const slurm = isObj(meta.slurm) ? meta.slurm : isObj(meta.Slurm) ? meta.Slurm : {};
  const errors = (Array.isArray(doc.errors) ? doc.errors : [])
    .map((e) => (isObj(e) ? str(e.description) ?? str(e.error) : str(e)))
    .filter((e): e is string => e !== null);
  const jobs: SlurmJob[] = [];
  let bad = 0;
  for (const j of doc.jobs) {
    const job = isObj(j) ? readJob(j, nowS) : null;
    if (job) jobs.push(job);
    else bad++;
  }
  return { jobs, release: str(slurm.release), errors, bad, unreadable: false };
}
