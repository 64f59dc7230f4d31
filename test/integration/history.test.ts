/**
 * `reaper runs` and `reaper show` against a real run: a batch where one task fails with exit 3
 * after writing to stderr (escape sequences, a C1 control and a bidi override included), one
 * times out and one succeeds; next to it, planted run folders with malformed journals, a
 * symlinked journal, a FIFO journal and log paths that point outside the run folder. The good
 * run must stay visible and complete; each bad one is "unreadable: <why>" on its own line.
 */
import assert from 'node:assert/strict';
import { CLI_MAX_BUFFER } from '../helpers/wait-for.js';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, cleanupRun, markerPids, startCli } from '../helpers/launch-run.js';

const BATCH = `name: history-test
gpus: all
concurrency: 2
grace: 1s
tasks:
  - { mode: fail }
  - { mode: hang }
  - { mode: ok }
stages:
  sample:
    cmd: [sh, -c, 'case "$1" in fail) echo "loading weights" >&2; printf "\\033[31mCUDA error: out of memory\\033[0m \\302\\233 \\342\\200\\256evil\\n" >&2; exit 3;; hang) echo "waiting for the GPU" >&2; exec sleep 60;; ok) echo fine;; esac', sh, "{mode}"]
    timeout: 2s
  evaluate:
    cmd: [sh, -c, 'echo evaluated']
    after: sample
`;

let tmp = '';
let state = '';
let runId = '';
const BAD = '20000101-000000-0bad';
const LINK = '20000101-000001-11c0';
const FIFO = '20000101-000002-f1f0';
const PLANTED = '20000101-000003-7e57';

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { maxBuffer: CLI_MAX_BUFFER,  cwd: tmp, env: { ...process.env, XDG_STATE_HOME: state, REAPER_RUN: '' }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runsDir(): string {
  return path.join(state, 'reaper', 'runs');
}

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'reaper-history-'));
  state = path.join(tmp, 'state');
  writeFileSync(path.join(tmp, 'batch.yaml'), BATCH);
  const run = startCli(['run', 'batch.yaml', '--gpus', 'sim:2', '--json'], { env: { XDG_STATE_HOME: state, HOME: tmp, REAPER_CONTAINMENT: '' }, cwd: tmp });
  try {
    const start = await run.waitEvent((e) => e.ev === 'run-start', 20_000, 'run-start');
    runId = String(start.run);
    const ex = await run.exit;
    assert.equal(ex.code, 1, `the batch has failed tasks: ${run.stderr}`);
  } finally {
    cleanupRun(run, runId || null);
  }
  assert.deepEqual(markerPids(runId), [], 'nothing of the run is left');

  // Garbage, a record before any run-start, and a torn last line: no run-start at all.
  mkdirSync(path.join(runsDir(), BAD));
  writeFileSync(path.join(runsDir(), BAD, 'journal.jsonl'), 'garbage \x1b]0;owned\x07\n{"ev":"task-start","t":1,"task":0,"stage":"sample"}\n{"ev":"run-en');
  mkdirSync(path.join(runsDir(), LINK));
  symlinkSync('/etc/passwd', path.join(runsDir(), LINK, 'journal.jsonl'));
  mkdirSync(path.join(runsDir(), FIFO));
  spawnSync('mkfifo', [path.join(runsDir(), FIFO, 'journal.jsonl')]);
  // A readable journal with a bad line in the middle, whose log paths point outside the run
  // folder, through a symlink inside it, and through ../
  const planted = path.join(runsDir(), PLANTED);
  mkdirSync(path.join(planted, 'logs'), { recursive: true });
  symlinkSync('/etc/passwd', path.join(planted, 'logs', 'link.log'));
  const start = { ev: 'run-start', t: 1000, run: PLANTED, name: 'planted\x1b[2J', host: 'gpu-07', file: '/x.yaml', launcher: { pid: 999_999_999, startTime: 1 }, guardian: null, layers: [], gpus: ['0'], tasks: [{ task: 0, vars: {} }, { task: 1, vars: {} }, { task: 2, vars: {} }], stages: ['sample'], graceMs: 1000, cgroup: null, detached: false };
  const ts = (task: number, stderr: string): object => ({ ev: 'task-start', t: 1100, task, stage: 'sample', attempt: 1, gpu: '0', pid: 5, startTime: 7, pgid: 5, cgroup: null, argv: ['x'], stdout: '/dev/null', stderr });
  const te = (task: number): object => ({ ev: 'task-end', t: 1200, task, stage: 'sample', attempt: 1, gpu: '0', status: 'failed', reason: 'exit', detail: 'exit 1', code: 1, signal: null, durationMs: 100, willRetry: false });
  const lines = [start, ts(0, '/etc/passwd'), te(0), ts(1, path.join(planted, 'logs', 'link.log')), te(1), ts(2, path.join(planted, 'logs', '..', '..', '..', '..', '..', 'etc', 'passwd')), te(2)].map((r) => JSON.stringify(r));
  lines.splice(2, 0, '{not json');
  writeFileSync(path.join(planted, 'journal.jsonl'), lines.join('\n') + '\n');
});

after(() => {
  if (runId) cleanupRun(null, runId);
  if (tmp) rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
});

describe('reaper runs', () => {
  it('lists the real run with its state, task counts, start, duration and host, newest first; each malformed run is one "unreadable" line', () => {
    const r = cli(['runs']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^RUN\s+NAME\s+STATE\s+TASKS\s+STARTED\s+DURATION\s+HOST$/);
    const good = lines.find((l) => l.startsWith(runId));
    assert.ok(good, r.stdout);
    assert.match(good!, new RegExp(`^${runId}\\s+history-test\\s+failed\\s+1 ok, 2 failed\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+\\d+(\\.\\d)?s\\s+(\\S+)$`));
    assert.equal(good!.split(/\s+/).at(-1), os.hostname(), 'the launcher records its host');
    assert.match(r.stdout, new RegExp(`^${BAD}\\s+unreadable: no run-start record \\(line 1: not JSON\\)$`, 'm'));
    assert.match(r.stdout, new RegExp(`^${LINK}\\s+unreadable: journal.jsonl: is a symlink$`, 'm'));
    assert.match(r.stdout, new RegExp(`^${FIFO}\\s+unreadable: journal.jsonl: not a regular file$`, 'm'));
    assert.match(r.stdout, new RegExp(`^${PLANTED}\\s+planted\\\\x1b\\[2J\\s+crashed\\s+0 ok, 3 failed\\s.*gpu-07$`, 'm'));
    assert.ok(!r.stdout.includes('\x1b'), 'no raw escape reaches the terminal');
    assert.equal(lines.indexOf(good!), 1, 'the real run is the newest');
  });

  it('--json: one document, the same runs, unreadable ones with their reason', () => {
    const r = cli(['runs', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { runs: Array<Record<string, unknown>>; more: number };
    assert.equal(doc.more, 0);
    assert.deepEqual(doc.runs.map((x) => x.id), [runId, PLANTED, FIFO, LINK, BAD]);
    const good = doc.runs[0]!;
    assert.equal(good.readable, true);
    assert.equal(good.state, 'failed');
    assert.equal(good.host, os.hostname(), 'the launcher records its host');
    assert.equal(good.exitCode, 1);
    assert.ok(typeof good.durationMs === 'number' && good.durationMs >= 1500, String(good.durationMs));
    assert.deepEqual({ ...(good.tasks as object) }, { total: 3, succeeded: 1, failed: 2, cancelled: 0, skipped: 0, running: 0, pending: 0, notRun: 0, unknown: 0 });
    assert.deepEqual(doc.runs[4], { id: BAD, dir: path.join(runsDir(), BAD), readable: false, unreadable: 'no run-start record (line 1: not JSON)' });
    assert.deepEqual(doc.runs[1]!.warnings, ['line 3: not JSON']);
  });

  it('--limit N keeps the N newest and says how many are left; --all shows every one', () => {
    const r = cli(['runs', '--limit', '2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd().split('\n').length, 4);
    assert.match(r.stdout, /\(3 older runs not shown: --all, or --limit N\)/);
    assert.equal((JSON.parse(cli(['runs', '--all', '--json']).stdout) as { runs: unknown[] }).runs.length, 5);
  });

  it('bad flags: one reaper: line, exit 2', () => {
    for (const args of [['runs', '--limit', 'x'], ['runs', '--limit', '0'], ['runs', '--limit', '-1'], ['runs', '--limit'], ['runs', '--limit', '1', '--all'], ['runs', '--bogus'], ['runs', 'last'], ['runs', '--json=1']]) {
      const r = cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^reaper: [^\n]+\n$/, args.join(' '));
    }
  });
});

describe('reaper show', () => {
  it('show last: every task and stage with outcome, exit code 3, timeout, durations, GPU, log paths and the stderr tail, sanitised', () => {
    const r = cli(['show', 'last']);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    assert.ok(!/[\x1b\x9b\u202e]/.test(out), 'no raw escape, C1 or bidi control');
    assert.match(out, new RegExp(`^run ${runId} "history-test": failed, exit 1; tasks 1 ok, 2 failed of 3$`, 'm'));
    assert.match(out, /^task 0 \[mode=fail\] gpu \d: failed \(sample: exit 3\)/m);
    assert.match(out, /^ {2}sample\s+failed\s+exit 3\s+\d+(ms|\.\ds)\s+gpu \d\s+pid \d+$/m);
    assert.match(out, /^ {2}evaluate\s+skipped\s+skipped: sample did not succeed$/m);
    const logs = path.join(runsDir(), runId, 'logs');
    assert.ok(out.includes(`stderr ${path.join(logs, 'task0.sample.stderr.log')}`), out);
    assert.ok(out.includes(`stdout ${path.join(logs, 'task0.sample.stdout.log')}`), out);
    assert.match(out, /stderr, last 2 lines:\n\s+\| loading weights\n\s+\| \\x1b\[31mCUDA error: out of memory\\x1b\[0m \\x9b \\u202eevil\n/);
    assert.match(out, /^task 1 \[mode=hang\] gpu \d: failed \(sample: timeout 2s\)/m);
    assert.match(out, /^ {2}sample\s+failed\s+timeout 2s.*\s+\d+(\.\d)?s\s+gpu \d\s+pid \d+$/m);
    // The containment wrappers may add their own lines after the task's.
    assert.match(out, /stderr, last \d lines?:\n(\s+\|.*\n)*?\s+\| waiting for the GPU\n/);
    assert.match(out, /^task 2 \[mode=ok\] gpu \d: succeeded/m);
    assert.match(out, /^ {2}evaluate\s+succeeded\s+exit 0/m);
    assert.equal(out.match(/stderr, last/g)!.length, 2, 'tails only for failed stages');
    assert.ok(out.includes(`on host ${os.hostname()}`), out);
  });

  it('show RUN --json: the same facts; C1 and bidi controls escaped in the JSON text', () => {
    const r = cli(['show', runId, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!/[\x1b\x9b\u202e]/.test(r.stdout), 'raw controls in the JSON text');
    assert.ok(r.stdout.includes('\\u009b') && r.stdout.includes('\\u202e'), r.stdout);
    type Stage = { stage: string; outcome: string; reason: string; detail: string; exitCode: number | null; signal: string | null; durationMs: number; gpu: string; stdoutLog: string; stderrLog: string; stderrTail: { lines: string[]; error: string | null } | null };
    const doc = JSON.parse(r.stdout) as { id: string; state: string; host: null; tasks: Array<{ task: number; outcome: string; gpu: string; stages: Stage[] }> };
    assert.equal(doc.id, runId);
    assert.equal(doc.state, 'failed');
    const [fail, hang, ok] = doc.tasks;
    assert.deepEqual([fail!.outcome, hang!.outcome, ok!.outcome], ['failed', 'failed', 'succeeded']);
    const s0 = fail!.stages[0]!;
    assert.equal(s0.exitCode, 3);
    assert.equal(s0.reason, 'exit');
    assert.match(s0.gpu, /^[01]$/);
    assert.ok(s0.durationMs >= 0);
    assert.equal(s0.stderrLog, path.join(runsDir(), runId, 'logs', 'task0.sample.stderr.log'));
    assert.deepEqual(s0.stderrTail, { lines: ['loading weights', '\x1b[31mCUDA error: out of memory\x1b[0m \u009b \u202eevil'], truncated: false, error: null });
    const s1 = hang!.stages[0]!;
    assert.equal(s1.reason, 'timeout');
    assert.equal(s1.detail, 'timeout 2s');
    assert.ok(s1.durationMs >= 1900 && s1.durationMs < 20_000, String(s1.durationMs));
    assert.ok(s1.stderrTail?.lines.includes('waiting for the GPU'), JSON.stringify(s1.stderrTail));
    assert.equal(ok!.stages[0]!.stderrTail, null);
    assert.equal(fail!.stages[1]!.outcome, 'skipped');
    const one = JSON.parse(cli(['show', runId, '--json', '--lines', '1']).stdout) as typeof doc;
    assert.deepEqual(one.tasks[0]!.stages[0]!.stderrTail, { lines: ['\x1b[31mCUDA error: out of memory\x1b[0m \u009b \u202eevil'], truncated: true, error: null });
  });

  it('a unique prefix of 8 or more characters finds the run; shorter, ambiguous or unknown: one reaper: line, exit 2', () => {
    const r = cli(['show', runId.slice(0, 17), '--lines', '0']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith(`run ${runId} `));
    assert.ok(!r.stdout.includes('stderr, last'), '--lines 0: no tails');
    for (const args of [['show', runId.slice(0, 7)], ['show', '2000010'], ['show', '20000101-'], ['show', 'nope-\x1b[2J'], ['show'], ['show', 'a', 'b'], ['show', 'last', '--lines', '-1'], ['show', 'last', '--lines', '1e3'], ['show', 'last', '--lines'], ['show', 'last', '--bogus'], ['show', 'last', '--json=yes']]) {
      const x = cli(args);
      assert.equal(x.code, 2, `${args.join(' ')}: ${x.stderr}`);
      assert.equal(x.stdout, '');
      assert.match(x.stderr, /^reaper: [^\n]+\n$/, args.join(' '));
      assert.ok(!x.stderr.includes('\x1b'), 'the argument is sanitised');
    }
  });

  it('an unreadable run: exit 1 with its reason; the planted run shows, but no log outside its folder is read', () => {
    const bad = cli(['show', BAD]);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, `reaper: run ${BAD} is unreadable: no run-start record (line 1: not JSON)\n`);
    const p = cli(['show', PLANTED]);
    assert.equal(p.code, 0, p.stderr);
    assert.ok(!p.stdout.includes('root:'), 'nothing of /etc/passwd');
    assert.ok(!p.stdout.includes('\x1b'));
    assert.match(p.stdout, /warning: journal line 3: not JSON/);
    assert.match(p.stdout, /crashed/);
    assert.match(p.stdout, /on host gpu-07$/m);
    assert.equal(p.stdout.match(/stderr tail: log is not inside the run folder/g)?.length, 2, p.stdout);
    assert.match(p.stdout, /stderr tail: is a symlink/);
  });
});
