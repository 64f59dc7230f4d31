/**
 * `reaper reap`: explain and remove leftovers, safely.
 *   selectors (intersect; none = --leftovers): --leftovers --run ID|last --pid N --match REGEX
 *             --state T|Z|D --gpu N   (--all-users: other users' processes too; acting needs root)
 *   --signal kill|term|cont (default term)   --grace SECONDS (default 5)
 *   --dry-run (print the plan, touch nothing)   --yes (no question)   --json ({ plan, results })
 *   --gpus auto|none|sim:N
 * --run of a Slurm run also scancels its jobs that squeue still lists under their recorded
 * names and the run's user (listed in the plan, re-checked right before), then confirms them
 * gone from squeue and, on this node, /proc.
 * Exit 0: every target gone/resumed or nothing to do; 1: some survive (a process or a job); 2: bad input.
 */
import { createInterface } from 'node:readline/promises';
import { executeReap, openAuditLog, type ReapResult } from '../../actions/index.js';
import { planReap, type ReapJob, type ReapPlan, type ReapSelection, type RunJobMember } from '../../analysis/index.js';
import type { JobCancelResult, PlannedJob } from '../../launch/slurm-jobs.js';
import { ReaperError } from '../../model/errors.js';
import { sanitizeText, toSafeJson, type ProcKey, type RunSummary, type Snapshot } from '../../model/index.js';
import { takeMachineView, verdictsOf } from '../machine-view.js';
import { parseChoiceFlag, parseFlags, parseGpusFlag, parseIntFlag, parseSecondsFlag, type FlagSpec, type GpuSelection } from '../flags.js';
import { buildReapJson } from '../render/reap-json.js';
import { renderJobResultLine, renderPlanText, renderResultLine, summarizeResults } from '../render/reap-text.js';

const HELP = `Usage
  reaper reap [selectors] [--signal term|kill|cont] [--grace SECONDS] [--dry-run] [--yes] [--json]

Selectors (several intersect; none means --leftovers). Each selected process is acted on with its tree;
descendants that appear while reaper acts are included, nothing else (not other members of a process group).
  --leftovers        processes the analysis marks as leftovers (default)
  --run ID|last      members of a run (REAPER_RUN=ID in their environment, of the run's user when its
                     journal is trusted) and, for a Slurm run, its jobs still in squeue (scancel)
  --pid N            process N and its descendants
  --match REGEX      command lines matching REGEX
  --state T|Z|D      stopped (T/t), zombie (Z) or uninterruptible (D) processes
  --gpu N            processes holding GPU index N
  --all-users        other users' processes too (the kernel lets only root act on them)
Action
  --signal term      SIGTERM + SIGCONT, wait --grace seconds (default 5), then SIGKILL (default)
  --signal kill      SIGSTOP the whole tree, rescan until stable, SIGKILL, confirm
  --signal cont      SIGCONT the stopped processes of the tree (running ones are left alone)
  --dry-run          print the plan (every target with its reasons) and touch nothing
  --yes              do not ask (required without a terminal)
  --json             print { plan, results } as JSON
  --gpus SEL         auto (nvidia-smi when present), none, or sim:N
Another host
  --host H           plan on ssh destination H (its reaper, its selectors), show the plan here as
                     host:pid(user) command, confirm, then act there on exactly the planned
                     processes (pid + start time), re-checked by H's reaper under every rule;
                     one that changed meanwhile is refused, never replaced. "local": this machine
  --host-timeout S   seconds H has to answer the plan, connection included (default 30)
Exit status: 0 every target gone or resumed (or nothing to do), 1 some survive, 2 bad input
(also a --pid, --run or --gpu that does not exist here, or on H), 3 the host could not be asked.`;

const SPEC: FlagSpec = {
  leftovers: { type: 'boolean' },
  run: { type: 'string' },
  pid: { type: 'string' },
  match: { type: 'string' },
  state: { type: 'string' },
  gpu: { type: 'string' },
  allUsers: { type: 'boolean' },
  signal: { type: 'string' },
  grace: { type: 'string' },
  dryRun: { type: 'boolean' },
  yes: { type: 'boolean', shortFlag: 'y' },
  json: { type: 'boolean' },
  gpus: { type: 'string' },
  host: { type: 'string' },
  hostTimeout: { type: 'string' },
};

export interface ReapArgs {
  readonly selection: Omit<ReapSelection, 'runId' | 'runLeaders' | 'runOwner' | 'runJobMembers'>;
  readonly run: string | null;
  readonly allUsers: boolean;
  readonly action: 'kill' | 'term' | 'cont';
  readonly graceMs: number;
  readonly dryRun: boolean;
  readonly yes: boolean;
  readonly json: boolean;
  readonly gpus: GpuSelection;
  /** `--host`: where to plan and act; null: here. */
  readonly host: string | null;
  readonly hostTimeoutMs: number;
  /** The same selectors and action for the host's `reaper reap --dry-run --json`. */
  readonly planArgs: readonly string[];
}

/** Normalise argv once; every problem is a USAGE error (exit 2). */
export function parseReapArgs(argv: string[]): ReapArgs | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const { input, flags } = parseFlags(argv, SPEC, HELP);
  if (input.length > 0) throw new ReaperError('USAGE', `reap takes no arguments, got "${input[0]}" (use --pid N, --match REGEX …)`);
  for (const name of ['run', 'pid', 'match', 'state', 'gpu', 'signal', 'grace', 'gpus', 'host', 'hostTimeout'] as const) {
    if (flags[name] === '') throw new ReaperError('USAGE', `--${name} needs a value`);
  }
  const pid = parseIntFlag('pid', flags.pid, { min: 1 });
  const gpu = parseIntFlag('gpu', flags.gpu, { min: 0 });
  const state = parseChoiceFlag('state', flags.state, ['T', 'Z', 'D'] as const);
  const action = parseChoiceFlag('signal', flags.signal, ['kill', 'term', 'cont'] as const) ?? 'term';
  const grace = parseSecondsFlag('grace', flags.grace) ?? 5;
  let match: RegExp | undefined;
  if (flags.match !== undefined) {
    try {
      match = new RegExp(String(flags.match));
    } catch (e) {
      throw new ReaperError('USAGE', `--match: bad regular expression "${String(flags.match)}": ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const selection: { -readonly [K in keyof ReapSelection]: ReapSelection[K] } = {};
  if (flags.leftovers === true) selection.leftovers = true;
  if (pid !== undefined) selection.pid = pid;
  if (gpu !== undefined) selection.gpu = gpu;
  if (state !== undefined) selection.state = state;
  if (match !== undefined) selection.match = match;
  const host = flags.host === undefined ? null : String(flags.host);
  const hostTimeout = parseSecondsFlag('hostTimeout', flags.hostTimeout, { min: 1, max: 600 });
  if (hostTimeout !== undefined && host === null) throw new ReaperError('USAGE', '--host-timeout needs --host');
  const planArgs = ['reap', '--dry-run', '--json', '--signal', action, '--grace', String(grace)];
  if (flags.leftovers === true) planArgs.push('--leftovers');
  if (flags.run !== undefined) planArgs.push('--run', String(flags.run));
  if (pid !== undefined) planArgs.push('--pid', String(pid));
  if (flags.match !== undefined) planArgs.push('--match', String(flags.match));
  if (state !== undefined) planArgs.push('--state', state);
  if (gpu !== undefined) planArgs.push('--gpu', String(gpu));
  if (flags.allUsers === true) planArgs.push('--all-users');
  if (flags.gpus !== undefined) planArgs.push('--gpus', String(flags.gpus));
  return {
    host,
    hostTimeoutMs: Math.round((hostTimeout ?? 30) * 1000),
    planArgs,
    selection,
    run: flags.run === undefined ? null : String(flags.run),
    allUsers: flags.allUsers === true,
    action,
    graceMs: Math.round(grace * 1000),
    dryRun: flags.dryRun === true,
    yes: flags.yes === true,
    json: flags.json === true,
    gpus: parseGpusFlag(flags.gpus),
  };
}

function exitCodeOf(results: readonly ReapResult[]): number {
  const bad = results.some(
    (r) => r.outcome === 'survived' || r.outcome === 'kill-pending' || (r.outcome === 'skipped' && r.reused !== true),
  );
  return bad ? 1 : 0;
}

/** A --pid or --gpu that names nothing here is bad input (exit 2), not an empty plan. */
function checkSelectorsExist(args: ReapArgs, snapshot: Snapshot): void {
  const { pid, gpu } = args.selection;
  if (pid !== undefined && !snapshot.byPid.has(pid)) throw new ReaperError('NOT_FOUND', `--pid ${pid}: no such process`);
  if (gpu !== undefined && !snapshot.gpu.gpus.some((g) => g.index === gpu)) {
    const known = snapshot.gpu.gpus.map((g) => g.index).sort((a, b) => a - b);
    const why =
      known.length > 0
        ? `GPUs here: ${known.join(', ')}`
        : args.gpus.kind === 'none'
          ? 'no GPU information with --gpus none'
          : `no GPU information${snapshot.gpu.error ? ` (${sanitizeText(snapshot.gpu.error.message)})` : ''}`;
    throw new ReaperError('NOT_FOUND', `--gpu ${gpu}: no such GPU (${why})`);
  }
}

async function ask(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parseReapArgs(argv);
  if (args === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
  if (!args.dryRun && !args.yes && !interactive) {
    throw new ReaperError('USAGE', 'refusing to act without a terminal to confirm on: add --yes (or --dry-run to see the plan)');
  }
  if (args.host !== null) {
    const { resolveOneHost, openHostTransport } = await import('../hosts/fanout.js');
    const host = resolveOneHost(args.host, process.env);
    if (!host.local) {
      const { runReapHost } = await import('../hosts/reap-host.js');
      return runReapHost(host, { ...args, deadlineMs: args.hostTimeoutMs }, openHostTransport(process.env), {
        out: process.stdout,
        err: process.stderr,
        width: process.stdout.columns ?? 120,
        ask,
      });
    }
  }

  const view = await takeMachineView(args.gpus);
  const { snapshot, runs } = view;
  checkSelectorsExist(args, snapshot);

  const selection: { -readonly [K in keyof ReapSelection]: ReapSelection[K] } = { ...args.selection };
  let runFacts: RunFacts | null = null;
  if (args.run !== null) {
    let summary: RunSummary | undefined;
    if (args.run === 'last') {
      if (runs === null) throw new ReaperError('USAGE', '--run last: no run journals can be read here; give the run id');
      summary = [...runs].sort((a, b) => b.startedAtMs - a.startedAtMs)[0];
      if (!summary) throw new ReaperError('RUN_NOT_FOUND', '--run last: no runs recorded');
    } else {
      summary = runs?.find((r) => r.id === args.run);
      if (!summary && !snapshot.processes.some((p) => p.runId === args.run)) {
        throw new ReaperError('RUN_NOT_FOUND', `--run ${sanitizeText(args.run)}: no such run (no journal${runs === null ? ' could be read' : ''}, and no process carries REAPER_RUN=${sanitizeText(args.run)})`);
      }
    }
    selection.runId = summary?.id ?? args.run;
    const leaders: ProcKey[] = [];
    for (const t of summary?.tasks ?? []) leaders.push(...t.leaders);
    if (leaders.length > 0) selection.runLeaders = leaders;
    if (summary) runFacts = await readRunFacts(summary.id, args);
    if (runFacts) {
      selection.runOwner = runFacts.owner;
      if (runFacts.members.length > 0) selection.runJobMembers = runFacts.members;
    }
  }

  // --match both selects and, like a batch config's script names, explains (batch-pattern).
  const verdicts = verdictsOf(view, { allUsers: args.allUsers, extraPatterns: args.selection.match ? [args.selection.match] : [] });
  let plan: ReapPlan = planReap(snapshot, verdicts, selection, { action: args.action, graceMs: args.graceMs, allUsers: args.allUsers });
  if (runFacts) plan = withRunJobs(plan, runFacts);
  const out = args.json ? process.stderr : process.stdout;
  const jobs = plan.jobs ?? [];

  if (args.dryRun) {
    if (args.json) process.stdout.write(toSafeJson(buildReapJson(plan, [], true), 2) + '\n');
    else process.stdout.write(renderPlanText(plan, process.stdout.columns ?? 120));
    return 0;
  }
  if (plan.targets.length === 0 && jobs.length === 0) {
    if (args.json) process.stdout.write(toSafeJson(buildReapJson(plan, [], false), 2) + '\n');
    else process.stdout.write(renderPlanText(plan, process.stdout.columns ?? 120));
    return runFacts?.jobsError ? 1 : 0;
  }
  if (!args.yes) {
    out.write(renderPlanText(plan, process.stdout.columns ?? 120));
    if (!(await ask('proceed? [y/N] '))) {
      out.write('nothing done\n');
      return 1;
    }
  } else if (!args.json) {
    process.stdout.write(renderPlanText(plan, process.stdout.columns ?? 120));
  }

  // Audit log: who asked is this command line (selectors, no --yes/--json); "reap" alone means --leftovers.
  const asked = argv.filter((a) => a !== '--yes' && a !== '-y' && a !== '--json');
  const selector = Object.entries(selection).map(([k, v]) => (k === 'runLeaders' ? '' : v === true ? k : `${k} ${String(v)}`)).filter(Boolean);
  const audit = {
    asked: `reap ${selector.length === 0 ? '--leftovers ' : ''}${asked.join(' ')}`.trim(),
    reasons: [`selected by ${selector.length > 0 ? selector.join(', ') : 'leftovers'}`],
    // --run: every entry (processes and Slurm jobs) names the run, so `reaper log --run ID` finds it.
    ...(selection.runId !== undefined ? { run: selection.runId } : {}),
    log: openAuditLog(process.env),
  };
  // The run's Slurm jobs first: Slurm's own containment ends their processes; what is left of
  // them (and every other target) then goes through the identity-checked ladder below.
  let jobResults: JobCancelResult[] = [];
  if (jobs.length > 0 && runFacts) {
    const { cancelPlannedJobs } = await import('../../launch/slurm-jobs.js');
    jobResults = await cancelPlannedJobs(jobs, {
      deadlineMs: 15_000,
      user: runFacts.owner,
      mode: args.action === 'kill' ? 'kill' : 'term',
      // scancel's TERM is followed by Slurm's own KILL after KillWait (30 s by default).
      waitMs: args.action === 'kill' ? 15_000 : args.graceMs + 40_000,
      audit,
    });
    if (!args.json) for (const r of jobResults) process.stdout.write(renderJobResultLine(r) + '\n');
  }
  const results = plan.targets.length === 0 ? [] : await executeReap(plan, {
    onProgress: args.json ? undefined : (r) => process.stdout.write(renderResultLine(r, process.stdout.columns ?? 120) + '\n'),
    audit,
  } as Parameters<typeof executeReap>[1]);
  const auditProblems = audit.log.problems.length > 0 ? { auditProblems: audit.log.problems } : {};
  if (args.json) process.stdout.write(toSafeJson({ ...buildReapJson(plan, results, false, jobResults), ...auditProblems }, 2) + '\n');
  else process.stdout.write(summarizeResults(results, jobResults) + '\n');
  const jobsLeft = jobResults.filter((r) => r.outcome === 'survived').length;
  if (selection.runId !== undefined) {
    // Whoever ends a run records its end, once: when its launcher and guardian are gone, this reap did.
    const { endAbandonedRun, stateDir } = await import('../../launch/index.js');
    const cancelled = jobResults.filter((r) => r.outcome === 'cancelled').length;
    const jobsText = jobResults.length > 0 ? `; ${cancelled} Slurm job${cancelled === 1 ? '' : 's'} cancelled${jobsLeft ? `, ${jobsLeft} left` : ''}` : '';
    const end = await endAbandonedRun(stateDir(process.env), selection.runId, { by: 'reap', detail: `ended by reaper reap --run (pid ${process.pid}): launcher and guardian were gone; ${results.length} processes acted on${jobsText}`, taskDetail: 'killed by reaper reap', extraSurvivors: jobsLeft });
    if (end.recorded) out.write(`run ${selection.runId}: end recorded in its journal (launcher and guardian were gone)\n`);
  }
  return jobsLeft > 0 || runFacts?.jobsError ? 1 : exitCodeOf(results);
}

/** What a trusted journal adds to `--run`: the run's user, and its Slurm jobs as squeue lists them now. */
interface RunFacts {
  readonly owner: number;
  readonly jobs: readonly PlannedJob[];
  readonly members: readonly RunJobMember[];
  /** The run records Slurm jobs but squeue did not answer: they are neither planned nor cancelled. */
  readonly jobsError: string | null;
  /** Jobs recorded in the journal (for the plan's wording). */
  readonly recorded: number;
}

async function readRunFacts(runId: string, args: ReapArgs): Promise<RunFacts> {
  const { readRunJournal, stateDir } = await import('../../launch/index.js');
  let trusted: ReturnType<typeof readRunJournal>;
  try {
    trusted = readRunJournal(stateDir(process.env), runId);
  } catch (e) {
    // readRuns believed it a moment ago: a folder that changed since is not acted on at all.
    throw new ReaperError('USAGE', `--run ${sanitizeText(runId)}: its journal is no longer trusted: ${sanitizeText((e as Error).message)}`);
  }
  const owner = trusted.run.owner;
  const { journalJobs, planRunJobs } = await import('../../launch/slurm-jobs.js');
  const recorded = journalJobs(trusted.events, runId);
  // --signal cont resumes stopped processes; it never cancels a job.
  if (recorded.length === 0 || args.action === 'cont') return { owner, jobs: [], members: [], jobsError: null, recorded: recorded.length };
  const p = await planRunJobs(recorded, owner, { deadlineMs: 15_000 });
  return { owner, jobs: p.active, members: p.members, jobsError: p.error ? p.error.message : null, recorded: recorded.length };
}

/** The plan with the run's Slurm jobs (and a warning when Slurm could not be asked). */
function withRunJobs(plan: ReapPlan, facts: RunFacts): ReapPlan {
  const jobs: ReapJob[] = facts.jobs.map((j) => ({ id: j.id, name: j.name, state: j.job.state, nodes: j.job.nodes, reason: j.job.reason, user: j.job.user }));
  const warnings = [...(plan.warnings ?? [])];
  if (facts.jobsError) warnings.push(sanitizeText(`the run records ${facts.recorded} Slurm job${facts.recorded === 1 ? '' : 's'}, but Slurm could not be asked which are still its own (${facts.jobsError}): none is cancelled`));
  return { ...plan, jobs, warnings };
}
