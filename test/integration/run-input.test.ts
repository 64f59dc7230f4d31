/**
 * Hostile and broken input to `reaper run`: batch files that are not regular files or are huge,
 * bytes that are not UTF-8, NULs, missing folders, a folder as the program, terminal escapes in
 * keys and --match. Each one: exit 2, one `reaper:` line with the escapes shown escaped, nothing
 * started, no run recorded. And durations in days work (a 30-day timeout does not fire at once).
 */
import assert from 'node:assert/strict';
import { CLI_MAX_BUFFER } from '../helpers/wait-for.js';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, tempState } from '../helpers/launch-run.js';

const dir = tempState();
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
mkdirSync(path.join(dir, 'a-folder'));

function runCli(args: string[], timeout = 30_000): { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { maxBuffer: CLI_MAX_BUFFER,  cwd: dir, env: { ...process.env, XDG_STATE_HOME: dir, REAPER_RUN: '', REAPER_CONTAINMENT: 'pgroup-only' }, encoding: 'utf8', timeout });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

const runsRecorded = (): number => (existsSync(path.join(dir, 'reaper', 'runs')) ? readdirSync(path.join(dir, 'reaper', 'runs')).length : 0);

function assertRejected(args: string[], re: RegExp): string {
  const before = runsRecorded();
  const r = runCli(args);
  assert.equal(r.signal, null, `killed by ${r.signal} (hung?)`);
  assert.equal(r.code, 2, `exit 2; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${JSON.stringify(r.stderr)}`);
  assert.match(lines[0]!, /^reaper: /);
  assert.match(lines[0]!, re);
  assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(r.stderr), `no raw control characters: ${JSON.stringify(r.stderr)}`);
  assert.equal(r.stdout, '');
  assert.ok(!existsSync(path.join(dir, 'started')), 'no task ran');
  assert.equal(runsRecorded(), before, 'no run recorded');
  return lines[0]!;
}

const STAGE = (extra = '', cmd = '[touch, started]'): string => `tasks: [{}]\nstages:\n  sample:\n    cmd: ${cmd}\n${extra}`;
const write = (name: string, text: string | Buffer): string => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};

describe('reaper run: batch files that are not batch files', () => {
  it('/dev/zero: refused at once (not read until memory runs out)', () => {
    assertRejected(['run', '/dev/zero', '--gpus', 'sim:1'], /\/dev\/zero: not a batch file: a character device/);
  });

  it('a FIFO with no writer: refused at once (no hang)', { skip: spawnSync('mkfifo', ['--version']).status === 0 ? false : 'mkfifo missing' }, () => {
    const f = path.join(dir, 'fifo.yaml');
    spawnSync('mkfifo', [f]);
    assertRejected(['run', f, '--gpus', 'sim:1'], /fifo\.yaml: not a batch file: a FIFO/);
  });

  it('a folder, and a file over 1 MiB', () => {
    assertRejected(['run', path.join(dir, 'a-folder'), '--gpus', 'sim:1'], /a-folder: not a batch file: a folder/);
    const big = write('big.yaml', STAGE() + '# ' + 'x'.repeat(1024 * 1024) + '\n');
    assertRejected(['run', big, '--gpus', 'sim:1'], /big\.yaml: too large for a batch file \(at most 1024 KiB\)/);
  });

  it('bytes that are not UTF-8: the line is named', () => {
    const f = write('latin1.yaml', Buffer.concat([Buffer.from('tasks: [{}]\nname: caf'), Buffer.from([0xe9]), Buffer.from('\nstages:\n  sample:\n    cmd: [touch, started]\n')]));
    assertRejected(['run', f, '--gpus', 'sim:1'], /latin1\.yaml:2: not valid UTF-8/);
  });
});

describe('reaper run: caught at validation, not at spawn', () => {
  it('NUL in an argument, an environment value, a task value', () => {
    assertRejected(['run', write('nul-arg.yaml', STAGE('', '[touch, "start\\0ed"]')), '--gpus', 'sim:1'], /nul-arg\.yaml:4: stages\.sample\.cmd: contains a NUL character/);
    assertRejected(['run', write('nul-env.yaml', 'env: { A: "x\\0y" }\n' + STAGE()), '--gpus', 'sim:1'], /nul-env\.yaml:1: env\.A: contains a NUL/);
    assertRejected(['run', write('nul-task.yaml', 'tasks: [{ f: "a\\0" }]\nstages:\n  sample:\n    cmd: [touch, "{f}"]\n'), '--gpus', 'sim:1'], /nul-task\.yaml:1: tasks\[0\]\.f: contains a NUL/);
  });

  it('a missing working folder, also through a task placeholder; a file as the folder', () => {
    assertRejected(['run', write('cwd.yaml', STAGE('    cwd: no-such-folder\n')), '--gpus', 'sim:1'], /cwd\.yaml:3: stages\.sample\.cwd: no such folder: .*no-such-folder/);
    const tpl = 'tasks:\n  - { d: a-folder }\n  - { d: gone }\nstages:\n  sample:\n    cmd: [touch, started]\n    cwd: "{d}"\n';
    assertRejected(['run', write('cwd-task.yaml', tpl), '--gpus', 'sim:1'], /cwd-task\.yaml:5: stages\.sample\.cwd: no such folder \(task 1\): .*gone/);
    assertRejected(['run', write('cwd-file.yaml', STAGE('    cwd: cwd.yaml\n')), '--gpus', 'sim:1'], /stages\.sample\.cwd: not a folder: /);
  });

  it('a folder as the program', () => {
    assertRejected(['run', write('prog-folder.yaml', STAGE('', '[./a-folder, x]')), '--gpus', 'sim:1'], /prog-folder\.yaml:3: stages\.sample\.cmd: the program is a folder: \.\/a-folder/);
    assertRejected(['run', write('prog-abs.yaml', STAGE('', `[${path.join(dir, 'a-folder')}]`)), '--gpus', 'sim:1'], /the program is a folder/);
  });
});

describe('terminal escapes never reach the terminal raw', () => {
  it('in a batch key, a value and a program name', () => {
    const l1 = assertRejected(['run', write('esc-key.yaml', '"\\e[2J\\e]0;pwned\\a": 1\n' + STAGE()), '--gpus', 'sim:1'], /unknown key/);
    assert.ok(l1.includes('\\x1b[2J'), l1);
    const l2 = assertRejected(['run', write('esc-val.yaml', 'order: "\\e[31mred\\u202e"\n' + STAGE()), '--gpus', 'sim:1'], /order: expected pipeline/);
    assert.ok(l2.includes('\\x1b[31mred\\u202e'), l2);
    const l3 = assertRejected(['run', write('esc-prog.yaml', STAGE('', '["\\e]52;c;aGk=\\a-prog"]')), '--gpus', 'sim:1'], /program not found/);
    assert.ok(l3.includes('\\x1b]52'), l3);
    const l4 = assertRejected(['run', write('esc-nl.yaml', '"a\\nb\\rc": 1\n' + STAGE()), '--gpus', 'sim:1'], /a\\nb\\rc/);
    void l4;
  });

  it('in a --match pattern', () => {
    const r = runCli(['ls', '--match', '\u001b[2J\u009b31m(', '--gpus', 'none']);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(!/[\u001b\u009b]/.test(r.stderr), JSON.stringify(r.stderr));
    assert.match(r.stderr, /^reaper: --match: bad regular expression "\\x1b\[2J\\x9b31m\("/);
  });

  it('an unknown command name', () => {
    const r = runCli(['\u001b[2Jboom']);
    assert.equal(r.code, 2);
    assert.ok(!r.stderr.includes('\u001b'), JSON.stringify(r.stderr));
  });
});

describe('run ids', () => {
  it('a --run-id that is taken is refused: exit 2, nothing started, the other run untouched', { timeout: 60_000 }, () => {
    const f = write('twice.yaml', 'tasks: [{}]\nstages:\n  sample:\n    cmd: [sh, -c, "echo ran >> ran-twice"]\n');
    const id = '20261202-000000-abcd';
    const first = runCli(['run', f, '--gpus', 'sim:1', '--run-id', id]);
    assert.equal(first.code, 0, first.stderr);
    const journal = path.join(dir, 'reaper', 'runs', id, 'journal.jsonl');
    const before = readFileSync(journal, 'utf8');
    const again = runCli(['run', f, '--gpus', 'sim:1', '--run-id', id]);
    assert.equal(again.code, 2, again.stderr);
    assert.match(again.stderr, /^reaper: run id 20261202-000000-abcd is already in use/);
    assert.equal(readFileSync(journal, 'utf8'), before, "the first run's journal is untouched");
    assert.equal(readFileSync(path.join(dir, 'ran-twice'), 'utf8'), 'ran\n', 'the second run started nothing');
  });
});

describe('durations in days', () => {
  it('timeout: 30d does not kill the task at once', { timeout: 60_000 }, () => {
    const f = write('days.yaml', 'tasks: [{}]\nstages:\n  sample:\n    cmd: [sh, -c, "sleep 1; touch done-30d"]\n    timeout: 30d\n');
    const r = runCli(['run', f, '--gpus', 'sim:1'], 50_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(existsSync(path.join(dir, 'done-30d')), 'the task ran to its end');
    assert.doesNotMatch(r.stderr, /TimeoutOverflowWarning/);
  });
});
