/**
 * The live data source and a Slurm controller that does not answer (a scontrol that hangs, first
 * in PATH): process scans keep coming while the Slurm read waits, and the read ends at its
 * deadline as one classified line in the data, never a stalled screen.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalSource } from '../../src/cli/commands/top.js';
import { waitFor } from '../helpers/wait-for.js';

test('a Slurm run with an open job and a hanging scontrol: scans go on, then "slurm: … no answer"', { timeout: 60_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'reaper-live-slurm-'));
  const bin = path.join(tmp, 'bin');
  mkdirSync(bin);
  // exec: the deadline's SIGKILL reaches the sleeping process itself, as with a real client.
  for (const name of ['scontrol', 'squeue', 'sacct']) {
    writeFileSync(path.join(bin, name), '#!/bin/sh\nexec sleep 30\n');
    chmodSync(path.join(bin, name), 0o755);
  }
  const id = '20261202-000000-0003';
  const dir = path.join(tmp, 'state', 'reaper', 'runs', id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const start = { ev: 'run-start', t: Date.now(), run: id, name: 'planted', file: '/b.yaml', launcher: { pid: 999_999_990, startTime: 1 }, guardian: null, layers: [], gpus: ['0'], tasks: [{ task: 0, vars: {} }], stages: ['hang'], graceMs: 1000, cgroup: null, detached: false, backend: 'slurm' };
  const ts = { ev: 'task-start', t: Date.now(), task: 0, stage: 'hang', attempt: 1, gpu: '0', pid: 0, startTime: null, pgid: 0, cgroup: null, argv: ['x'], stdout: 'o', stderr: 'e', job: { id: '4243', name: `reaper-${id}-0-hang` } };
  writeFileSync(path.join(dir, 'journal.jsonl'), `${JSON.stringify(start)}\n${JSON.stringify(ts)}\n`, { mode: 0o600 });
  const saved = { PATH: process.env.PATH, XDG_STATE_HOME: process.env.XDG_STATE_HOME };
  process.env.PATH = `${bin}:${saved.PATH ?? ''}`;
  process.env.XDG_STATE_HOME = path.join(tmp, 'state');
  const source = new LocalSource({ gpus: { kind: 'none' }, intervalMs: 250, allUsers: false });
  try {
    source.start();
    const first = await waitFor(() => source.getData().snapshot?.takenAtMs ?? null, { timeoutMs: 20_000, intervalMs: 50, what: 'a first scan' });
    // Scans go on while the Slurm read hangs.
    await waitFor(() => (source.getData().snapshot?.takenAtMs ?? 0) > first + 1000 && !source.getData().slurm, { timeoutMs: 20_000, intervalMs: 50, what: 'later scans while Slurm does not answer' });
    assert.equal(source.getData().runs.find((r) => r.id === id)?.backend, 'slurm');
    const slurm = await waitFor(() => source.getData().slurm ?? null, { timeoutMs: 20_000, intervalMs: 100, what: 'the Slurm read to end at its deadline' });
    assert.match(slurm.error ?? '', /^scontrol: no answer within [\d.]+ s$/);
    assert.equal(slurm.byRun.get(id)?.[0]?.state, null);
  } finally {
    source.stop();
    process.env.PATH = saved.PATH;
    if (saved.XDG_STATE_HOME === undefined) delete process.env.XDG_STATE_HOME;
    else process.env.XDG_STATE_HOME = saved.XDG_STATE_HOME;
    rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }
});
