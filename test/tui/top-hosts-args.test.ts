/**
 * The screen reads the default hosts file only when asked (`--hosts` alone), as `ls` does: a
 * hosts file on disk never turns a plain `reaper` into a several-host screen.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseTopArgs } from '../../src/cli/commands/top.js';
import { isReaperError } from '../../src/model/errors.js';

test('plain reaper stays on this machine; --hosts alone reads the hosts file; --hosts LIST wins', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'reaper-top-hosts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
  const env = { ...process.env, XDG_CONFIG_HOME: dir };
  const args = (argv: string[]) => {
    const a = parseTopArgs(argv, dir, env);
    assert.notEqual(a, 'help');
    return a as Exclude<typeof a, 'help'>;
  };
  // No hosts file: --hosts alone is bad input, plain reaper is fine.
  assert.equal(args([]).hosts, undefined);
  assert.throws(() => parseTopArgs(['--hosts'], dir, env), (e: unknown) => isReaperError(e) && /hosts file/.test(e.message));
  mkdirSync(path.join(dir, 'reaper'));
  writeFileSync(path.join(dir, 'reaper', 'hosts'), 'gpu1\ngpu2 ~/.local/bin/reaper\n');
  assert.equal(args([]).hosts, undefined, 'a hosts file alone changes nothing');
  assert.deepEqual(args(['--hosts']).hosts?.map((h) => h.name), ['gpu1', 'gpu2']);
  assert.deepEqual(args(['--hosts', '--all']).hosts?.map((h) => h.name), ['gpu1', 'gpu2'], '--hosts followed by a flag');
  assert.deepEqual(args(['--hosts', 'gpu3,local']).hosts?.map((h) => h.name), ['gpu3', 'local']);
});
