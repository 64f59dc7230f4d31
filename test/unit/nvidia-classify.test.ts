import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyErrorText, classifyOutcome, identifyNvidiaSmiText } from '../../src/probe/nvidia-classify.js';
import { parseGpuInformation, attachMinors } from '../../src/probe/nvidia-info.js';
import { readOwnFixture } from '../helpers/gpu-helpers.js';

const index = JSON.parse(readOwnFixture('errors.json')) as Record<string, { exitCode: number; stream: 'stdout' | 'stderr'; kind: string }>;

for (const [file, spec] of Object.entries(index)) {
  test(`classifies ${file} as ${spec.kind}`, () => {
    const text = readOwnFixture(file);
    const e = classifyOutcome({
      exitCode: spec.exitCode,
      stdout: spec.stream === 'stdout' ? text : '',
      stderr: spec.stream === 'stderr' ? text : '',
    });
    assert.ok(e);
    assert.equal(e.kind, spec.kind);
    assert.ok(e.message.startsWith('nvidia-smi: '), e.message);
    assert.ok(!e.message.includes('\n'));
  });
}

test('messages are one line and name the problem', () => {
  assert.equal(classifyErrorText(readOwnFixture('error-driver-not-reachable.txt'))!.message, 'nvidia-smi: driver not reachable');
  assert.equal(classifyErrorText(readOwnFixture('error-version-mismatch.txt'))!.message, 'nvidia-smi: driver/library version mismatch (NVML 550.54)');
  assert.equal(classifyErrorText(readOwnFixture('error-invalid-field.txt'))!.message, 'nvidia-smi: field "mig.mode.current" is not a valid field to query');
  assert.equal(classifyErrorText(readOwnFixture('error-gpu-lost.txt'))!.message, 'nvidia-smi: GPU 0000:17:00.0 is lost (reboot needed)');
  assert.equal(classifyErrorText(readOwnFixture('error-gpu-lost-unknown-error.txt'))!.message, 'nvidia-smi: GPU 0000:65:00.0 unreachable: Unknown Error');
});

test('spawn failures and exit codes without text', () => {
  assert.equal(classifyOutcome({ exitCode: null, stdout: '', stderr: '', spawnError: 'ENOENT' })!.kind, 'not-installed');
  assert.equal(classifyOutcome({ exitCode: null, stdout: '', stderr: '', spawnError: 'EACCES' })!.kind, 'not-installed');
  assert.equal(classifyOutcome({ exitCode: 9, stdout: '', stderr: '' })!.kind, 'driver-not-reachable');
  assert.equal(classifyOutcome({ exitCode: 18, stdout: '', stderr: '' })!.kind, 'version-mismatch');
  assert.equal(classifyOutcome({ exitCode: 15, stdout: '', stderr: '' })!.kind, 'gpu-lost');
  assert.equal(classifyOutcome({ exitCode: null, signal: 'SIGSEGV', stdout: '', stderr: '' })!.message, 'nvidia-smi: killed by SIGSEGV');
  assert.equal(classifyOutcome({ exitCode: 0, stdout: '0, GPU-1\n', stderr: '' }), null);
});

test('success output is identified as CSV, not as an error', () => {
  assert.equal(identifyNvidiaSmiText(readOwnFixture('query-gpu-2gpus-noheader-nounits.txt')).kind, 'csv-rows');
  assert.equal(identifyNvidiaSmiText(readOwnFixture('query-gpu-2gpus-header-units.txt')).kind, 'csv-header');
  assert.equal(identifyNvidiaSmiText(readOwnFixture('list-gpus-2-mig.txt')).kind, 'list');
  assert.equal(identifyNvidiaSmiText(readOwnFixture('information-with-minor.txt')).kind, 'information');
  assert.equal(identifyNvidiaSmiText(readOwnFixture('error-no-devices.txt')).kind, 'error');
});

test('information file: Device Minor, tabs, old driver without it', () => {
  const a = parseGpuInformation(readOwnFixture('information-with-minor.txt'), '0000:65:00.0');
  assert.deepEqual(a, { busId: '0000:65:00.0', uuid: 'GPU-1f8e2a0c-6d41-4b9e-9a57-3c0de1b2a001', model: 'NVIDIA H100 80GB HBM3', minor: 3 });
  const b = parseGpuInformation(readOwnFixture('information-old-no-minor.txt'), '0000:0a:00.0');
  assert.equal(b.minor, null);
  assert.equal(b.busId, '0000:0a:00.0');
  // The bus id comes from the directory name when the file has no Bus Location.
  assert.equal(parseGpuInformation('Model: X\nDevice Minor: 1\n', '0000:C1:00.0').busId, '0000:c1:00.0');
});

test('attachMinors matches by uuid, then by normalised bus id; the minor is not the PCI order', () => {
  const gpus = [
    { uuid: 'GPU-a', busId: '0000:81:00.0', minor: null },
    { uuid: 'GPU-b', busId: '0000:c1:00.0', minor: null },
    { uuid: 'GPU-c', busId: '0000:d1:00.0', minor: null },
  ];
  const out = attachMinors(gpus, [
    { busId: '0000:81:00.0', uuid: null, model: null, minor: 1 },
    { busId: '0000:99:00.0', uuid: 'GPU-b', model: null, minor: 0 },
    { busId: '0000:d1:00.0', uuid: null, model: null, minor: null },
  ]);
  assert.deepEqual(
    out.map((g) => g.minor),
    [1, 0, null],
  );
});
