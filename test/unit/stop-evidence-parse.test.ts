import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { daemonOf, serviceUnit } from '../../src/analysis/index.js';
import { parseCgroupText } from '../../src/probe/proc-cgroup.js';
import { isTerminalPath, parseSyscallLine } from '../../src/probe/proc-stop-evidence.js';
import { proc } from '../helpers/reap-fake.js';

describe('parseSyscallLine', () => {
  const rows: Array<[string, string, ReturnType<typeof parseSyscallLine>]> = [
    ['0 0x0 0x7ffd3c 0x400 0x0 0x0 0x0 0x7ffd30 0x7f12ab', 'x64', { call: 'read', fd: 0 }],
    ['1 0x1 0x55aa 0x10 0x0 0x0 0x0 0x7ffd30 0x7f12ab', 'x64', { call: 'write', fd: 1 }],
    ['16 0x3 0x5402 0x7ffd 0x0 0x0 0x0 0x7ffd30 0x7f12ab', 'x64', { call: 'ioctl', fd: 3 }],
    ['230 0x0 0x0 0x7ffd 0x0 0x0 0x0 0x7ffd30 0x7f12ab', 'x64', { call: 'other', fd: null }],
    ['63 0x0 0xffff 0x400 0x0 0x0 0x0 0xffffd0 0xffff12', 'arm64', { call: 'read', fd: 0 }],
    ['0 0x0 0xffff 0x400 0x0 0x0 0x0 0xffffd0 0xffff12', 'arm64', { call: 'other', fd: null }],
    ['-1 0x7ffd30 0x7f12ab', 'x64', { call: 'user', fd: null }],
    ['running', 'x64', null],
    ['', 'x64', null],
    ['0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0', 'riscv64', { call: 'other', fd: null }],
  ];
  for (const [line, arch, want] of rows) it(`${arch}: ${line || '(empty)'}`, () => assert.deepEqual(parseSyscallLine(line, arch), want));
});

describe('terminal paths, cgroups, services', () => {
  it('isTerminalPath', () => {
    for (const p of ['/dev/pts/3', '/dev/tty', '/dev/tty1', '/dev/ttyS0', '/dev/console']) assert.ok(isTerminalPath(p), p);
    for (const p of ['pipe:[123]', 'socket:[9]', '/dev/null', '/dev/pts/ptmx', '/tmp/dev/pts/3']) assert.ok(!isTerminalPath(p), p);
  });
  it('parseCgroupText: v2 line, else v1 name=systemd', () => {
    assert.equal(parseCgroupText('0::/system.slice/slurmd.service\n'), '/system.slice/slurmd.service');
    assert.equal(parseCgroupText('12:pids:/x\n1:name=systemd:/system.slice/sshd.service\n0::/\n'), '/');
    assert.equal(parseCgroupText('12:pids:/x\n1:name=systemd:/system.slice/sshd.service\n'), '/system.slice/sshd.service');
    assert.equal(parseCgroupText('3:cpu:/\n'), null);
  });
  it('serviceUnit: only a leaf .service (a login session scope or a user manager path is not one)', () => {
    assert.equal(serviceUnit('/system.slice/slurmd.service'), 'slurmd.service');
    assert.equal(serviceUnit('/user.slice/user-1000.slice/user@1000.service/app.slice/jupyter.service'), 'jupyter.service');
    assert.equal(serviceUnit('/user.slice/user-1000.slice/session-4.scope'), null);
    assert.equal(serviceUnit('/user.slice/user-1000.slice/user@1000.service/app.slice/vte-spawn-1.scope'), null);
    assert.equal(serviceUnit('/sys/fs/cgroup/reaper/20261128-ab12/0'), null);
    assert.equal(serviceUnit(null), null);
  });
  it('daemonOf: known names and services', () => {
    assert.match(daemonOf(proc({ pid: 5, comm: 'slurmstepd' }))!, /system daemon \(slurmstepd\)/);
    assert.match(daemonOf(proc({ pid: 5, comm: 'python3', cgroup: '/system.slice/triton.service' }))!, /service triton\.service/);
    assert.equal(daemonOf(proc({ pid: 5, comm: 'python3', cgroup: '/user.slice/user-0.slice/session-3.scope' })), null);
  });
});
