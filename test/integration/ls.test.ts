import assert from 'node:assert/strict';
import { CLI_MAX_BUFFER } from '../helpers/wait-for.js';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { psStat } from '../helpers/proc-ps.js';
import { PYTHON, startProcTree, type ProcTree } from '../helpers/proc-tree.js';
import { waitFor } from '../helpers/wait-for.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function reaper(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { maxBuffer: CLI_MAX_BUFFER,  encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface JsonProc {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  stat: string;
  state: string;
  threads: number;
  startTime: number;
  uid: number | null;
  user: string | null;
  cmd: string;
  gpus: Array<{ uuid: string | null; index: number | null; usedMemoryMiB: number | null }>;
  leftover: unknown;
  comm: string;
  argv: string[] | null;
  runId: string | null;
  taskId: string | null;
}
interface Doc {
  gpuProbe: { source: string; ok: boolean; error: { kind: string; message: string } | null };
  gpus: Array<Record<string, unknown>>;
  processes: JsonProc[];
}

let tree: ProcTree;
before(async () => {
  tree = await startProcTree();
  process.kill(tree.pids.stopped, 'SIGSTOP');
});
after(() => tree?.kill());

test('ls --json --pid ROOT reports the fixture subtree', async () => {
  const p = tree.pids;
  const doc = await waitFor(
    () => {
      const r = reaper('ls', '--json', '--pid', String(p.root), '--gpus', 'none');
      assert.equal(r.code, 0, r.stderr);
      const d = JSON.parse(r.stdout) as Doc;
      const get = (pid: number) => d.processes.find((x) => x.pid === pid);
      const settled = get(p.stopped)?.state === 'T' && get(p.weird)?.comm === 'x) (y' && (get(p.threads)?.threads ?? 0) >= 4 && get(p.nice)?.stat === 'SN' && get(p.locked)?.stat === 'SL';
      return settled ? d : null;
    },
    { timeoutMs: 20_000, what: 'ls to show the settled tree' },
  );
  assert.deepEqual(doc.gpuProbe, { source: 'none', ok: false, error: null });
  assert.deepEqual(doc.gpus, []);
  const byPid = new Map(doc.processes.map((x) => [x.pid, x]));
  // The subtree is exactly the fixture (the pty child may have none of its own).
  for (const pid of Object.values(p)) assert.ok(byPid.has(pid), `pid ${pid} listed`);
  assert.equal(doc.processes.length, Object.keys(p).length);
  const root = byPid.get(p.root)!;
  assert.equal(root.stat, 'Ss');
  assert.equal(root.runId, tree.runId);
  assert.equal(root.taskId, 'task-7');
  assert.equal(root.uid, process.getuid!());
  assert.equal(byPid.get(p.stopped)!.stat, 'T');
  assert.equal(byPid.get(p.zombie)!.state, 'Z');
  assert.equal(byPid.get(p.threads)!.stat, 'Sl');
  assert.equal(byPid.get(p.setsid)!.stat, 'Ss');
  assert.equal(byPid.get(p.weird)!.comm, 'x) (y');
  assert.equal(byPid.get(p.argv0)!.cmd, 'weird) (argv0 600');
  assert.equal(byPid.get(p.pty)!.stat, 'Ss+');
  // The tree carries a REAPER_RUN marker with no run record: every member is a leftover of an
  // ended run, and the stopped one is stopped too.
  const codes = (pid: number): string[] => ((byPid.get(pid)!.leftover as { reasons: { code: string }[] } | null)?.reasons ?? []).map((r) => r.code);
  assert.ok(codes(p.stopped).includes('stopped'), `stopped: ${codes(p.stopped).join(',')}`);
  assert.ok(codes(p.stopped).includes('ended-run'));
  for (const x of doc.processes) {
    assert.ok(x.leftover === null || Array.isArray((x.leftover as { reasons: unknown[] }).reasons));
    assert.deepEqual(x.gpus, []);
    for (const k of ['pid', 'ppid', 'pgid', 'sid', 'stat', 'state', 'threads', 'startTime', 'uid', 'user', 'cmd', 'gpus', 'leftover']) assert.ok(k in x, k);
    const ps = psStat(x.pid);
    if (ps !== null && ps !== x.stat) {
      // Allowed only when it changed meanwhile: a fresh ls must agree now.
      const again = JSON.parse(reaper('ls', '--json', '--pid', String(x.pid), '--gpus', 'none').stdout) as Doc;
      assert.equal(again.processes[0]?.stat, psStat(x.pid), `stat of ${x.pid}`);
    }
  }
});

test('ls text: ps f forest with STAT column', async () => {
  const r = reaper('ls', '--pid', String(tree.pids.root), '--gpus', 'none');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /PID USER +STAT +%CPU +RSS GPU +GPUMEM ELAPSED( +REASONS)? +COMMAND/);
  assert.equal(lines.length, 1 + Object.keys(tree.pids).length);
  // REASONS is a comma list (e.g. orphaned,ended-run): the marker of a run that is not live is one of them.
  assert.match(lines[1]!, new RegExp(`^[ !] +${tree.pids.root} \\S+ +Ss .*[ ,]ended-run[ ,]`));
  const stopped = lines.find((l) => l.includes(` ${tree.pids.stopped} `))!;
  assert.match(stopped, /^! +\d+ \S+ +T +.* stopped,ended-run +.*\\_ sleep 600$/);
  assert.ok(!r.stdout.includes('\x1b'));
});

test('ls --json --gpus sim:2 lists two simulated GPUs', { skip: !existsSync(fileURLToPath(new URL('../../src/probe/gpu-probe.js', import.meta.url))) && 'no GPU probe built' }, () => {
  const r = reaper('ls', '--json', '--gpus', 'sim:2', '--pid', String(tree.pids.root));
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as Doc;
  assert.equal(doc.gpuProbe.source, 'simulated');
  assert.equal(doc.gpus.length, 2);
  assert.deepEqual(doc.gpus.map((g) => g.index), [0, 1]);
});

test('ls default shows only the current user; --all includes kernel threads', () => {
  const mine = JSON.parse(reaper('ls', '--json', '--gpus', 'none').stdout) as Doc;
  assert.ok(mine.processes.length > 0);
  for (const x of mine.processes) assert.equal(x.uid, process.getuid!());
  assert.ok(mine.processes.some((x) => x.pid === tree.pids.root));
  const all = JSON.parse(reaper('ls', '--json', '--all', '--gpus', 'none').stdout) as Doc;
  assert.ok(all.processes.length >= mine.processes.length);
});

test('ls: bad input is one line on stderr and exit 2', () => {
  let absent = 32767;
  while (existsSync(`/proc/${absent}`)) absent--;
  const cases: string[][] = [
    ['ls', '--bogus'],
    ['ls', '--pid', 'abc'],
    ['ls', '--pid', String(absent), '--gpus', 'none'],
    ['ls', '--pid'],
    ['ls', '--gpu', '-1'],
    ['ls', '--gpu', 'x'],
    ['ls', 'extra'],
    ['ls', '--gpus', 'sim:0'],
    ['ls', '--pid', '1', '--gpu', '0'],
  ];
  for (const args of cases) {
    const r = reaper(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^reaper: /);
  }
});

test('ls: ESC, C1, bidi and newline in a real argv are escaped in JSON and sanitised in text', async (t) => {
  const hostile = ['x\x1b[2Jy', 'c\u009b31md', 'e\u202ef', 'g\nh', 'i\u2028j'];
  const child = spawn(PYTHON, ['-c', 'import time; print("up", flush=True); time.sleep(600)', ...hostile], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  const pid = String(child.pid);
  const json = reaper('ls', '--json', '--pid', pid, '--gpus', 'none');
  assert.equal(json.code, 0, json.stderr);
  // No raw control, C1, bidi or separator character anywhere in the document…
  assert.doesNotMatch(json.stdout.trimEnd(), /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
  assert.ok(json.stdout.includes('\\u009b') && json.stdout.includes('\\u202e'));
  // …and the argv still parses back to exactly what the process has.
  const doc = JSON.parse(json.stdout) as Doc;
  assert.deepEqual(doc.processes[0]!.argv!.slice(-hostile.length), hostile);
  const text = reaper('ls', '--pid', pid, '--gpus', 'none');
  assert.equal(text.code, 0, text.stderr);
  assert.doesNotMatch(text.stdout.trimEnd(), /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
  const lines = text.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2, 'header and one row: the newline in argv does not start a line');
  assert.match(lines[1]!, /x\\x1b\[2Jy c\\x9b31md e\\u202ef g\\nh i\\u2028j$/);
});
