/** The README's main command: the demo batch on simulated GPUs, end to end. */
import assert from 'node:assert/strict';
import { CLI_MAX_BUFFER } from '../helpers/wait-for.js';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CLI, cleanupRun, EXAMPLES, markerPids, readJournalFile, startCli, tempState } from '../helpers/launch-run.js';
import { waitFor } from '../helpers/wait-for.js';

const hasPython = spawnSync('python3', ['-c', 'import multiprocessing'], { stdio: 'ignore' }).status === 0;

describe('demo batch', { skip: hasPython ? false : 'python3 not found' }, () => {
  it('runs on sim:2, contains its failures, shows the allocations to the simulated nvidia-smi, exits 1 honestly', { timeout: 120_000 }, async (t) => {
    const state = tempState();
    const run = startCli(['run', 'demo.yaml', '--gpus', 'sim:2', '--json'], { env: { XDG_STATE_HOME: state, HOME: state, DEMO_SECONDS: '0.5', REAPER_CONTAINMENT: '' }, cwd: EXAMPLES });
    let runId: string | null = null;
    t.after(() => {
      cleanupRun(run, runId);
      rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    });
    const start = await run.waitEvent((e) => e.ev === 'run-start');
    runId = String(start.run);
    const id = runId;
    // The simulated nvidia-smi lists the running tasks' processes as compute apps.
    await waitFor(
      () => {
        const r = spawnSync(process.execPath, [CLI, 'sim-nvidia-smi', '--query-compute-apps=gpu_uuid,pid,process_name,used_gpu_memory', '--format=csv,noheader,nounits'], { maxBuffer: CLI_MAX_BUFFER,  env: { ...process.env, REAPER_SIM_GPUS: '2' }, encoding: 'utf8' });
        const pids = new Set(markerPids(id, { escapee: false }));
        return r.stdout.split('\n').some((l) => pids.has(Number(l.split(', ')[1])) && /18000|6000/.test(l));
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'a demo task listed by the simulated nvidia-smi' },
    );
    const ex = await run.exit;
    assert.equal(ex.code, 1, run.stderr);
    const summary = run.events.find((e) => e.ev === 'summary')!;
    assert.equal(summary.survivors, 0);
    const tasks = summary.tasks as Array<{ task: number; status: string; detail: string | null; stage: string }>;
    assert.deepEqual(tasks.map((x) => x.status), ['succeeded', 'failed', 'failed', 'failed', 'succeeded']);
    assert.match(tasks[1]!.detail!, /^timeout/);
    assert.match(tasks[2]!.detail!, /^stuck: pid \d+ stopped \(T\)/);
    assert.equal(tasks[3]!.stage, 'evaluate');
    assert.match(tasks[3]!.detail!, /^timeout/);
    assert.equal(markerPids(id).length, 0);
    const journal = readJournalFile(state, id);
    assert.ok(journal.some((e) => e.ev === 'task-stuck' && e.task === 2 && e.state === 'T'));
    assert.ok(journal.some((e) => e.ev === 'task-skip' && e.task === 1 && e.stage === 'evaluate'));
  });
});
