import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readProcessesFallback } from '../../src/probe/proc-fallback.js';

// The fallback exists for machines without /proc; ps-list also works here, so check its shape.
test('ps-list fallback builds a usable snapshot', async () => {
  const s = await readProcessesFallback();
  const self = s.byPid.get(process.pid);
  assert.ok(self, 'self listed');
  assert.equal(self.ppid, process.ppid);
  assert.equal(self.stat, '?');
  assert.equal(s.selfPid, process.pid);
  assert.equal(s.gpu.source, 'none');
  for (let i = 1; i < s.processes.length; i++) assert.ok(s.processes[i - 1]!.pid < s.processes[i]!.pid);
});
