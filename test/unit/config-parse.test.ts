import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configError } from '../helpers/config-error.js';
import { batchPatterns, expandTemplate, parseBatchConfig, parseDuration, resolveBatchGpus } from '../../src/launch/index.js';
import { setLongTimeout } from '../../src/launch/launcher.js';
import { readBatchFile } from '../../src/launch/config.js';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const GOOD = `name: diffusion-eval
gpus: [0, 1]
concurrency: 2
order: stage-by-stage
grace: 3s
retries: 1
stuck: { after: 15s, action: warn }
env: { SEED: "{task}" }
tasks:
  - { ckpt: ckpts/epoch10.pt }
  - { ckpt: ckpts/epoch20.pt }
stages:
  evaluate:
    cmd: [python3, evaluate_pt_with_correct_reconstruct.py, --samples, "{out}/samples.pt"]
    timeout: 30m
    after: sample
  sample:
    cmd: [python3, sample_diffusion.py, --ckpt, "{ckpt}", --out, "{out}/samples.pt", --gpu, "{gpu}", "{{literal}}"]
    timeout: 1h
    retries: 0
    env: { REAPER_SIM_GPU_MIB: 8000 }
`;

describe('parseBatchConfig', () => {
  it('parses a full batch, orders stages by dependency, keeps defaults', () => {
    const c = parseBatchConfig(GOOD, '/tmp/x/b.yaml');
    assert.equal(c.name, 'diffusion-eval');
    assert.deepEqual(c.gpus, { kind: 'list', indices: [0, 1] });
    assert.equal(c.concurrency, 2);
    assert.equal(c.order, 'stage-by-stage');
    assert.equal(c.graceMs, 3000);
    assert.deepEqual(c.stuck, { afterMs: 15_000, action: 'warn' });
    assert.deepEqual(c.stages.map((s) => s.name), ['sample', 'evaluate']);
    assert.equal(c.stages[0]!.timeoutMs, 3_600_000);
    assert.equal(c.stages[0]!.retries, 0);
    assert.equal(c.stages[1]!.retries, 1);
    assert.equal(c.stages[1]!.level, 1);
    assert.equal(c.stages[0]!.env.REAPER_SIM_GPU_MIB, '8000');
    assert.equal(c.baseDir, '/tmp/x');
    assert.equal(c.tasks.length, 2);
    assert.equal(c.tasks[1]!.vars.ckpt, 'ckpts/epoch20.pt');
    assert.deepEqual(batchPatterns(c).sort(), ['evaluate_pt_with_correct_reconstruct.py', 'sample_diffusion.py']);
  });

  it('defaults: gpus all, pipeline, grace 5s, stuck 10s fail, no timeout', () => {
    const c = parseBatchConfig('tasks: [{}]\nstages:\n  a: { cmd: [true] }\n', 'x.yaml');
    assert.deepEqual(c.gpus, { kind: 'all' });
    assert.equal(c.order, 'pipeline');
    assert.equal(c.graceMs, 5000);
    assert.deepEqual(c.stuck, { afterMs: 10_000, action: 'fail' });
    assert.equal(c.stages[0]!.timeoutMs, null);
    assert.equal(c.name, 'x');
  });

  it('expands placeholders and {{ }} escapes', () => {
    assert.equal(expandTemplate('{out}/s-{task}.pt {{x}}', { out: '/o', task: '3' }), '/o/s-3.pt {x}');
  });

  it('parses durations', () => {
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration(2.5), 2500);
    assert.equal(parseDuration('-5s'), -5000);
    assert.equal(parseDuration('soon'), null);
    assert.equal(parseDuration('30d'), 30 * 86_400_000);
    assert.equal(parseDuration('1d12h'), 36 * 3_600_000);
    assert.equal(parseDuration(Infinity), null);
  });

  it('accepts days up to a year; longer timeouts, huge numbers and a grace over a day are rejected', () => {
    const stage = (line: string): string => `tasks: [{}]\nstages:\n  a:\n    cmd: [true]\n    ${line}\n`;
    assert.equal(parseBatchConfig(stage('timeout: 30d'), 'b.yaml').stages[0]!.timeoutMs, 30 * 86_400_000);
    assert.equal(parseBatchConfig(stage('timeout: 365d'), 'b.yaml').stages[0]!.timeoutMs, 365 * 86_400_000);
    assert.match(configError(stage('timeout: 400d')), /^b\.yaml:5: stages\.a\.timeout: at most 365d, got 400d/);
    assert.match(configError(stage('timeout: 1e29')), /^b\.yaml:5: stages\.a\.timeout: at most 365d/);
    assert.match(configError(stage('timeout: .inf')), /^b\.yaml:5: stages\.a\.timeout: expected a duration/);
    assert.match(configError('grace: 2d\n' + stage('timeout: 1s')), /^b\.yaml:1: grace: at most 24h, got 2d/);
    assert.match(configError('stuck: { after: 999d }\n' + stage('timeout: 1s')), /^b\.yaml:1: stuck\.after: at most 365d/);
  });

  it('setLongTimeout: a 30-day timer does not fire at once (a plain Node timer would)', async () => {
    let fired = false;
    const t = setLongTimeout(() => (fired = true), 30 * 86_400_000);
    let plain = false;
    process.once('warning', () => undefined);
    const p = setTimeout(() => (plain = true), 30 * 86_400_000);
    await new Promise((r) => setTimeout(r, 100));
    t.clear();
    clearTimeout(p);
    assert.equal(plain, true, 'Node overflows to 1 ms (the bug this guards against)');
    assert.equal(fired, false);
    let short = false;
    setLongTimeout(() => (short = true), 10);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(short, true);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['yaml syntax error', 'tasks: [{}\nstages: {}\n', /^b\.yaml:\d+: yaml: /],
    ['unknown top key', 'tasks: [{}]\nstagez: {}\nstages:\n  a: { cmd: [true] }\n', /^b\.yaml:2: stagez: unknown key/],
    ['unknown stage key', 'tasks: [{}]\nstages:\n  a:\n    cmd: [true]\n    timout: 5s\n', /^b\.yaml:5: stages\.a\.timout: unknown key/],
    ['missing cmd', 'tasks: [{}]\nstages:\n  a:\n    timeout: 5s\n', /^b\.yaml:3: stages\.a\.cmd: missing/],
    ['cmd not a list', 'tasks: [{}]\nstages:\n  a: { cmd: "python3 x.py" }\n', /^b\.yaml:3: stages\.a\.cmd: expected an argv list/],
    ['negative timeout', 'tasks: [{}]\nstages:\n  a:\n    cmd: [true]\n    timeout: -5s\n', /^b\.yaml:5: stages\.a\.timeout: must not be negative/],
    ['bad duration', 'tasks: [{}]\nstages:\n  a:\n    cmd: [true]\n    timeout: soon\n', /^b\.yaml:5: stages\.a\.timeout: expected a duration/],
    ['unknown placeholder', 'tasks: [{ckpt: a}]\nstages:\n  a:\n    cmd: [echo, "{ckpt}", "{chkpt}"]\n', /^b\.yaml:4: stages\.a\.cmd: unknown placeholder \{chkpt\}/],
    ['placeholder missing in one task', 'tasks:\n  - {ckpt: a}\n  - {other: b}\nstages:\n  a: { cmd: [echo, "{ckpt}"] }\n', /^b\.yaml:3: tasks\[1\]: missing ckpt/],
    ['after unknown stage', 'tasks: [{}]\nstages:\n  a: { cmd: [true], after: b }\n', /^b\.yaml:3: stages\.a\.after: no stage named "b"/],
    ['dependency cycle', 'tasks: [{}]\nstages:\n  a: { cmd: [true], after: b }\n  b: { cmd: [true], after: a }\n', /stages\.\w\.after: cycle/],
    ['no tasks', 'stages:\n  a: { cmd: [true] }\n', /^b\.yaml:1: tasks: missing/],
    ['negative gpu', 'gpus: [0, -1]\ntasks: [{}]\nstages:\n  a: { cmd: [true] }\n', /^b\.yaml:1: gpus: expected GPU indices/],
    ['concurrency 0', 'concurrency: 0\ntasks: [{}]\nstages:\n  a: { cmd: [true] }\n', /^b\.yaml:1: concurrency: must be >= 1/],
    ['bad order', 'order: random\ntasks: [{}]\nstages:\n  a: { cmd: [true] }\n', /^b\.yaml:1: order: expected pipeline or stage-by-stage/],
    ['task shadows a built-in', 'tasks: [{gpu: 3}]\nstages:\n  a: { cmd: [true] }\n', /^b\.yaml:1: tasks\[0\]\.gpu: \{gpu\} is a built-in/],
    ['env sets the marker', 'env: { REAPER_RUN: x }\ntasks: [{}]\nstages:\n  a: { cmd: [true] }\n', /^b\.yaml:1: env\.REAPER_RUN: is set by reaper/],
    ['duplicate key', 'tasks: [{}]\ntasks: [{}]\nstages:\n  a: { cmd: [true] }\n', /^b\.yaml:\d+: yaml: /],
    ['not a mapping', '- a\n- b\n', /^b\.yaml:1: \(top\): the batch file must be a mapping/],
  ];
  for (const [name, text, re] of bad) {
    it(`rejects: ${name}`, () => {
      assert.match(configError(text), re);
    });
  }

  it('checks GPU indices against the machine', () => {
    const c = parseBatchConfig('name: n\ngpus: [0, 3]\ntasks: [{}]\nstages:\n  a: { cmd: [true] }\n', 'b.yaml');
    assert.throws(() => resolveBatchGpus(c, [0, 1]), /b\.yaml:2: gpus: GPU 3 does not exist \(available: 0, 1\)/);
    assert.deepEqual(resolveBatchGpus(c, [0, 1, 2, 3]), [0, 3]);
    const all = parseBatchConfig('gpus: 2\ntasks: [{}]\nstages:\n  a: { cmd: [true] }\n', 'b.yaml');
    assert.deepEqual(resolveBatchGpus(all, [0, 1, 2]), [0, 1]);
    assert.throws(() => resolveBatchGpus(all, [0]), /gpus: asks for 2 GPUs/);
    assert.throws(() => resolveBatchGpus(all, []), /no GPUs found/);
  });
});

describe('readBatchFile', () => {
  it('requireOwn: a planted file (another owner, or writable by others) is refused; your own is read', { skip: process.getuid?.() === 0 ? false : 'chown needs root' }, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'reaper-own-'));
    try {
      const f = path.join(dir, 'reaper.yaml');
      writeFileSync(f, 'tasks: [{}]\n', { mode: 0o644 });
      assert.equal(readBatchFile(f, { requireOwn: true }), 'tasks: [{}]\n');
      chmodSync(f, 0o666);
      assert.throws(() => readBatchFile(f, { requireOwn: true }), /reaper\.yaml: not used: writable by others/);
      assert.equal(readBatchFile(f), 'tasks: [{}]\n', 'a file named on the command line is the caller\'s choice');
      chmodSync(f, 0o644);
      chownSync(f, 65534, 65534);
      assert.throws(() => readBatchFile(f, { requireOwn: true }), /not used: owned by uid 65534, not you/);
    } finally {
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    }
  });
});
