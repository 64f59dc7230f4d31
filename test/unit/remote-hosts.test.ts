/** --hosts h1,h2 / --hosts @FILE / the default hosts file: what is accepted, what is refused and how. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isReaperError } from '../../src/model/errors.js';
import { defaultHostsFile, destinationProblem, hostsSource, MAX_HOSTS, parseHostsFile, parseHostsList, readHosts } from '../../src/remote/hosts.js';

/** The one-line usage error `fn` throws. */
function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isReaperError(e), `not a ReaperError: ${String(e)}`);
    assert.equal(e.code, 'USAGE');
    assert.ok(!e.message.includes('\n'), `two lines: ${e.message}`);
    return e.message;
  }
  assert.fail('no error');
}

describe('parseHostsList', () => {
  it('takes destinations separated by commas, with local and spaces around commas', () => {
    assert.deepEqual(parseHostsList('gpu1, alice@gpu2 ,local,ssh://bob@gpu3:2222,[::1],host-4.lab_x'), [
      { name: 'gpu1', local: false, command: null },
      { name: 'alice@gpu2', local: false, command: null },
      { name: 'local', local: true, command: null },
      { name: 'ssh://bob@gpu3:2222', local: false, command: null },
      { name: '[::1]', local: false, command: null },
      { name: 'host-4.lab_x', local: false, command: null },
    ]);
  });

  it('refuses a destination that ssh would read as an option', () => {
    assert.match(usage(() => parseHostsList('gpu1,-oProxyCommand=touch /tmp/x')), /^--hosts: "-oProxyCommand=touch \/tmp\/x" starts with "-": ssh would read it as an option/);
    assert.match(usage(() => parseHostsList('-p')), /starts with "-"/);
    assert.match(usage(() => parseHostsList('alice@-oProxyCommand=x')), /is not a host name/);
  });

  it('refuses empty entries, duplicates, spaces and control characters (shown escaped)', () => {
    assert.equal(usage(() => parseHostsList('gpu1,,gpu2')), '--hosts: entry 2 is empty');
    assert.equal(usage(() => parseHostsList('')), '--hosts: entry 1 is empty');
    assert.equal(usage(() => parseHostsList('gpu1,gpu1')), '--hosts: host "gpu1" is listed twice');
    assert.match(usage(() => parseHostsList('gpu 1')), /contains spaces or control characters/);
    const msg = usage(() => parseHostsList('gpu\x1b[31m1'));
    assert.ok(!msg.includes('\x1b'), msg);
    assert.match(msg, /\\x1b/);
    assert.match(usage(() => parseHostsList('ssh://gpu:99999')), /port out of range/);
    assert.match(usage(() => parseHostsList('gpu;rm')), /not a host name/);
    assert.match(usage(() => parseHostsList('x'.repeat(300))), /longer than 255/);
  });

  it(`refuses more than ${MAX_HOSTS} hosts`, () => {
    const many = Array.from({ length: MAX_HOSTS + 1 }, (_, i) => `h${i}`).join(',');
    assert.match(usage(() => parseHostsList(many)), new RegExp(`${MAX_HOSTS + 1} hosts, more than ${MAX_HOSTS}`));
  });

  it('destinationProblem accepts what ssh accepts as a plain destination', () => {
    for (const ok of ['a', 'gpu01.example.org', 'me@10.0.0.7', 'local', 'ssh://h', 'ssh://u@h:22']) assert.equal(destinationProblem(ok), null, ok);
  });
});

describe('parseHostsFile', () => {
  it('one destination per line, an optional command after it, comments and blank lines', () => {
    const text = [
      '# the lab',
      'gpu1',
      '  alice@gpu2   /opt/reaper/bin/reaper   # its own build',
      '',
      'gpu3 node /home/me/reaper/dist/src/cli/main.js',
      'local\r',
    ].join('\n');
    assert.deepEqual(parseHostsFile(text, 'hosts'), [
      { name: 'gpu1', local: false, command: null },
      { name: 'alice@gpu2', local: false, command: '/opt/reaper/bin/reaper' },
      { name: 'gpu3', local: false, command: 'node /home/me/reaper/dist/src/cli/main.js' },
      { name: 'local', local: true, command: null },
    ]);
    // '#' starts a comment only at the start of a word: inside one it is a bad host name.
    assert.match(usage(() => parseHostsFile('gpu#4\n', 'h')), /line 1: "gpu#4" is not a host name/);
  });

  it('names the file and the line of a bad entry', () => {
    assert.equal(usage(() => parseHostsFile('gpu1\n-oProxyCommand=sh\n', '/etc/h')), 'hosts file "/etc/h" line 2: "-oProxyCommand=sh" starts with "-": ssh would read it as an option, not a host');
    assert.match(usage(() => parseHostsFile('gpu1 reaper\x07\n', 'f')), /^hosts file "f" line 1: the command contains control characters$/);
    assert.match(usage(() => parseHostsFile('local reaper\n', 'f')), /line 1: "local" is this reaper; it takes no command/);
    assert.equal(usage(() => parseHostsFile('# nothing\n\n', 'f')), 'hosts file "f": no hosts');
    assert.equal(usage(() => parseHostsFile('a\nb\na x\n', 'f')), 'hosts file "f": host "a" is listed twice');
  });
});

describe('where the list comes from', () => {
  it('the default file follows XDG_CONFIG_HOME, else ~/.config', () => {
    assert.equal(defaultHostsFile({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/a' }), '/x/cfg/reaper/hosts');
    assert.equal(defaultHostsFile({ XDG_CONFIG_HOME: 'relative', HOME: '/home/a' }), '/home/a/.config/reaper/hosts');
    assert.equal(defaultHostsFile({ HOME: '/home/a' }), '/home/a/.config/reaper/hosts');
  });

  it('--hosts @FILE, a list, or the default file', () => {
    assert.deepEqual(hostsSource('@/tmp/h', {}), { kind: 'file', path: '/tmp/h', explicit: true });
    assert.deepEqual(hostsSource('a,b', {}), { kind: 'list', text: 'a,b' });
    assert.deepEqual(hostsSource(undefined, { XDG_CONFIG_HOME: '/c' }), { kind: 'file', path: '/c/reaper/hosts', explicit: false });
    assert.equal(usage(() => hostsSource('@', {})), '--hosts @FILE: the file name is missing');
  });

  it('readHosts: no default file is "one machine"; a missing, a folder or a FIFO named by @ is an error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reaper-hosts-'));
    try {
      assert.equal(readHosts(undefined, { XDG_CONFIG_HOME: dir }), null);
      mkdirSync(join(dir, 'reaper'));
      writeFileSync(join(dir, 'reaper', 'hosts'), 'gpu1\ngpu2 ~/.local/bin/reaper\n');
      assert.deepEqual(
        readHosts(undefined, { XDG_CONFIG_HOME: dir })?.map((h) => [h.name, h.command]),
        [
          ['gpu1', null],
          ['gpu2', '~/.local/bin/reaper'],
        ],
      );
      assert.deepEqual(readHosts(`@${join(dir, 'reaper', 'hosts')}`, {})?.length, 2);
      assert.match(usage(() => readHosts(`@${join(dir, 'nope')}`, {})), /: no such file$/);
      assert.match(usage(() => readHosts(`@${dir}`, {})), /: not a regular file$/);
      const fifo = join(dir, 'fifo');
      const mk = spawnMkfifo(fifo);
      if (mk) assert.match(usage(() => readHosts(`@${fifo}`, {})), /: not a regular file$/);
      writeFileSync(join(dir, 'big'), 'a\n'.repeat(200_000));
      assert.match(usage(() => readHosts(`@${join(dir, 'big')}`, {})), /over 256 KiB/);
    } finally {
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    }
  });
});

function spawnMkfifo(p: string): boolean {
  return spawnSync('mkfifo', [p]).status === 0;
}
