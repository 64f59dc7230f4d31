/** Slurm client failures → kinds, from the texts captured in the lab (and two documented ones). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/gpu-helpers.js';
import { classifySlurmOutcome, type SlurmOutcome } from '../../src/slurm/index.js';

const dir = join(repoRoot, 'test', 'fixtures', 'slurm', 'errors');
const outcome = (o: Partial<SlurmOutcome>): SlurmOutcome => ({
  argv: ['squeue'], exitCode: 0, signal: null, stdout: '', stderr: '', spawnError: null, timedOut: false, truncated: false, ms: 5, ...o,
});

for (const index of ['errors.json', 'handwritten.json']) {
  const specs = JSON.parse(readFileSync(join(dir, index), 'utf8')) as Record<string, { exitCode: number; stream: 'stdout' | 'stderr'; kind: string; argv: string }>;
  for (const [file, spec] of Object.entries(specs)) {
    test(`${index}: ${file} (${spec.argv.split(' ').slice(0, 2).join(' ')}, exit ${spec.exitCode}) is ${spec.kind}`, () => {
      const text = readFileSync(join(dir, file), 'utf8');
      // runuser is how the capture became another user; reaper runs the client itself.
      const argv = spec.argv.replace(/^runuser -u \S+ -- /, '').split(' ');
      const e = classifySlurmOutcome(outcome({ argv, exitCode: spec.exitCode, [spec.stream]: text }));
      if (spec.kind === 'none') return assert.equal(e, null);
      assert.ok(e, 'no error found');
      assert.equal(e.kind, spec.kind, e.message);
      assert.ok(e.message.startsWith(`${argv[0]}: `), e.message);
      assert.ok(!/[\n\r\x00-\x1f]/.test(e.message), e.message);
    });
  }
}

test('messages say what happened in one line', () => {
  const unreach = readFileSync(join(dir, 'squeue-unreachable.txt'), 'utf8');
  assert.equal(classifySlurmOutcome(outcome({ exitCode: 1, stderr: unreach }))!.message,
    'squeue: controller unreachable (Unable to contact slurm controller (connect failure))');
  const down = readFileSync(join(dir, 'scontrol-ping-down.txt'), 'utf8');
  assert.equal(classifySlurmOutcome(outcome({ argv: ['/usr/bin/scontrol', 'ping'], exitCode: 1, stdout: down }))!.message,
    'scontrol: controller at vm is down (Slurmctld(primary) at vm is DOWN)');
  const part = readFileSync(join(dir, 'sbatch-invalid-partition.txt'), 'utf8');
  assert.match(classifySlurmOutcome(outcome({ argv: ['sbatch'], exitCode: 1, stderr: part }))!.message, /^sbatch: invalid partition "nosuch"/);
});

test('not installed, not executable, timeout, output cap, unknown exit, a signal', () => {
  assert.equal(classifySlurmOutcome(outcome({ exitCode: null, spawnError: 'ENOENT' }))!.kind, 'not-installed');
  assert.equal(classifySlurmOutcome(outcome({ exitCode: null, spawnError: 'EACCES' }))!.kind, 'not-installed');
  assert.equal(classifySlurmOutcome(outcome({ exitCode: null, spawnError: 'EMFILE' }))!.kind, 'unknown');
  const t = classifySlurmOutcome(outcome({ exitCode: null, signal: 'SIGKILL', timedOut: true, ms: 2000 }))!;
  assert.deepEqual([t.kind, t.message], ['timeout', 'squeue: no answer within 2.0 s']);
  assert.equal(classifySlurmOutcome(outcome({ exitCode: null, signal: 'SIGKILL', truncated: true }))!.kind, 'output-too-large');
  const u = classifySlurmOutcome(outcome({ exitCode: 3, stderr: '\x1b[31mweird\x1b[0m thing\nmore' }))!;
  assert.equal(u.kind, 'unknown');
  assert.ok(!u.message.includes('\x1b'), u.message);
  assert.equal(classifySlurmOutcome(outcome({ exitCode: null, signal: 'SIGSEGV' }))!.message, 'squeue: killed by SIGSEGV');
  assert.equal(classifySlurmOutcome(outcome({ exitCode: 0, stdout: '1|RUNNING' })), null);
});
