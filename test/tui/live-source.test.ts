/**
 * The live data source against a real simulator told to hang (REAPER_SIM_FAIL=hang, a wedged
 * driver): process scans go on and say so, and the GPU state the header shows is "no answer",
 * never "ok". The simulator's readers are this source's own children, ended by stop().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalSource } from '../../src/cli/commands/top.js';
import { gpuStateText, procsStateText } from '../../src/tui/probe-status.js';
import { waitFor } from '../helpers/wait-for.js';

test('REAPER_SIM_FAIL=hang: the header shows the scan as working and the GPU probe as not answering', async () => {
  const saved = process.env.REAPER_SIM_FAIL;
  process.env.REAPER_SIM_FAIL = 'hang';
  const source = new LocalSource({ gpus: { kind: 'sim', count: 1 }, intervalMs: 250, allUsers: false });
  try {
    source.start();
    const seen = await waitFor(
      () => {
        const d = source.getData();
        if (!d.snapshot) return null;
        const gpu = gpuStateText(d.gpu, d.probe, d.snapshot.takenAtMs);
        return /^gpu: no answer \d+ s$/.test(gpu.text) ? { gpu, procs: procsStateText(d.probe, d.snapshot.processes.length) } : null;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'the GPU state "no answer"' },
    );
    assert.equal(seen.gpu.bad, true);
    assert.match(seen.procs.text, /^procs: [\d,]+ · \d+ ms$/);
    assert.equal(seen.procs.bad, false);
  } finally {
    source.stop();
    if (saved === undefined) delete process.env.REAPER_SIM_FAIL;
    else process.env.REAPER_SIM_FAIL = saved;
  }
});
