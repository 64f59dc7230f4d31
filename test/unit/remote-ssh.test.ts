/**
 * The SSH transport's pure parts: the ssh argv (BatchMode first, `--` before the destination, the
 * ControlMaster folder), quoting for the remote shell, failure classification on the texts
 * OpenSSH 9.2 printed in the hosts lab, the capped line reader, the private control folder.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildSshArgv,
  classifySshOutcome,
  CONTROL_DIR_MAX,
  controlDirCandidates,
  createLineReader,
  openControlDir,
  remoteCommand,
  shellQuote,
  type SshOutcome,
} from '../../src/remote/ssh.js';

const host = { name: 'gpu1', local: false };

function outcome(o: Partial<SshOutcome>): SshOutcome {
  return {
    host: 'gpu1',
    argv: ['ssh'],
    exitCode: 0,
    signal: null,
    stdout: '',
    stderr: '',
    spawnError: null,
    timedOut: false,
    truncated: false,
    oversizedLine: false,
    killedByUs: false,
    ms: 10,
    ...o,
  };
}

describe('buildSshArgv', () => {
  it('BatchMode before anything the caller adds, the destination after --, multiplexing in the given folder', () => {
    const argv = buildSshArgv(host, 'reaper ls --json', { controlDir: '/run/user/0/reaper/ssh', sshArgs: ['-o', 'BatchMode=no', '-F', '/cfg'], connectTimeoutS: 3 });
    assert.equal(argv[0], 'ssh');
    assert.ok(argv.indexOf('BatchMode=yes') < argv.indexOf('BatchMode=no'), 'ssh keeps the first value: ours');
    assert.ok(argv.includes('ConnectTimeout=3'));
    assert.ok(argv.includes('ControlMaster=auto'));
    assert.ok(argv.includes('ControlPath=/run/user/0/reaper/ssh/%C'));
    assert.ok(argv.some((a) => /^ControlPersist=\d+$/.test(a)));
    assert.deepEqual(argv.slice(-3), ['--', 'gpu1', 'reaper ls --json']);
  });

  it('no folder: no multiplexing at all (not even a master from the user config)', () => {
    const argv = buildSshArgv(host, 'true', {});
    assert.ok(argv.includes('ControlMaster=no') && argv.includes('ControlPath=none'));
  });

  it('local runs /bin/sh; a destination starting with - is refused even here', () => {
    assert.deepEqual(buildSshArgv({ name: 'local', local: true }, 'echo hi', {}), ['/bin/sh', '-c', 'echo hi']);
    assert.throws(() => buildSshArgv({ name: '-oProxyCommand=x', local: false }, 'true', {}));
  });
});

describe('quoting for the remote shell', () => {
  it('every word comes back exactly from /bin/sh', () => {
    const words = ['plain', '', 'two words', "it's", '$(touch /tmp/x)', '`id`', 'a\nb', '*', '--json', '~', '"q"', '\\'];
    const r = spawnSync('/bin/sh', ['-c', remoteCommand("printf '%s\\0'", words)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\0').slice(0, -1), words);
    assert.equal(shellQuote('ls'), 'ls');
    assert.equal(shellQuote('a b'), "'a b'");
  });
});

describe('classifySshOutcome', () => {
  // stderr as OpenSSH 9.2 printed it in the hosts lab.
  const cases: [string, Partial<SshOutcome>, string, RegExp][] = [
    ['dead host', { exitCode: 255, stderr: 'ssh: connect to host 127.0.0.1 port 2299: Connection refused\r\n' }, 'refused', /^connection refused/],
    ['unknown name', { exitCode: 255, stderr: 'ssh: Could not resolve hostname nosuch.invalid: Name or service not known\n' }, 'unreachable', /nosuch\.invalid/],
    ['banner timeout', { exitCode: 255, stderr: 'Connection timed out during banner exchange\n' }, 'timeout', /no answer to connect/],
    ['server hung up', { exitCode: 255, stderr: 'kex_exchange_identification: Connection closed by remote host\n' }, 'unreachable', /kex_exchange/],
    ['key refused', { exitCode: 255, stderr: 'reaperlab@127.0.0.1: Permission denied (publickey).\n' }, 'auth', /key was refused/],
    [
      'unknown host key',
      { exitCode: 255, stderr: 'No ED25519 host key is known for [127.0.0.1]:2201 and you have requested strict checking.\nHost key verification failed.\n' },
      'host-key',
      /unknown/,
    ],
    [
      'changed host key',
      {
        exitCode: 255,
        stderr:
          '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\nIT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\nHost key for host2 has changed and you have requested strict checking.\nHost key verification failed.\n',
      },
      'host-key',
      /has changed/,
    ],
    ['remote command missing', { exitCode: 127, stderr: 'bash: line 1: reaper: command not found\n' }, 'command-missing', /reaper: command not found/],
    ['remote killed by a signal', { exitCode: 255, stderr: '' }, 'killed', /without an exit status/],
    ['connection lost', { exitCode: 255, stderr: 'Connection to host1 closed by remote host.\n' }, 'killed', /connection was lost/],
    ['our deadline', { exitCode: null, signal: 'SIGKILL', timedOut: true, ms: 2004 }, 'timeout', /no answer within 2\.0 s/],
    ['output cap', { exitCode: null, signal: 'SIGKILL', truncated: true }, 'too-large', /size limit/],
    ['line cap', { exitCode: null, signal: 'SIGKILL', oversizedLine: true }, 'garbage', /line over the size limit/],
    ['no ssh', { exitCode: null, spawnError: 'ENOENT' }, 'ssh-missing', /not installed/],
    ['remote failure', { exitCode: 2, stderr: 'reaper: unknown flag --x\n' }, 'remote-exit', /^exit 2 \(reaper: unknown flag --x\)$/],
  ];
  for (const [what, o, kind, re] of cases) {
    it(`${what} → ${kind}`, () => {
      const e = classifySshOutcome(outcome(o));
      assert.equal(e?.kind, kind, JSON.stringify(e));
      assert.match(e.message, re);
      assert.ok(!/[\n\r\x1b]/.test(e.message));
      assert.ok(e.message.length <= 240);
    });
  }

  it('success, and exit codes the caller accepts, are null; a remote escape sequence is shown escaped', () => {
    assert.equal(classifySshOutcome(outcome({ exitCode: 0 })), null);
    assert.equal(classifySshOutcome(outcome({ exitCode: 1 }), [0, 1]), null);
    const e = classifySshOutcome(outcome({ exitCode: 3, stderr: 'evil \x1b]0;owned\x07 \u202e text\n' }));
    assert.ok(e && !e.message.includes('\x1b') && !e.message.includes('\u202e'), e?.message);
    assert.match(e.message, /\\x1b\]0;owned\\x07/);
  });
});

describe('createLineReader', () => {
  it('splits lines across chunks and hands back an unterminated tail', () => {
    const lines: string[] = [];
    const r = createLineReader(100, (l) => lines.push(l), () => assert.fail('no oversize'));
    for (const c of ['a', 'b\nc', 'd\n\nééé'.slice(0, 6), 'é\nta', 'il']) r.push(Buffer.from(c));
    assert.deepEqual(lines, ['ab', 'cd', '', 'éééé']);
    assert.equal(r.end(), 'tail');
  });

  it('a multi-byte character split between chunks stays whole', () => {
    const lines: string[] = [];
    const r = createLineReader(100, (l) => lines.push(l), () => {});
    const b = Buffer.from('€\n');
    r.push(b.subarray(0, 1));
    r.push(b.subarray(1));
    assert.deepEqual(lines, ['€']);
  });

  it('a 1 GiB line is reported once and never held: memory stays flat, the next line still arrives', () => {
    const lines: string[] = [];
    let oversize = 0;
    const r = createLineReader(1024 * 1024, (l) => lines.push(l), () => oversize++);
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    global.gc?.();
    const before = process.memoryUsage();
    let peak = 0;
    for (let i = 0; i < 1024; i++) {
      r.push(chunk);
      if (i % 64 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers - before.arrayBuffers);
    }
    r.push(Buffer.from('\nnext\n'));
    assert.equal(oversize, 1);
    assert.deepEqual(lines, ['next']);
    assert.ok(peak < 64 * 1024 * 1024, `buffers grew by ${peak} bytes`);
    assert.equal(r.end(), null);
  });

  it('a line of exactly the cap passes; one byte more does not', () => {
    const lines: string[] = [];
    let over = 0;
    const r = createLineReader(4, (l) => lines.push(l), () => over++);
    r.push(Buffer.from('abcd\nabcde\nok\n'));
    assert.deepEqual(lines, ['abcd', 'ok']);
    assert.equal(over, 1);
  });
});

describe('the ControlMaster folder', () => {
  it('candidates too long for a unix socket path are left out', () => {
    const long = `/${'x'.repeat(CONTROL_DIR_MAX)}`;
    const c = controlDirCandidates({ XDG_RUNTIME_DIR: long, XDG_STATE_HOME: '/s' }, 0, '/tmp');
    assert.deepEqual(
      c.map((x) => join(x.base, ...x.own)),
      ['/s/reaper/ssh', '/tmp/reaper-0-ssh'],
    );
    // 108 bytes of sun_path: <dir>/<40 hex>.<16 random> plus the NUL must fit.
    assert.ok(CONTROL_DIR_MAX + 1 + 40 + 17 + 1 <= 108);
    assert.deepEqual(controlDirCandidates({ XDG_RUNTIME_DIR: '/run/a%b', XDG_STATE_HOME: '/s' }, 0, '/tmp').length, 2);
  });

  it('is created 0700, tightened if looser, and a symlink planted in its place is refused (next candidate)', () => {
    const dir = mkdtempSync(join('/tmp', 'rcd-'));
    try {
      const rt = join(dir, 'rt');
      const st = join(dir, 'st');
      mkdirSync(rt);
      mkdirSync(join(dir, 'elsewhere'));
      symlinkSync(join(dir, 'elsewhere'), join(rt, 'reaper'));
      const got = openControlDir({ XDG_RUNTIME_DIR: rt, XDG_STATE_HOME: st });
      assert.equal(got.dir, join(st, 'reaper', 'ssh'));
      assert.equal(lstatSync(got.dir).mode & 0o777, 0o700);
      assert.equal(lstatSync(join(dir, 'elsewhere')).nlink, 2, 'nothing was created through the link');
      rmSync(join(rt, 'reaper'));
      mkdirSync(join(rt, 'reaper'), { mode: 0o755 });
      const again = openControlDir({ XDG_RUNTIME_DIR: rt, XDG_STATE_HOME: st });
      assert.equal(again.dir, join(rt, 'reaper', 'ssh'));
      assert.equal(lstatSync(join(rt, 'reaper')).mode & 0o777, 0o700);
    } finally {
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    }
  });
});

