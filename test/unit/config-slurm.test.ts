import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configError } from '../helpers/config-error.js';
import { DEFAULT_SLURM, parseBatchConfig, slurmSlots, withBackend } from '../../src/launch/config.js';

const SLURM = `name: demo
backend: slurm
gpus: 2
slurm: { partition: lab, account: grp, qos: normal, cpus: 4, mem: 8G, extra: [--constraint=a100] }
tasks:
  - { ckpt: a.pt }
  - { ckpt: b.pt }
  - { ckpt: c.pt }
stages:
  sample:
    cmd: [python3, sample.py, --ckpt, "{ckpt}", --out, "{out}"]
    timeout: 90s
  evaluate:
    cmd: [python3, eval.py]
    after: sample
    slurm: { gres: none, time: 2h, partition: cpu, extra: [--nice=5] }
`;

const base = (extra: string, stageExtra = ''): string => `${extra}
tasks: [{}]
stages:
  s:
    cmd: [true]
${stageExtra}`;

describe('batch config: backend and slurm block', () => {
  it('parses backend slurm, the batch block and per-stage overrides key by key', () => {
    const c = parseBatchConfig(SLURM, '/tmp/b.yaml');
    assert.equal(c.backend, 'slurm');
    const [sample, evaluate] = c.stages;
    assert.deepEqual(sample!.slurm, { partition: 'lab', account: 'grp', qos: 'normal', gres: 'gpu:1', cpus: 4, mem: '8G', timeMs: null, extra: ['--constraint=a100'] });
    assert.deepEqual(evaluate!.slurm, { partition: 'cpu', account: 'grp', qos: 'normal', gres: null, cpus: 4, mem: '8G', timeMs: 7_200_000, extra: ['--constraint=a100', '--nice=5'] });
    assert.deepEqual(slurmSlots(c), [0, 1]);
  });

  it('defaults: backend local, gres gpu:1, every task at once on slurm without gpus', () => {
    const c = parseBatchConfig(base(''), 'b.yaml');
    assert.equal(c.backend, 'local');
    assert.deepEqual(c.stages[0]!.slurm, DEFAULT_SLURM);
    assert.deepEqual(slurmSlots(parseBatchConfig(base('backend: slurm\ntasks_: 1').replace('\ntasks_: 1', ''), 'b.yaml')), [0]);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['unknown backend', base('backend: k8s'), /b\.yaml:1: backend: expected local or slurm, got "k8s"/],
    ['unknown slurm key', base('slurm: { partiton: lab }'), /b\.yaml:1: slurm\.partiton: unknown key \(allowed: partition, account, qos, gres, cpus, mem, time, extra\)/],
    ['unknown stage slurm key', base('', '    slurm: { nodes: 2 }'), /stages\.s\.slurm\.nodes: unknown key/],
    ['slurm not a mapping', base('slurm: lab'), /slurm: expected a mapping/],
    ['partition with a space', base('slurm: { partition: "a b" }'), /slurm\.partition: expected a partition name/],
    ['partition looking like an option', base('slurm: { partition: "--uid=0" }'), /slurm\.partition: expected a partition name/],
    ['cpus zero', base('slurm: { cpus: 0 }'), /slurm\.cpus: must be >= 1/],
    ['mem not a size', base('slurm: { mem: lots }'), /slurm\.mem: expected a size like 4G/],
    ['time not a duration', base('slurm: { time: soon }'), /slurm\.time: expected a duration/],
    ['extra not a list', base('slurm: { extra: --x }'), /slurm\.extra: expected a list of sbatch arguments/],
    ['extra overrides the job name', base('slurm: { extra: [--job-name=x] }'), /slurm\.extra: --job-name is set by reaper itself/],
    ['extra overrides the output', base('', '    slurm: { extra: [-o, /tmp/x] }'), /stages\.s\.slurm\.extra: -o is set by reaper itself/],
    ['extra with a glued short option', base('slurm: { extra: [-Jx] }'), /slurm\.extra: -J is set by reaper itself/],
    ['{gpu} on slurm', `backend: slurm\ntasks: [{}]\nstages:\n  s:\n    cmd: [run, --gpu, "{gpu}"]\n`, /b\.yaml:4: stages\.s: \{gpu\} is not available with backend slurm .*\$CUDA_VISIBLE_DEVICES/],
    ['{gpu} in env on slurm', `backend: slurm\nenv: { G: "{gpu}" }\ntasks: [{}]\nstages:\n  s:\n    cmd: [run]\n`, /env: \{gpu\} is not available with backend slurm/],
  ];
  for (const [name, text, re] of bad) {
    it(`rejects: ${name}`, () => assert.match(configError(text), re));
  }

  it('--backend slurm over a local file checks {gpu} too; local keeps it', () => {
    const c = parseBatchConfig(`tasks: [{}]\nstages:\n  s:\n    cmd: [run, "{gpu}"]\n`, 'b.yaml');
    assert.equal(withBackend(c, 'local'), c);
    assert.throws(() => withBackend(c, 'slurm'), /b\.yaml:3: stages\.s: \{gpu\} is not available with backend slurm/);
    const ok = parseBatchConfig(base(''), 'b.yaml');
    assert.equal(withBackend(ok, 'slurm').backend, 'slurm');
  });
});
