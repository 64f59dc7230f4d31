/**
 * The screen's batch file (--batch FILE, or ./reaper.yaml found in the folder) is read only when
 * it is a regular file of at most 1 MiB: /dev/zero, a FIFO with no writer, a folder or a huge
 * file is one `reaper:` line and exit 2 for --batch, and a notice for a planted ./reaper.yaml.
 */
import { after, before, describe, test } from 'node:test';
import { CLI_MAX_BUFFER } from '../helpers/wait-for.js';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, ftruncateSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_BATCH_BYTES, parseTopArgs, readBatchText } from '../../src/cli/commands/top.js';
import { isReaperError } from '../../src/model/index.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

describe('batch file of the live screen', () => {
  let dir: string;
  let fifo: string;
  let huge: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'reaper-tui-batch-'));
    fifo = path.join(dir, 'batch.fifo');
    execFileSync('mkfifo', [fifo]);
    huge = path.join(dir, 'huge.yaml');
    const fd = openSync(huge, 'w');
    ftruncateSync(fd, MAX_BATCH_BYTES + 1); // sparse: costs no disk
    closeSync(fd);
    mkdirSync(path.join(dir, 'folder.yaml'));
  });
  after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));

  const usage = (fn: () => unknown, re: RegExp): void => {
    assert.throws(fn, (e: unknown) => isReaperError(e) && e.code === 'USAGE' && re.test(e.message) && !e.message.includes('\n'));
  };

  test('--batch: /dev/zero, a FIFO, a folder and a file over 1 MiB are refused at once with one line', () => {
    const t0 = Date.now();
    usage(() => parseTopArgs(['--batch', '/dev/zero'], dir), /^batch file \/dev\/zero: not a batch file: a character device/);
    usage(() => parseTopArgs(['--batch', fifo], dir), /: not a batch file: a FIFO/);
    usage(() => parseTopArgs(['--batch', 'folder.yaml'], dir), /: not a batch file: a folder/);
    usage(() => parseTopArgs(['--batch', huge], dir), /: too large for a batch file \(at most 1024 KiB\)$/);
    assert.ok(Date.now() - t0 < 2000, 'no read hangs or grows');
    const ok = path.join(dir, 'ok.yaml');
    writeFileSync(ok, 'name: x\n');
    assert.equal(readBatchText(ok), 'name: x\n');
    assert.equal((parseTopArgs(['--batch', ok], dir) as { batchFile: string }).batchFile, ok);
  });

  test('a planted ./reaper.yaml that is no batch file is set aside with a notice, not read', () => {
    const cwd = path.join(dir, 'planted');
    mkdirSync(cwd);
    execFileSync('mkfifo', [path.join(cwd, 'reaper.yaml')]);
    const a = parseTopArgs([], cwd);
    assert.ok(a !== 'help');
    assert.equal(a.batchFile, null);
    assert.match(a.batchNotice ?? '', /^batch file \.\/reaper\.yaml: not a batch file: a FIFO.*: not used/);
  });

  test('a ./reaper.yaml others can write is set aside (it would run anything as you); the same file named with --batch is read', () => {
    const cwd = path.join(dir, 'writable');
    mkdirSync(cwd);
    const f = path.join(cwd, 'reaper.yaml');
    writeFileSync(f, 'name: x\n');
    chmodSync(f, 0o666);
    const a = parseTopArgs([], cwd);
    assert.ok(a !== 'help');
    assert.equal(a.batchFile, null);
    assert.match(a.batchNotice ?? '', /writable by others/);
    const b = parseTopArgs(['--batch', f], cwd);
    assert.ok(b !== 'help');
    assert.equal(b.batchFile, f);
  });

  for (const which of ['/dev/zero', 'fifo', 'huge'] as const) {
    test(`reaper --batch ${which}: exit 2 quickly with one "reaper:" line`, () => {
      const file = which === 'fifo' ? fifo : which === 'huge' ? huge : which;
      const t0 = Date.now();
      const r = spawnSync(process.execPath, [MAIN, '--batch', file], { maxBuffer: CLI_MAX_BUFFER,  encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
      assert.equal(r.signal, null, 'it did not have to be killed');
      assert.equal(r.status, 2, r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^reaper: batch file .*: (not a batch file|too large)/);
      assert.equal(r.stdout, '');
      assert.ok(Date.now() - t0 < 15_000);
    });
  }
});
