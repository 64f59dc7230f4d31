/** `reaper run BATCH.yaml`: launch a batch so that nothing of it survives (src/launch). */
import path from 'node:path';
import { ReaperError } from '../../model/errors.js';
import { createGpuProbe, resolveGpuProbeConfig } from '../../probe/gpu-probe.js';
import {
  checkPrograms,
  checkStateFolder,
  describeLayers,
  detectContainment,
  launchRun,
  newRunId,
  loadBatchFile,
  parseContainment,
  resolveBatchGpus,
  RUN_ID_RE,
  spawnDetachedLauncher,
  stateDir,
  type BatchConfig,
} from '../../launch/index.js';
import { parseFlags, parseGpusFlag, type GpuSelection } from '../flags.js';
import { createProgressRenderer, jsonLine, safeSink } from '../render/run-progress.js';
import { renderRunSummary } from '../render/run-summary.js';
import { sanitizeText } from '../../model/sanitize.js';

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

const HELP = `Usage
  reaper run BATCH.yaml [--gpus auto|sim:N] [--detach] [--json] [--containment MODE]

Runs every task of the batch, one queue per GPU, each task in its own process group, cgroup
and PID namespace where the machine allows, watched by a guardian. Ctrl+C, SIGTERM and SIGHUP
tear everything down (a second Ctrl+C kills at once).

Options
  --gpus auto|sim:N     real GPUs from nvidia-smi (default) or N simulated GPUs
  --detach              keep running after the terminal closes; prints the run id
  --json                print the run's events as JSON lines
  --containment MODE    auto (default), pgroup-only (process groups + marker only: for tests),
                        or a comma list of no-cgroup, no-pidns, no-pdeathsig, no-guardian
                        (also REAPER_CONTAINMENT)

Exit: 0 all tasks succeeded, 1 some failed, 2 bad batch file or arguments,
      130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP (after teardown).`;

async function availableGpus(sel: GpuSelection, env: NodeJS.ProcessEnv): Promise<{ indices: number[]; simulated: boolean; why: string | null }> {
  if (sel.kind === 'sim') return { indices: Array.from({ length: sel.count }, (_, i) => i), simulated: true, why: null };
  if (sel.kind === 'none') return { indices: [], simulated: false, why: '--gpus none' };
  const probe = createGpuProbe(resolveGpuProbeConfig(sel, env));
  try {
    const st = await probe.read();
    if (!st.ok) return { indices: [], simulated: false, why: st.error?.message ?? 'GPU probe failed' };
    return { indices: st.gpus.map((g) => g.index), simulated: st.source === 'simulated', why: null };
  } finally {
    probe.close();
  }
}

/** The batch file, read safely (regular file, size limit, UTF-8) and validated. */
export function loadBatch(file: string): BatchConfig {
  return loadBatchFile(file);
}

export async function run(argv: string[]): Promise<number> {
  const { input, flags } = parseFlags(
    argv,
    {
      gpus: { type: 'string' },
      detach: { type: 'boolean' },
      json: { type: 'boolean' },
      containment: { type: 'string' },
      runId: { type: 'string' },
      detachedChild: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    HELP,
  );
  if (flags.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (input.length !== 1) throw new ReaperError('USAGE', input.length === 0 ? 'run: missing the batch file (reaper run BATCH.yaml)' : `run: one batch file expected, got ${input.length}`);
  const file = input[0]!;
  const env = process.env;
  const sel = parseGpusFlag(flags.gpus);
  const containmentValue = (flags.containment as string | undefined) ?? env.REAPER_CONTAINMENT;
  const req = parseContainment(containmentValue);
  const runIdFlag = flags.runId as string | undefined;
  if (runIdFlag !== undefined && !RUN_ID_RE.test(runIdFlag)) throw new ReaperError('USAGE', `--run-id: not a run id: "${runIdFlag}"`);

  // Everything that can be wrong with the batch is checked before anything starts.
  const config = loadBatch(file);
  const avail = await availableGpus(sel, env);
  if (avail.indices.length === 0) throw new ReaperError('CONFIG', `${config.file}:${config.gpusLine}: gpus: no GPUs available (${avail.why ?? 'none found'}); use --gpus sim:N for simulated GPUs`);
  const gpus = resolveBatchGpus(config, avail.indices);
  checkPrograms(config, env);
  const state = stateDir(env);
  checkStateFolder(state);
  const json = !!flags.json;
  const out = safeSink(process.stdout);
  const err = safeSink(process.stderr);
  // From here on a signal never kills reaper outright: before the run starts it only means "do not
  // start"; once it runs, the launcher's own handlers tear it down. A hang-up also ends all writing
  // to the terminal (it is gone: writes would fail with EIO).
  let early: NodeJS.Signals | null = null;
  const onSignal = (s: NodeJS.Signals): void => {
    early ??= s;
    if (s === 'SIGHUP') {
      out.hangUp();
      err.hangUp();
    }
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);

  if (flags.detach && !flags.detachedChild) {
    const runId = newRunId();
    const args = [path.resolve(file), '--gpus', sel.kind === 'sim' ? `sim:${sel.count}` : sel.kind];
    if (containmentValue) args.push('--containment', containmentValue);
    const { pid, log } = await spawnDetachedLauncher(args, state, runId, env);
    // stdout is the id alone (`reaper stop "$(reaper run --detach b.yaml)"`); hints go to stderr.
    if (json) out.write(jsonLine({ runId, launcherPid: pid, dir: path.dirname(log), log }) + '\n');
    else {
      out.write(`${runId}\n`);
      err.write(`run ${runId} started detached (launcher pid ${pid}); log ${sanitizeText(log)}\n  watch: reaper ls   stop: reaper stop ${runId}\n`);
    }
    return 0;
  }
  if (early) return SIGNAL_EXIT[early] ?? 1;

  const containment = detectContainment(req);
  const mode = json ? 'json' : out.isTTY ? 'tty' : 'lines';
  if (json) out.write(jsonLine({ ev: 'containment', layers: containment.layers.map((l) => ({ id: l.id, active: l.active, detail: l.detail })) }) + '\n');
  else out.write(sanitizeText(describeLayers(containment)) + '\n');
  const renderer = createProgressRenderer(out, mode);
  const outcome = await launchRun(config, {
    state,
    gpus,
    containment,
    ...(runIdFlag ? { runId: runIdFlag } : {}),
    env,
    simulated: avail.simulated,
    detached: !!flags.detachedChild,
    handleSignals: true,
    onEvent: (e, v) => renderer.onEvent(e, v),
  });
  renderer.stop();
  if (json) out.write(jsonLine({ ev: 'summary', runId: outcome.runId, state: outcome.state, exitCode: outcome.exitCode, survivors: outcome.survivors, tasks: outcome.tasks, dir: outcome.dir, error: outcome.error }) + '\n');
  else out.write(renderRunSummary(outcome, config.name));
  if (outcome.error) err.write(`reaper: ${sanitizeText(outcome.error)}\n`);
  return outcome.exitCode;
}
