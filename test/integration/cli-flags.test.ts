/**
 * Bad input on every command: one `reaper:` line on stderr, exit 2, nothing on stdout, nothing
 * started. Numbers are plain decimal, finite and in range; boolean flags take no value; string
 * flags need one; commands take no stray arguments.
 */
import assert from 'node:assert/strict';
import { CLI_MAX_BUFFER } from '../helpers/wait-for.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const state = mkdtempSync(path.join(tmpdir(), 'reaper-flags-'));
let own: ChildProcess;

before(() => {
  // A process of this test: the only one a (wrongly accepted) reap could ever select here.
  own = spawn('sleep', ['600'], { stdio: 'ignore' });
});
after(() => {
  own.kill('SIGKILL');
  rmSync(state, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
});

function reaper(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { maxBuffer: CLI_MAX_BUFFER, 
    encoding: 'utf8',
    timeout: 60_000,
    input: '',
    env: { ...process.env, NO_COLOR: '1', XDG_STATE_HOME: state },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function rejects(args: string[], why: RegExp): void {
  const r = reaper(args);
  const what = `reaper ${args.join(' ')}`;
  assert.equal(r.code, 2, `${what}: exit ${r.code}; stderr: ${r.stderr}; stdout: ${r.stdout.slice(0, 200)}`);
  assert.equal(r.stdout, '', what);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `${what}: ${r.stderr}`);
  assert.match(r.stderr, /^reaper: /, what);
  assert.match(r.stderr, why, what);
}

test('numbers: exponents, hex, infinities, huge and out-of-range values are refused', () => {
  // Each reap also narrows to this test's own process and is a dry run: nothing can be signalled.
  const safe = ['--dry-run', '--pid', String(own.pid), '--gpus', 'none'];
  for (const g of ['1e29', '100000000000000000000000000000', 'Infinity', '0x10', '-1', '1.5e3', '5s', '86401', '']) {
    rejects(['reap', `--grace=${g}`, ...safe], /--grace (expects seconds|must be between|needs a value)/);
  }
  rejects(['reap', '--dry-run', '--pid', '99999999999999999999', '--gpus', 'none'], /--pid expects an integer/);
  rejects(['reap', '--dry-run', '--pid', '4294967297', '--gpus', 'none'], /--pid must be <=/);
  rejects(['ls', '--gpu', '1e3', '--gpus', 'none'], /--gpu expects an integer/);
  rejects(['stop', 'nosuchrun', '--wait', '1e9'], /--wait expects seconds/);
  rejects(['stop', 'nosuchrun', '--wait', '9999999'], /--wait must be between/);
  rejects(['top', '--interval', '1e1', '--readonly'], /--interval expects seconds/);
});

test('boolean flags take no value', () => {
  rejects(['ls', '--json=1', '--gpus', 'none'], /--json takes no value/);
  rejects(['ls', '--json=', '--gpus', 'none'], /--json takes no value/);
  rejects(['ls', '--no-json=1', '--gpus', 'none'], /--no-json takes no value/);
  rejects(['ls', '--all=yes', '--gpus', 'none'], /--all takes no value/);
  rejects(['doctor', '--json=1', '--gpus', 'none'], /--json takes no value/);
  rejects(['reap', '--dry-run=1', '--pid', String(own.pid), '--gpus', 'none'], /--dry-run takes no value/);
  rejects(['reap', '--yes=false', '--dry-run', '--pid', String(own.pid), '--gpus', 'none'], /--yes takes no value/);
  rejects(['stop', 'nosuchrun', '--kill=0'], /--kill takes no value/);
  rejects(['top', '--readonly=1'], /--readonly takes no value/);
  rejects(['run', '/nonexistent/batch.yaml', '--detach=1'], /--detach takes no value/);
});

test('string flags need a value', () => {
  rejects(['ls', '--pid', '--json', '--gpus', 'none'], /--pid needs a value/);
  rejects(['doctor', '--gpus='], /--gpus needs a value/);
  rejects(['doctor', '--containment', '--json'], /--containment needs a value/);
  rejects(['top', '--batch=', '--readonly'], /--batch needs a/);
});

test('commands that take no arguments refuse extras', () => {
  rejects(['doctor', 'extra'], /doctor takes no arguments, got "extra"/);
  rejects(['doctor', '--json', 'extra', '--gpus', 'none'], /doctor takes no arguments/);
  rejects(['ls', 'extra', '--gpus', 'none'], /ls takes no arguments/);
  rejects(['reap', 'extra', '--dry-run', '--pid', String(own.pid)], /reap takes no arguments/);
});

test('the operator\'s text in a usage error is sanitised', () => {
  rejects(['ls', '--gpus', 'sim:\x1b[2J\u009b31m\u202e'], /sim:\\x1b\[2J\\x9b31m\\u202e/);
  rejects(['ls', '--\x1b]0;x\x07', '--gpus', 'none'], /unknown flag --\\x1b\]0;x\\x07/);
});

test('good values are still accepted', () => {
  const ok = reaper(['reap', '--grace', '0.5', '--dry-run', '--pid', String(own.pid), '--gpus', 'none', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(reaper(['ls', '--json', '--gpus', 'none', '--pid', String(own.pid)]).code, 0);
  assert.equal(reaper(['ls', '--no-json', '--gpus', 'none', '--pid', String(own.pid)]).code, 0);
  assert.equal(reaper(['doctor', '--json', '--gpus', 'none']).code, 0);
});
