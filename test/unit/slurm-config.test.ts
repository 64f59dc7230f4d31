/** `scontrol show config` → ProctrackType, and the doctor's Slurm lines from what was found (pure). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { slurmChecks, type SlurmProbe } from '../../src/launch/doctor.js';
import { parseProctrack, parseScontrolConfig } from '../../src/slurm/index.js';
import { repoRoot } from '../helpers/gpu-helpers.js';

const fixture = (name: string): string => readFileSync(join(repoRoot, 'test', 'fixtures', 'slurm', name), 'utf8');

test('the lab capture (22.05): proctrack/cgroup; keys with brackets, (null) values, the ping line ignored', () => {
  const text = fixture('scontrol-show-config-22.05.txt');
  assert.deepEqual(parseProctrack(text), { type: 'proctrack/cgroup', kind: 'cgroup' });
  const c = parseScontrolConfig(text);
  assert.equal(c.get('KillWait'), '5 sec');
  assert.equal(c.get('SlurmctldHost[0]'), 'vm(127.0.0.1)');
  assert.equal(c.get('AccountingStorageBackupHost'), '(null)');
  assert.ok(![...c.keys()].some((k) => k.startsWith('Slurmctld(') || k.startsWith('Configuration')));
});

test('linuxproc (hand-written): recognised; a later repeat of the key does not override the first', () => {
  assert.deepEqual(parseProctrack(fixture('scontrol-show-config-linuxproc-handwritten.txt')), { type: 'proctrack/linuxproc', kind: 'linuxproc' });
});

test('defensive: pgid, odd padding, unknown plugins, missing or empty keys, junk', () => {
  assert.deepEqual(parseProctrack('ProctrackType=proctrack/pgid\n'), { type: 'proctrack/pgid', kind: 'pgid' });
  assert.deepEqual(parseProctrack('  ProctrackType   =   proctrack/cgroup  \r\n'), { type: 'proctrack/cgroup', kind: 'cgroup' });
  assert.deepEqual(parseProctrack('ProctrackType = proctrack/cray_aries\n'), { type: 'proctrack/cray_aries', kind: 'other' });
  assert.deepEqual(parseProctrack('ProctrackType = cgroup\n'), { type: 'cgroup', kind: 'other' });
  assert.deepEqual(parseProctrack('ProctrackType = (null)\n'), { type: null, kind: null });
  assert.deepEqual(parseProctrack('ProctrackType =\n'), { type: null, kind: null });
  assert.deepEqual(parseProctrack('KillWait = 30 sec\n'), { type: null, kind: null });
  assert.deepEqual(parseProctrack(''), { type: null, kind: null });
  assert.deepEqual(parseProctrack('\u0000\u001b[31mProctrackType = proctrack/pgid'), { type: null, kind: null });
  // A value that merely mentions "ProctrackType = …" is not the key.
  assert.deepEqual(parseProctrack('SlurmctldParameters = ProctrackType = proctrack/cgroup\nProctrackType = proctrack/linuxproc\n'), { type: 'proctrack/linuxproc', kind: 'linuxproc' });
});

const probe = (over: Partial<SlurmProbe>): SlurmProbe => ({
  squeue: '/usr/bin/squeue',
  sbatch: '/usr/bin/sbatch',
  ping: { up: true, error: null, ms: 9 },
  config: { proctrack: { type: 'proctrack/cgroup', kind: 'cgroup' }, error: null },
  ...over,
});

test('doctor lines: not installed is one line and not a failure', () => {
  const c = slurmChecks(probe({ squeue: null, sbatch: null, ping: null, config: null }));
  assert.deepEqual(c.map((x) => [x.id, x.ok, x.detail, x.notApplicable]), [['slurm', null, 'not installed (only needed for backend: slurm)', true]]);
});

test('doctor lines: cgroup ok; linuxproc and pgid warn about the processes they leak; a down controller is not asked for config', () => {
  const ok = slurmChecks(probe({}));
  assert.deepEqual(ok.map((x) => [x.id, x.ok]), [['slurm-client', true], ['slurm-controller', true], ['slurm-proctrack', true]]);
  const lp = slurmChecks(probe({ config: { proctrack: { type: 'proctrack/linuxproc', kind: 'linuxproc' }, error: null } })).find((x) => x.id === 'slurm-proctrack')!;
  assert.equal(lp.ok, false);
  assert.match(lp.meaning, /^warning: .*double-forked, setsid and SIGTERM-ignoring processes leak: measured, all 7 escapees of a job outlive its script/);
  const pg = slurmChecks(probe({ config: { proctrack: { type: 'proctrack/pgid', kind: 'pgid' }, error: null } })).find((x) => x.id === 'slurm-proctrack')!;
  assert.equal(pg.ok, false);
  assert.match(pg.meaning, /^warning: .*setsid and double-forked/);
  const down = slurmChecks(probe({ ping: { up: false, error: 'scontrol: controller at vm is down', ms: 8 }, config: null }));
  assert.deepEqual(down.map((x) => [x.id, x.ok]), [['slurm-client', true], ['slurm-controller', false], ['slurm-proctrack', null]]);
  assert.equal(down[1]!.detail, 'scontrol: controller at vm is down');
  const half = slurmChecks(probe({ sbatch: null }));
  assert.equal(half[0]!.ok, false);
  assert.match(half[0]!.detail, /sbatch: not on PATH/);
});
