/** `reaper run BATCH.yaml`: launch a batch so that nothing of it survives (src/launch). */
import path from 'node:path';
import { ReaperError } from '../../model/errors.js';
import { createGpuProbe, resolveGpuProbeConfig } from '../../probe/gpu-probe.js';
import {
  checkPrograms,
  checkStateFolder,
  driverBatch,
  formatDuration,
  MAX_DURATION_MS,
  parseDuration,
  type DriverOptions,
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
import { slurmSlots, withBackend, type Backend } from '../../launch/config.js';
import { parseFlags, parseGpusFlag, type GpuSelection } from '../flags.js';
import { createProgressRenderer, jsonLine, safeSink } from '../render/run-progress.js';
import { renderDriverSummary, renderRunSummary } from '../render/run-summary.js';
import { sanitizeText } from '../../model/sanitize.js';

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

const HELP = `Usage
  reaper run BATCH.yaml [--gpus auto|sim:N] [--backend local|slurm] [--detach] [--json] [--containment MODE]
  reaper run [--gpus …] [--detach] [--timeout D] [--json] -- COMMAND [ARGS…]

Runs every task of the batch, one queue per GPU, each task in its own process group, cgroup
and PID namespace where the machine allows, watched by a guardian. Ctrl+C, SIGTERM and SIGHUP
tear everything down (a second Ctrl+C kills at once).

With -- COMMAND, an existing driver (python3 batch_eval.py …) runs as it is under the same
containment: when it exits, crashes, is interrupted or reaper dies, nothing it started survives.
Its stdin is /dev/null and it has its own session, so nothing in its tree can be stopped by
reading the terminal (SIGTTIN/SIGTTOU); its stdout and stderr are copied live to reaper's and
kept in the run's logs (they are pipes: use python3 -u for unbuffered output). It keeps the
GPUs your environment gives it. Exit: the driver's own code (128+N if it died by signal N).

Options
  --gpus auto|sim:N     real GPUs from nvidia-smi (default) or N simulated GPUs
  --backend local|slurm where stages run (overrides the batch file's backend:): on this
                        machine, or each stage as a Slurm job (sbatch; gpus: is then how many
                        tasks are submitted at once, and Slurm picks each job's GPU; with
                        -- COMMAND, the command is one job and its output goes to the run's logs)
  --detach              keep running after the terminal closes; prints the run id alone
  --json                print the run's events as JSON lines
  --timeout D           (with -- COMMAND) stop the driver after D (30m, 12h, 2d); exit 124
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
  // `reaper run [flags] -- CMD ARGS`: everything after the first "--" is the driver's, untouched.
  const dd = argv.indexOf('--');
  const driverArgv = dd >= 0 ? argv.slice(dd + 1) : null;
  const { input, flags } = parseFlags(
    dd >= 0 ? argv.slice(0, dd) : argv,
    {
      gpus: { type: 'string' },
      detach: { type: 'boolean' },
      json: { type: 'boolean' },
      containment: { type: 'string' },
      timeout: { type: 'string' },
      backend: { type: 'string' },
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
  if (driverArgv) {
    if (input.length > 0) throw new ReaperError('USAGE', 'run: give a batch file or -- COMMAND, not both');
  } else if (input.length !== 1) {
    throw new ReaperError('USAGE', input.length === 0 ? 'run: missing the batch file (reaper run BATCH.yaml, or reaper run -- COMMAND ARGS)' : `run: one batch file expected, got ${input.length}`);
  }
  const timeoutMs = parseTimeoutFlag(flags.timeout, !!driverArgv);
  const file = input[0] ?? null;
  const env = process.env;
  const sel = parseGpusFlag(flags.gpus);
  const containmentValue = (flags.containment as string | undefined) ?? env.REAPER_CONTAINMENT;
  const req = parseContainment(containmentValue);
  const runIdFlag = flags.runId as string | undefined;
  if (runIdFlag !== undefined && !RUN_ID_RE.test(runIdFlag)) throw new ReaperError('USAGE', `--run-id: not a run id: "${runIdFlag}"`);

  // Everything that can be wrong with the batch is checked before anything starts.
  const backendFlag = flags.backend as string | undefined;
  if (backendFlag !== undefined && backendFlag !== 'local' && backendFlag !== 'slurm') throw new ReaperError('USAGE', `--backend expects local or slurm, got "${backendFlag}"`);
  const loaded = driverArgv ? driverBatch(driverArgv, process.cwd(), { timeoutMs }) : loadBatch(file!);
  const config = backendFlag ? withBackend(loaded, backendFlag as Backend) : loaded;
  const onSlurm = config.backend === 'slurm';
  const avail = onSlurm ? { indices: [], simulated: false, why: null } : await availableGpus(sel, env);
  let gpus: number[];
  let driver: DriverOptions | undefined;
  if (onSlurm) {
    // Slurm picks the GPUs: gpus: is how many tasks are submitted at once. A driver is one job,
    // its output in the run's logs (a job's output cannot be copied live from here).
    gpus = driverArgv ? [0] : slurmSlots(config);
    if (driverArgv) driver = { gpuLabel: 'slurm', passthrough: null };
    checkPrograms(config, env);
  } else if (driverArgv) {
    // A driver needs no GPU to start (it places its own workers); the run shows the ones it may use.
    gpus = [0];
    driver = { gpuLabel: avail.indices.length > 0 ? avail.indices.join(',') : '-', passthrough: null };
    try {
      checkPrograms(config, env);
    } catch (e) {
      throw new ReaperError('CONFIG', `run --: ${(e as Error).message.replace(/^.*?stages\.driver\.cmd: /, '')}`);
    }
  } else {
    if (avail.indices.length === 0) throw new ReaperError('CONFIG', `${config.file}:${config.gpusLine}: gpus: no GPUs available (${avail.why ?? 'none found'}); use --gpus sim:N for simulated GPUs`);
    gpus = resolveBatchGpus(config, avail.indices);
    checkPrograms(config, env);
  }
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
    const args = ['--gpus', sel.kind === 'sim' ? `sim:${sel.count}` : sel.kind];
    if (containmentValue) args.push('--containment', containmentValue);
    if (backendFlag) args.push('--backend', backendFlag);
    if (flags.timeout !== undefined) args.push('--timeout', String(flags.timeout));
    if (driverArgv) args.push('--', ...driverArgv);
    else args.unshift(path.resolve(file!));
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
  // A driver's stdout is the run's stdout (live, and in its log); reaper's own lines go to stderr.
  // With --json the events own stdout and the driver's output goes to its log only; a detached
  // launcher has no terminal to copy to.
  if (driver && !json && !flags.detachedChild && !onSlurm) driver = { ...driver, passthrough: { stdout: (b) => out.writeBytes(b), stderr: (b) => err.writeBytes(b) } };
  const info = driver && !json ? err : out;
  const mode = json ? 'json' : driver ? 'driver' : out.isTTY ? 'tty' : 'lines';
  // On Slurm the local layers hold nothing: Slurm's proctrack holds each job.
  const slurmLayer = { id: 'slurm', active: true, detail: "Slurm jobs: proctrack holds each job's processes; teardown is scancel of the run's own jobs" };
  if (json) out.write(jsonLine({ ev: 'containment', layers: onSlurm ? [slurmLayer] : containment.layers.map((l) => ({ id: l.id, active: l.active, detail: l.detail })) }) + '\n');
  else info.write((driver ? 'reaper: ' : '') + (onSlurm ? `backend: slurm (${slurmLayer.detail})${driver ? "; the command's output goes to the run's logs" : ''}` : sanitizeText(describeLayers(containment))) + '\n');
  const renderer = createProgressRenderer(info, mode);
  const outcome = await launchRun(config, {
    state,
    gpus,
    containment,
    ...(runIdFlag ? { runId: runIdFlag } : {}),
    ...(driver ? { driver } : {}),
    env,
    detached: !!flags.detachedChild,
    handleSignals: true,
    onEvent: (e, v) => renderer.onEvent(e, v),
  });
  renderer.stop();
  if (json) out.write(jsonLine({ ev: 'summary', runId: outcome.runId, state: outcome.state, exitCode: outcome.exitCode, survivors: outcome.survivors, tasks: outcome.tasks, dir: outcome.dir, error: outcome.error }) + '\n');
  else if (driver) info.write(renderDriverSummary(outcome, config.name));
  else out.write(renderRunSummary(outcome, config.name));
  if (outcome.error) err.write(`reaper: ${sanitizeText(outcome.error)}\n`);
  return outcome.exitCode;
}

/** --timeout D: only for a driver (a batch file sets its timeouts per stage). */
function parseTimeoutFlag(value: unknown, driver: boolean): number | null {
  if (value === undefined || value === null) return null;
  if (!driver) throw new ReaperError('USAGE', '--timeout is for reaper run -- COMMAND; a batch file sets timeout: per stage');
  const ms = parseDuration(String(value));
  if (ms === null || ms <= 0) throw new ReaperError('USAGE', `--timeout expects a duration like 30m, 12h or 2d, got "${String(value)}"`);
  if (ms > MAX_DURATION_MS) throw new ReaperError('USAGE', `--timeout: at most ${formatDuration(MAX_DURATION_MS)}, got "${String(value)}"`);
  return ms;
}
