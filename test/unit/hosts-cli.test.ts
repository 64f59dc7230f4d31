/**
 * The pure parts of the commands over several hosts: a host's `ls --json` checked field by field
 * (the schema handshake, garbage, oversize, hostile strings), the merge (host on every row,
 * hosts[] status), the text (HOST column, one line per failing host), a host's reap plan checked
 * before anything is acted on, the exit codes, and the install checks (ELF header, uname).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildLsDocument } from '../../src/cli/render/ls-json.js';
import { checkLsText, checkLsValue } from '../../src/cli/hosts/ls-validate.js';
import { mergeLs, lsHostsExitCode, type HostLsResult } from '../../src/cli/hosts/ls-merge.js';
import { hostFailureLine, renderLsHostsText } from '../../src/cli/render/ls-hosts.js';
import { checkPlanText } from '../../src/cli/hosts/reap-validate.js';
import { hostReapExitCode, renderHostPlanText, renderHostResultLine } from '../../src/cli/render/reap-hosts.js';
import { installScript, parseElfPlatform, parseUname, samePlatform } from '../../src/cli/hosts/install-host.js';
import { sanitizeJsonValue, sanitizeLines } from '../../src/cli/hosts/stop-host.js';
import { EXIT_HOST_FAILED, forEachHost, hostError, MAX_PARALLEL_HOSTS } from '../../src/cli/hosts/fanout.js';
import { LS_SCHEMA } from '../../src/cli/hosts/version.js';
import { fakeGpuState, fakeProc, fakeSnapshot } from '../helpers/proc-fake.js';

const ESC = '\x1b';

/** What `reaper ls --json` prints on a host: the real document builder over a fake snapshot. */
function hostDoc(procs: ReturnType<typeof fakeProc>[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const snap = fakeSnapshot(procs, fakeGpuState(1, [{ gpuUuid: 'GPU-00000000-aaaa-bbbb-cccc-dddddddddddd', pid: procs[0]!.pid, processName: 'python', usedMemoryMiB: 512 }]));
  const verdicts = new Map([[procs[procs.length - 1]!.pid, { reasons: [{ code: 'stopped', text: 'stopped (T): by a signal' }] }]]);
  return {
    reaperVersion: '0.1.0',
    lsSchema: LS_SCHEMA,
    ...buildLsDocument(snap, { selection: { kind: 'all' }, verdicts }),
    runs: [],
    slurm: { asked: false, error: null },
    ...extra,
  };
}

const h1procs = [fakeProc({ pid: 10, ppid: 1, cmd: 'python driver.py' }), fakeProc({ pid: 11, ppid: 10, state: 'T', stat: 'Tl', cmd: 'python worker.py' })];
const h2procs = [fakeProc({ pid: 10, ppid: 1, cmd: `evil ${ESC}]0;owned${ESC}\\ \u202eexe.txt` })];
const wire = (doc: unknown): string => JSON.stringify(doc);

describe('a host\'s ls --json, checked', () => {
  it('accepts what ls --json really prints, round-tripped through JSON', () => {
    const c = checkLsText(wire(hostDoc(h1procs)), 'h1');
    assert.ok(c.ok, c.ok ? '' : c.error.message);
    assert.deepEqual(c.doc.processes.map((p) => p.pid), [10, 11]);
    assert.equal(c.doc.processes[1]!.leftover?.reasons[0]?.code, 'stopped');
    assert.equal(c.doc.gpus.length, 1);
    assert.equal(c.doc.reaperVersion, '0.1.0');
  });

  it('garbage, an empty answer, a JSON list: the host\'s garbage error with what it said', () => {
    for (const [text, want] of [['notjson ls --json', /not JSON: "notjson ls --json"/], ['', /empty answer/], ['[1,2]', /not a JSON object/]] as const) {
      const c = checkLsText(text, 'h');
      assert.ok(!c.ok);
      assert.equal(c.error.kind, 'garbage');
      assert.match(c.error.message, want);
    }
  });

  it('no lsSchema (an older reaper) or another one: one incompatible error naming both and the fix', () => {
    const old = hostDoc(h1procs);
    delete old.lsSchema;
    const c = checkLsValue(JSON.parse(wire(old)), 'gpu2');
    assert.ok(!c.ok);
    assert.equal(c.error.kind, 'incompatible');
    assert.match(c.error.message, /reaper 0\.1\.0 there prints ls --json no schema \(an older reaper\), this reaper reads schema 1: install a matching one \(reaper install --host gpu2\)/);
    const newer = checkLsValue({ ...hostDoc(h1procs), lsSchema: 7, reaperVersion: 'x'.repeat(500) }, 'gpu2');
    assert.ok(!newer.ok);
    assert.match(newer.error.message, /schema 7/);
    assert.ok(newer.error.message.length <= 240);
  });

  it('a wrong type, an out-of-range pid or a pid listed twice rejects the whole document with the field', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- hostile documents of any shape
    const cases: Array<[(d: any) => void, RegExp]> = [
      [(d) => (d.processes[0].pid = '10'), /processes\[0\]\.pid: not an integer/],
      [(d) => (d.processes[0].pid = 99_999_999), /processes\[0\]\.pid/],
      [(d) => (d.processes[1].pid = 10), /pid 10 listed twice/],
      [(d) => (d.processes[0].argv = 'python'), /processes\[0\]\.argv: not a list/],
      [(d) => (d.runs = [{ id: 'r' }]), /runs\[0\]\.tasks: not an object/],
      [(d) => (d.gpus[0].utilizationGpu = 1e9), /gpus\[0\]\.utilizationGpu/],
      [(d) => (d.processes = new Array(200_001).fill(0)), /more than 200000/],
    ];
    for (const [mutate, want] of cases) {
      const d = JSON.parse(wire(hostDoc(h1procs)));
      mutate(d);
      const c = checkLsValue(d, 'h');
      assert.ok(!c.ok, String(want));
      assert.equal(c.error.kind, 'garbage');
      assert.match(c.error.message, want);
    }
  });

  it('every string is sanitised and capped: an escape sequence arrives as text, a 1 MB command as 4,096 characters', () => {
    const d = hostDoc(h2procs);
    const p0 = (d.processes as Array<Record<string, unknown>>)[0]!;
    p0.argv = ['x'.repeat(1_000_000)];
    p0.user = `ana${ESC}[2J`;
    const c = checkLsText(wire(d), 'h2');
    assert.ok(c.ok);
    const p = c.doc.processes[0]!;
    assert.ok(!p.cmd.includes(ESC) && !p.cmd.includes('\u202e'), p.cmd);
    assert.equal(p.cmd, 'evil \\x1b]0;owned\\x1b\\ \\u202eexe.txt');
    assert.equal(p.user, 'ana\\x1b[2J');
    assert.equal(p.argv![0]!.length, 4096);
    assert.ok(p.argv![0]!.endsWith('…'));
  });

  it('an answer over the size cap is too-large, before it is parsed', () => {
    const c = checkLsText(' '.repeat(64 * 1024 * 1024 + 1), 'h');
    assert.ok(!c.ok);
    assert.equal(c.error.kind, 'too-large');
  });
});

function results(): HostLsResult[] {
  const ok = (name: string, procs: typeof h1procs, ms: number): HostLsResult => {
    const c = checkLsValue(JSON.parse(wire(hostDoc(procs, { runs: [{ id: '20261202-010101-abcd', name: 'eval', state: 'crashed', live: false, startedAtMs: 1, endedAtMs: null, processes: 1, tasks: { running: 0, succeeded: 0, failed: 1, pending: 0 }, backend: 'local', launcherGone: true, jobs: [], jobsLeft: null, flag: 'launcher gone, 1 process left (reaper reap --run 20261202-010101-abcd)' }] }))), name);
    assert.ok(c.ok);
    return { name, latencyMs: ms, doc: c.doc, error: null };
  };
  return [ok('h1', h1procs, 12), { name: 'h2', latencyMs: 3, doc: null, error: hostError('refused', 'connection refused: nothing listens there (connect to host 10.0.0.2 port 22: Connection refused)') }, ok('h3', h2procs, 40)];
}

describe('merge', () => {
  it('every process, GPU and run carries its host; hosts[] says who answered, how fast, with which reaper', () => {
    const m = mergeLs(results(), '0.1.0');
    assert.equal(m.lsSchema, LS_SCHEMA);
    assert.deepEqual(m.processes.map((p) => `${p.host}:${p.pid}`), ['h1:10', 'h1:11', 'h3:10']);
    assert.deepEqual(m.gpus.map((g) => g.host), ['h1', 'h3']);
    assert.deepEqual(m.runs.map((r) => r.host), ['h1', 'h3']);
    assert.deepEqual(Object.keys(m.processes[0]!)[0], 'host');
    assert.deepEqual(
      m.hosts.map((h) => [h.name, h.ok, h.error?.kind ?? null, h.latencyMs, h.reaperVersion]),
      [['h1', true, null, 12, '0.1.0'], ['h2', false, 'refused', 3, null], ['h3', true, null, 40, '0.1.0']],
    );
    assert.equal(lsHostsExitCode(m, EXIT_HOST_FAILED), EXIT_HOST_FAILED);
    assert.equal(lsHostsExitCode(mergeLs([results()[0]!], '0.1.0'), EXIT_HOST_FAILED), 0);
  });
});

describe('text', () => {
  it('a HOST column, each host its own forest, its runs, then one line per failing host', () => {
    const text = renderLsHostsText(mergeLs(results(), '0.1.0'));
    const lines = text.split('\n');
    assert.match(lines[0]!, /^HOST\s+PID USER\s+STAT\s+%CPU\s+RSS GPU GPUMEM\s+ELAPSED REASONS\s+COMMAND$/);
    assert.match(lines[1]!, /^h1\s+10 \S+\s+S .* python driver\.py$/);
    assert.match(lines[2]!, /^h1\s+! +11 .*stopped\s+\\_ python worker\.py$/);
    assert.match(lines[3]!, /^h3\s+!\s+10 .* evil \\x1b\]0;owned/);
    assert.ok(!text.includes(ESC) && !text.includes('\u202e'), 'nothing from a host reaches the terminal raw');
    assert.ok(lines.includes('h1: run 20261202-010101-abcd eval: crashed, launcher gone, 1 process left (reaper reap --run 20261202-010101-abcd); tasks 0 ok, 1 failed, 0 running, 0 pending'), text);
    assert.equal(lines.filter((l) => l.startsWith('h2')).length, 1);
    assert.ok(lines.includes('h2: connection refused: nothing listens there (connect to host 10.0.0.2 port 22: Connection refused) after 3 ms'), text);
  });

  it('a failing host line names the kind when the message does not, and never carries raw control characters', () => {
    assert.equal(hostFailureLine({ name: 'g', ok: false, error: { kind: 'timeout', message: 'no answer within 20.0 s' }, latencyMs: 20001, reaperVersion: null, gpuProbe: null, slurm: null }), 'g: timeout: no answer within 20.0 s after 20001 ms');
    assert.equal(hostFailureLine({ name: 'g', ok: false, error: { kind: 'garbage', message: `x${ESC}[2J` }, latencyMs: 1, reaperVersion: null, gpuProbe: null, slurm: null }), 'g: garbage: x\\x1b[2J after 1 ms');
  });
});

const planDoc = (over: Record<string, unknown> = {}) => ({
  plan: {
    action: 'term',
    graceMs: 5000,
    targets: [{ pid: 71, startTime: 123, uid: 1000, user: 'ana', stat: 'Tl', cmd: `python train.py ${ESC}[31m`, reasons: [{ code: 'stopped', text: 'stopped (T)' }], viaParentOf: null, note: null }],
    skipped: [{ pid: 1, startTime: 1, cmd: 'sshd', why: 'pid 1' }],
    scope: 'signals exactly this process',
    warnings: [],
    jobs: [],
    ...over,
  },
  results: [],
  jobResults: [],
  dryRun: true,
});

describe("a host's reap plan", () => {
  it('is checked, and shown as host:pid(user) command lines, sanitised', () => {
    const c = checkPlanText(JSON.stringify(planDoc()), 'term');
    assert.ok(c.ok);
    const text = renderHostPlanText('gpu2', c.plan, 100);
    assert.match(text, /^reap plan on gpu2: term \(SIGTERM \+ SIGCONT, 5 s grace, then SIGKILL\); 1 target, 1 skipped$/m);
    assert.match(text, /^ {2}gpu2:71\(ana\) Tl +python train\.py \\x1b\[31m$/m);
    assert.match(text, /^ {2}gpu2:1 sshd: pid 1$/m);
    assert.ok(!text.includes(ESC));
  });

  it('a plan for another action, a non-dry-run answer, or a bad identity is never acted on', () => {
    const bad: Array<[unknown, RegExp]> = [
      [planDoc(), /planned "term", not "kill"/],
      [{ ...planDoc(), dryRun: false }, /dryRun: not true/],
      [planDoc({ targets: [{ ...planDoc().plan.targets[0], startTime: -1 }] }), /targets\[0\]\.startTime/],
      [planDoc({ targets: [planDoc().plan.targets[0], planDoc().plan.targets[0]] }), /pid 71 listed twice/],
      [planDoc({ targets: new Array(2049).fill(planDoc().plan.targets[0]) }), /2049 targets, more than the 2048 one act carries: narrow the selectors/],
    ];
    for (const [doc, want] of bad) {
      const c = checkPlanText(JSON.stringify(doc), doc === bad[0]![0] ? 'kill' : 'term');
      assert.ok(!c.ok, String(want));
      assert.match(c.error.message, want);
    }
  });

  it('results: one line each; refused "gone or reused" is not a failure, other refusals and survivors are', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- outcomes as the wire may send them
    const r = (outcome: any, detail: string | null, reused?: true) => ({ pid: 71, startTime: 123, outcome, detail, cmd: 'python x.py', ...(reused ? { reused } : {}) });
    assert.equal(renderHostResultLine('gpu2', r('gone', 'killed (SIGKILL)')), '  gpu2:71        gone         python x.py: killed (SIGKILL)');
    assert.equal(hostReapExitCode([r('gone', null), r('refused', 'gone or reused: no process 71 here any more', true)]), 0);
    assert.equal(hostReapExitCode([r('skipped', 'identity changed: pid 71 now belongs to another process', true)]), 0);
    // The flag decides, never the text a host sent: the same words without it are a failure.
    assert.equal(hostReapExitCode([r('refused', 'gone or reused: no process 71 here any more')]), 1);
    assert.equal(hostReapExitCode([r('skipped', 'identity changed: whatever')]), 1);
    assert.equal(hostReapExitCode([r('refused', 'protected: pid 1')]), 1);
    assert.equal(hostReapExitCode([r('survived', 'still there')]), 1);
  });
});

describe('install checks', () => {
  const elf = (machine: number, osabi = 0): Uint8Array => {
    const b = Buffer.alloc(64);
    b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, osabi]);
    b.writeUInt16LE(3, 16);
    b.writeUInt16LE(machine, 18);
    return b;
  };
  it('reads the OS and architecture from the ELF header; anything else is not a Linux executable', () => {
    assert.deepEqual(parseElfPlatform(elf(62)), { os: 'Linux', arch: 'x86_64' });
    assert.deepEqual(parseElfPlatform(elf(183, 3)), { os: 'Linux', arch: 'aarch64' });
    assert.equal(parseElfPlatform(elf(62, 9)), null); // FreeBSD
    assert.equal(parseElfPlatform(Buffer.from('#!/bin/sh\necho hi\n')), null);
  });
  it('compares with uname -sm, arm64 and amd64 being the same machines', () => {
    assert.ok(samePlatform(parseUname('Linux x86_64\n')!, { os: 'Linux', arch: 'x86_64' }));
    assert.ok(samePlatform(parseUname('Linux arm64')!, { os: 'Linux', arch: 'aarch64' }));
    assert.ok(!samePlatform(parseUname('Darwin arm64')!, { os: 'Linux', arch: 'aarch64' }));
    assert.equal(parseUname('garbage with three words'), null);
  });
  it('the remote script checks size and sha256 before it renames into place', () => {
    const s = installScript(1234, 'ab'.repeat(32));
    assert.ok(s.indexOf('[ "$n" = 1234 ]') < s.indexOf('mv -f'));
    assert.ok(s.indexOf(`[ "$s" = ${'ab'.repeat(32)} ]`) < s.indexOf('mv -f'));
    assert.match(s, /mv -f "\$t" "\$d\/reaper"/);
  });
});

describe('stop --host output', () => {
  it('lines and JSON from the host are sanitised and bounded', () => {
    assert.equal(sanitizeLines(`run x stopped${ESC}[2J\nok\n`), 'run x stopped\\x1b[2J\nok\n');
    assert.deepEqual(sanitizeJsonValue({ detail: `a${ESC}b`, n: 1, deep: [[[[[[[[[[1]]]]]]]]]] }), { detail: 'a\\x1bb', n: 1, deep: [[[[[[[null]]]]]]] });
  });
});

describe('fan-out', () => {
  it('asks at most MAX_PARALLEL_HOSTS at once, keeps the hosts\' order, and a task that throws is only its host\'s', async () => {
    const hosts = Array.from({ length: 40 }, (_, i) => ({ name: `h${i}`, local: false, command: null }));
    let running = 0;
    let most = 0;
    const out = await forEachHost(
      hosts,
      async (h) => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 40 - Number(h.name.slice(1))));
        running--;
        if (h.name === 'h7') throw new Error('boom');
        return h.name;
      },
      (h, e) => `${h.name}: ${(e as Error).message}`,
    );
    assert.equal(most, MAX_PARALLEL_HOSTS);
    assert.deepEqual(out, hosts.map((h) => (h.name === 'h7' ? 'h7: boom' : h.name)));
  });
});
