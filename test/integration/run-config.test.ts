/** Bad batch files and arguments: one clear line, exit 2, nothing started, no run recorded. */
import assert from 'node:assert/strict';
import { CLI_MAX_BUFFER } from '../helpers/wait-for.js';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, tempState } from '../helpers/launch-run.js';

const dir = tempState();
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));

function runCli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { maxBuffer: CLI_MAX_BUFFER,  cwd: dir, env: { ...process.env, XDG_STATE_HOME: dir, REAPER_RUN: '' }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const OK_STAGES = 'stages:\n  sample:\n    cmd: [touch, "started-{task}"]\n';
const cases: Array<[string, string, string[], RegExp]> = [
  ['YAML syntax error', 'tasks: [{}\n' + OK_STAGES, [], /^reaper: .*syntax\.yaml:\d+: yaml: /],
  ['unknown key', 'tasks: [{}]\nretry: 3\n' + OK_STAGES, [], /^reaper: .*unknown-key\.yaml:2: retry: unknown key/],
  ['missing cmd', 'tasks: [{}]\nstages:\n  sample:\n    timeout: 5s\n', [], /^reaper: .*missing-cmd\.yaml:3: stages\.sample\.cmd: missing/],
  ['negative timeout', 'tasks: [{}]\nstages:\n  sample:\n    cmd: [touch, x]\n    timeout: -1m\n', [], /^reaper: .*negative-timeout\.yaml:5: stages\.sample\.timeout: must not be negative/],
  ['unknown placeholder', 'tasks: [{}]\nstages:\n  sample:\n    cmd: [touch, "{ckpt}"]\n', [], /^reaper: .*unknown-placeholder\.yaml:4: stages\.sample\.cmd: unknown placeholder \{ckpt\}/],
  ['GPU index that does not exist', 'gpus: [0, 5]\ntasks: [{}]\n' + OK_STAGES, [], /^reaper: .*gpu-index\.yaml:1: gpus: GPU 5 does not exist \(available: 0, 1\)/],
  ['program not found', 'tasks: [{}]\nstages:\n  sample:\n    cmd: [no-such-program-xyz, a]\n', [], /^reaper: .*program\.yaml:3: stages\.sample\.cmd: program not found or not executable: no-such-program-xyz/],
];

describe('reaper run: bad configs start nothing', () => {
  for (const [name, text, extra, re] of cases) {
    it(name, () => {
      const file = path.join(dir, `${name.split(' ').slice(0, 2).join('-').toLowerCase().replace(/[^a-z-]/g, '')}.yaml`);
      const short = { 'YAML syntax error': 'syntax', 'unknown key': 'unknown-key', 'missing cmd': 'missing-cmd', 'negative timeout': 'negative-timeout', 'unknown placeholder': 'unknown-placeholder', 'GPU index that does not exist': 'gpu-index', 'program not found': 'program' }[name]!;
      const f = path.join(dir, `${short}.yaml`);
      void file;
      writeFileSync(f, text);
      const r = runCli(['run', f, '--gpus', 'sim:2', ...extra]);
      assert.equal(r.code, 2, `exit 2; stderr: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line: ${r.stderr}`);
      assert.match(lines[0]!, re);
      assert.equal(r.stdout, '');
      assert.ok(!existsSync(path.join(dir, 'started-0')), 'no task ran');
      assert.ok(!existsSync(path.join(dir, 'reaper', 'runs')) || readdirSync(path.join(dir, 'reaper', 'runs')).length === 0, 'no run recorded');
    });
  }

  it('missing file, bad flags', () => {
    assert.equal(runCli(['run', path.join(dir, 'nope.yaml'), '--gpus', 'sim:2']).code, 2);
    assert.equal(runCli(['run']).code, 2);
    assert.equal(runCli(['run', 'x.yaml', '--gpus', 'sim:0']).code, 2);
    const bad = runCli(['run', 'x.yaml', '--containment', 'bogus']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--containment expects/);
  });

  it('reaper doctor prints the layers and the machine checks', () => {
    const r = runCli(['doctor', '--json', '--gpus', 'sim:2']);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as { layers: Array<{ id: string; active: boolean; available: boolean }>; checks: Array<{ id: string }> };
    assert.deepEqual(rep.layers.map((l) => l.id), ['pgroup', 'marker', 'cgroup', 'pidns', 'pdeathsig', 'guardian']);
    assert.ok(rep.layers.find((l) => l.id === 'pgroup')!.active);
    assert.ok(rep.checks.some((c) => c.id === 'gpu'));
    const text = runCli(['doctor', '--gpus', 'sim:1']);
    assert.match(text.stdout, /Containment layers/);
    assert.match(text.stdout, /ptrace scope/);
    const off = JSON.parse(runCli(['doctor', '--json', '--gpus', 'none', '--containment', 'pgroup-only']).stdout) as { layers: Array<{ id: string; active: boolean }> };
    assert.deepEqual(off.layers.filter((l) => l.active).map((l) => l.id), ['pgroup', 'marker']);
  });
});
