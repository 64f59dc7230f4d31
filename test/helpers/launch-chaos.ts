/**
 * One chaos scenario: run examples/chaos.yaml (tasks that hang, SIGSTOP themselves, ignore
 * SIGTERM, fork continuously, escape with setsid + double fork and env -i, exit non-zero), wait
 * until every trick is in place, interrupt it one way, then assert from /proc that nothing
 * carrying the run's marker survives, and that the journal says what happened.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { waitFor } from './wait-for.js';
import { otherUserKit } from './other-user-kit.js';
import { chaosBatch, cleanupRun, describePids, killGuardianOf, markerPids, readJournalFile, startCli, tempState, type CliRun, type JsonEvent, type TestUser } from './launch-run.js';

export type Interruption = 'timeout' | 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGKILL';

const EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

export interface ChaosResult {
  readonly runId: string;
  readonly journal: JsonEvent[];
  readonly run: CliRun;
  readonly layers: Array<{ id: string; active: boolean }>;
}

export async function chaosScenario(t: TestContext, how: Interruption, opts: { user?: TestUser | null; containment?: string } = {}): Promise<ChaosResult> {
  const state = tempState(opts.user);
  const edit = how === 'timeout' ? (s: string) => s.replace('timeout: 60s', 'timeout: 2s') : (s: string) => s;
  const batch = chaosBatch(state, edit, opts.user ? otherUserKit().examples : undefined);
  const env: NodeJS.ProcessEnv = { XDG_STATE_HOME: state, HOME: state };
  if (opts.containment) env.REAPER_CONTAINMENT = opts.containment;
  else delete env.REAPER_CONTAINMENT;
  const run = startCli(['run', batch, '--gpus', 'sim:2', '--json'], { env, user: opts.user ?? null, cwd: state });
  let runId: string | null = null;
  t.after(() => {
    cleanupRun(run, runId);
    if (runId) killGuardianOf(state, runId);
    rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });
  const containment = await run.waitEvent((e) => e.ev === 'containment', 20_000, 'containment line');
  const start = await run.waitEvent((e) => e.ev === 'run-start', 20_000, 'run-start');
  runId = String(start.run);
  const id = runId;
  await waitFor(() => run.events.filter((e) => e.ev === 'task-start' && e.stage === 'sample').length >= 7, { timeoutMs: 20_000, what: '7 sample tasks started' });
  // every trick in place: the stopped member, the forker's children, the env -i escapee
  await waitFor(() => markerPids(id).length >= 12, { timeoutMs: 20_000, what: 'chaos processes in place' });

  if (how === 'timeout') {
    const ex = await run.exit;
    assert.equal(ex.code, 1, `exit code; stderr: ${run.stderr}`);
  } else {
    process.kill(run.pid, how);
    const ex = await run.exit;
    if (how === 'SIGKILL') assert.equal(ex.signal, 'SIGKILL');
    else assert.equal(ex.code, EXIT[how], `exit code after ${how}; stderr: ${run.stderr.slice(-500)}`);
  }
  const layersOn = ((containment.layers as Array<{ id: string; active: boolean }>) ?? []).filter((l) => l.active).map((l) => l.id);
  // Only a cgroup or a PID namespace can catch the `env -i` escapee (it has no REAPER_RUN).
  const kernelLayer = layersOn.includes('cgroup') || layersOn.includes('pidns');
  try {
    await waitFor(() => markerPids(id, { escapee: kernelLayer }).length === 0, { timeoutMs: 15_000, intervalMs: 100, what: 'no survivors' });
  } catch {
    assert.fail(`survivors of run ${id} after ${how}: ${describePids(markerPids(id, { escapee: kernelLayer }))}`);
  }
  if (!kernelLayer) {
    // The documented gap of marker-only containment: the env -i escapee is still there.
    assert.ok(markerPids(id, { marker: false }).length > 0, 'without cgroup and PID namespace the env -i escapee survives (documented)');
  }
  if (layersOn.includes('cgroup')) {
    const dir = ((start.cgroup as string | null) ?? '');
    await waitFor(() => dir !== '' && !existsSync(dir), { timeoutMs: 15_000, what: `run cgroup ${dir} removed` });
  }
  let journal = readJournalFile(state, id);
  if (how === 'SIGKILL') {
    await waitFor(() => (journal = readJournalFile(state, id)).some((e) => e.ev === 'run-end'), { timeoutMs: 15_000, what: 'guardian end record' });
  }
  const end = journal.find((e) => e.ev === 'run-end')!;
  assert.ok(end, 'the journal has an end record');
  assert.equal(end.survivors, 0);
  if (how === 'timeout') {
    assert.equal(end.state, 'failed');
    const ends = journal.filter((e) => e.ev === 'task-end' && e.stage === 'sample');
    const reason = (task: number): unknown => ends.find((e) => e.task === task)?.reason;
    for (const task of [0, 1, 2, 3, 4]) assert.equal(reason(task), 'timeout', `task ${task} timed out`);
    assert.equal(ends.find((e) => e.task === 5)?.detail, 'exit 3');
    assert.ok(journal.some((e) => e.ev === 'task-end' && e.task === 6 && e.stage === 'evaluate' && e.status === 'succeeded'));
    assert.ok(journal.some((e) => e.ev === 'task-skip' && e.task === 5));
  } else if (how === 'SIGKILL') {
    assert.equal(end.by, 'guardian');
    assert.equal(end.state, 'crashed');
  } else {
    assert.equal(end.by, 'launcher');
    assert.equal(end.state, 'interrupted');
    assert.ok(journal.some((e) => e.ev === 'signal' && e.signal === how));
    assert.ok(journal.filter((e) => e.ev === 'task-end' && e.status === 'cancelled').length >= 5);
  }
  return { runId: id, journal, run, layers: (containment.layers as Array<{ id: string; active: boolean }>) ?? [] };
}
