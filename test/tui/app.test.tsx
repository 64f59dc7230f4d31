/**
 * Frames and key handling of the live screen, with a fake data source (hand-built snapshots)
 * and a recording actions object. Colours are forced on before Ink loads so STAT colours can
 * be asserted as SGR codes.
 */
import { App, createTheme, ESC, React, render } from '../helpers/tui-ink.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReactElement } from 'react';
import { waitFor } from '../helpers/wait-for.js';
import { FakeActions, FakeSource, data, plain, proc, reasons, run, simGpu, snapshot } from '../helpers/tui-fake.js';
import { frameMatching, press } from '../helpers/tui-fake.js';
import type { ProcInfo } from '../../src/model/index.js';

const KEY = { up: `${ESC}[A`, down: `${ESC}[B`, enter: '\r', esc: ESC, space: ' ' };

type Inst = ReturnType<typeof render>;

function mount(source: FakeSource, actions = new FakeActions(), opts: { columns?: number; rows?: number; colors?: boolean; grouping?: 'gpu' | 'run' | 'all' } = {}): Inst {
  const el = React.createElement(App, {
    source,
    actions,
    size: { columns: opts.columns ?? 100, rows: opts.rows ?? 30 },
    theme: createTheme(opts.colors ?? true),
    initialGrouping: opts.grouping ?? 'all',
  }) as ReactElement;
  return render(el);
}

/** `text` drawn with SGR colour `code` (possibly together with bold or inverse). */
function colored(line: string, code: number, text: string): boolean {
  const esc = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`\\x1b\\[(?:\\d+;)*${code}(?:;\\d+)*m${esc}`).test(line);
}

function lineWith(frame: string, needle: string): string {
  const l = frame.split('\n').find((x) => plain(x).includes(needle));
  assert.ok(l !== undefined, `no line with ${JSON.stringify(needle)} in:\n${plain(frame)}`);
  return l;
}

// A batch-shaped tree: a shell, a stopped multithreaded launcher holding GPU 0, a zombie and a D child.
function batchTree(): ProcInfo[] {
  return [
    proc(100, 1, { cmd: 'bash', runId: null }),
    proc(110, 100, { cmd: 'python3 batch_sampleandeval_parallel.py', stat: 'Tl', threads: 4, runId: 'r1', wchan: 'do_signal_stop' }),
    proc(111, 110, { cmd: '[python3] <defunct>', stat: 'Z', runId: 'r1' }),
    proc(112, 110, { cmd: 'python3 sample_diffusion.py --ckpt e10.pt', stat: 'D', runId: 'r1', wchan: 'nv_wait' }),
    proc(200, 1, { cmd: 'vim notes.txt', stat: 'S+' }),
  ];
}

const verdicts = new Map([
  [110, reasons(['stopped', 'stopped (T) 12 s: background job on pts/3, stopped by SIGTTIN/SIGTTOU (it read the terminal)'])],
  [111, reasons(['zombie', 'zombie: continue or kill parent 110 (Tl)'])],
  [112, reasons(['uninterruptible', 'uninterruptible (D) in nv_wait: a kill waits until the call returns'], ['gpu-no-owner', 'holds GPU 0 memory while no live run owns it'])],
]);

describe('frames', () => {
  test('GPU table: simulated rows with bars, and a probe error in place', async () => {
    const src = new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts }));
    const inst = mount(src);
    const f = await frameMatching(inst, (p) => p.includes('GPUs (simulated)'), 'gpu table');
    assert.match(plain(lineWith(f, ' 0 Simulated A100')), /0 Simulated A100\s+\[\|+\s*\]\s+40%\s+\[.*\]\s+1\.0G\/40G\s+50C\s+120\/300W/);
    assert.match(plain(lineWith(f, ' 1 Simulated A100')), /50%.*2\.0G\/40G\s+51C/);
    inst.unmount();

    const broken = simGpu({ ok: false, gpus: [], error: { kind: 'driver-not-reachable', message: 'nvidia-smi: driver not reachable' } });
    const inst2 = mount(new FakeSource(data({ snapshot: snapshot(batchTree(), broken), verdicts })));
    const f2 = await frameMatching(inst2, (p) => p.includes('driver not reachable'), 'probe error');
    const errLine = lineWith(f2, 'GPUs  nvidia-smi: driver not reachable');
    assert.match(plain(errLine), /^GPUs\s+nvidia-smi: driver not reachable/);
    assert.ok(colored(errLine, 31, 'nvidia-smi: driver not reachable'), 'error row is red');
    // Everything else keeps working: the tree is there.
    assert.ok(plain(f2).includes('batch_sampleandeval_parallel.py'));
    inst2.unmount();

    // Stale numbers stay visible with the stall reported under them.
    const stalled = simGpu({ ok: false, error: { kind: 'stalled', message: 'probe stalled 12 s' } });
    const inst3 = mount(new FakeSource(data({ snapshot: snapshot(batchTree(), stalled), verdicts })));
    const f3 = await frameMatching(inst3, (p) => p.includes('probe stalled 12 s'), 'stall row');
    const rows3 = plain(f3).split('\n');
    const i0 = rows3.findIndex((l) => l.includes(' 1 Simulated A100'));
    assert.ok(rows3[i0 + 1]!.includes('probe stalled 12 s'), 'stall row right under the GPU rows');
    inst3.unmount();
  });

  test('header: the /proc scan and the GPU probe are two states; a hung nvidia-smi is not "ok"', async () => {
    const now = 1_700_000_000_000;
    // Healthy: both states, apart.
    const inst = mount(new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts })), new FakeActions(), { columns: 120 });
    const f = await frameMatching(inst, (p) => p.includes('procs: '), 'header');
    const l1 = plain(f).split('\n')[0]!;
    assert.match(l1, /procs: 5 · 12 ms {2}gpu: ok \(sim\) 2 GPUs$/, l1);
    inst.unmount();
    // nvidia-smi hangs from the start (REAPER_SIM_FAIL=hang): the loop reports a timeout, no GPU
    // ever answered; the scan goes on. 12 s since this screen started asking.
    const hung = { ...simGpu(), ok: false, gpus: [], error: { kind: 'timeout' as const, message: 'nvidia-smi: no output for 10 s, restarting' }, sampledAtMs: now };
    const probe = { state: 'ok' as const, message: null, scanMs: 35, intervalMs: 1000, gpuOkAtMs: null, gpuSinceMs: now - 12_000 };
    const many = [...batchTree()];
    for (let i = 0; i < 2068; i++) many.push(proc(10_000 + i, 1, { cmd: `w${i}` }));
    const inst2 = mount(new FakeSource(data({ snapshot: snapshot(many, hung, now), gpu: hung, verdicts, probe })), new FakeActions(), { columns: 80, rows: 24 });
    const f2 = await frameMatching(inst2, (p) => p.includes('gpu: '), 'hung header');
    const h2 = plain(f2).split('\n')[0]!;
    assert.ok(h2.length <= 80, h2);
    assert.match(h2, /procs: 2,073 · 35 ms {2}gpu: no answer 12 s$/, h2);
    assert.ok(colored(f2.split('\n')[0]!, 31, '  gpu: no answer 12 s'), 'the GPU state is red');
    assert.ok(!/probe: ok/.test(plain(f2)));
    inst2.unmount();
    // It answered once, 20 s ago, then went quiet without an error yet: stalled, counted from that answer.
    const quiet = simGpu({ sampledAtMs: now - 20_000 });
    const inst3 = mount(new FakeSource(data({ snapshot: snapshot(batchTree(), quiet, now), gpu: quiet, verdicts, probe: { ...probe, gpuOkAtMs: now - 20_000 } })), new FakeActions(), { columns: 100 });
    const f3 = await frameMatching(inst3, (p) => p.includes('gpu: '), 'stalled header');
    assert.match(plain(f3).split('\n')[0]!, /procs: 5 · 35 ms {2}gpu: stalled 20 s$/);
    inst3.unmount();
  });

  test('tree: T yellow, Z magenta, D red, leftovers marked, ps f indentation', async () => {
    const src = new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts }));
    const inst = mount(src);
    const f = await frameMatching(inst, (p) => p.includes('sample_diffusion.py'), 'tree');
    const t = lineWith(f, 'batch_sampleandeval_parallel.py');
    const z = lineWith(f, '<defunct>');
    const d = lineWith(f, 'sample_diffusion.py');
    const s = lineWith(f, 'vim notes.txt');
    assert.ok(colored(t, 33, 'Tl'), 'T is yellow');
    assert.ok(colored(z, 35, 'Z'), 'Z is magenta');
    assert.ok(colored(d, 31, 'D'), 'D is red');
    // Leftover marker and tree indentation.
    assert.match(plain(t), /^ !\s+110 alice\s+Tl\s/);
    assert.match(plain(z), /^ !\s+111 alice\s+Z\s.*\\_ \[python3\] <defunct>/);
    assert.match(plain(d), /^ !\s+112 .*\\_ python3 sample_diffusion\.py/);
    assert.match(plain(s), /^  \s+200 alice\s+S\+\s/);
    assert.ok(!/\x1b\[[\d;]*m\s*S\+/.test(s), 'S+ is not coloured');
    assert.match(plain(lineWith(f, 'leftovers:')), /leftovers: 3/);
    inst.unmount();
  });

  test('NO_COLOR: no colour codes, meaning kept by the STAT letters and ! markers', async () => {
    const inst = mount(new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts })), new FakeActions(), { colors: false });
    const f = await frameMatching(inst, (p) => p.includes('sample_diffusion.py'), 'tree');
    assert.ok(!/\x1b\[(?:\d+;)*(?:3[0-7]|9[0-7])(?:;\d+)*m/.test(f), 'no foreground colours');
    assert.match(plain(lineWith(f, 'sample_diffusion.py')), /^ !\s+112/);
    inst.unmount();
  });

  test('details pane (Enter) lists every reason', async () => {
    const inst = mount(new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts })));
    await frameMatching(inst, (p) => p.includes('sample_diffusion.py'), 'tree');
    // rows: 100 bash, 110, 111, 112, 200 → cursor to 112
    await press(inst, KEY.down, KEY.down, KEY.down, KEY.enter);
    const f = await frameMatching(inst, (p) => p.includes('details: pid 112'), 'details pane');
    const p = plain(f);
    assert.ok(p.includes('uninterruptible: uninterruptible (D) in nv_wait: a kill waits until the call returns'), p);
    assert.ok(p.includes('gpu-no-owner: holds GPU 0 memory while no live run owns it'), p);
    assert.ok(p.includes('wchan nv_wait'));
    assert.ok(p.includes('run r1'));
    await press(inst, KEY.esc);
    await frameMatching(inst, (x) => !x.includes('details: pid 112'), 'pane closed');
    inst.unmount();
  });

  test('help (?) is generated from the keymap and any key closes it', async () => {
    const inst = mount(new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts })));
    await frameMatching(inst, (p) => p.includes('vim notes.txt'), 'tree');
    await press(inst, '?');
    const f = await frameMatching(inst, (p) => p.includes('reaper keys'), 'help');
    assert.match(plain(f), /K\s+kill the tree/);
    assert.match(plain(f), /\/\s+filter/);
    await press(inst, 'x');
    await frameMatching(inst, (p) => !p.includes('reaper keys') && p.includes('vim notes.txt'), 'help closed');
    inst.unmount();
  });

  test('help on 80x24 is paged: every key and the ⊂ marker can be read; Space turns the page, any other key closes', async () => {
    const inst = mount(new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts })), new FakeActions(), { columns: 80, rows: 24 });
    await frameMatching(inst, (p) => p.includes('vim notes.txt'), 'tree');
    await press(inst, '?');
    const p1 = plain(await frameMatching(inst, (p) => p.includes('page 1/2'), 'help page 1'));
    assert.match(p1, /up k\s+move up/);
    await press(inst, ' ');
    const p2 = plain(await frameMatching(inst, (p) => p.includes('page 2/2'), 'help page 2'));
    assert.match(p2, /K\s+kill the tree/);
    assert.match(p2, /q ctrl\+c\s+quit/);
    assert.match(p2, /⊂\s+inside reaper's wrappers \(setpriv, cgroup, unshare\), folded in/);
    for (const l of p2.split('\n')) assert.ok(l.length <= 80, l);
    await press(inst, ' ');
    await frameMatching(inst, (p) => !p.includes('reaper keys') && p.includes('vim notes.txt'), 'closed after the last page');
    inst.unmount();
  });

  test('filter (/) keeps matches and their ancestors; Esc clears it', async () => {
    const inst = mount(new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts })));
    await frameMatching(inst, (p) => p.includes('vim notes.txt'), 'tree');
    await press(inst, '/', 's', 'a', 'm', 'p', 'l', 'e', '_', KEY.enter);
    const f = await frameMatching(inst, (p) => p.includes('filter: "sample_"') && !p.includes('vim notes.txt'), 'filtered');
    const p = plain(f);
    assert.ok(p.includes('sample_diffusion.py'));
    assert.ok(p.includes('batch_sampleandeval_parallel.py'), 'the ancestor stays as context');
    assert.ok(!p.includes('<defunct>'), 'a non-matching sibling is hidden');
    await press(inst, KEY.esc);
    await frameMatching(inst, (x) => x.includes('vim notes.txt'), 'filter cleared');
    inst.unmount();
  });

  test('leftovers only (l) and grouping (g): by run shows the run header and LAUNCHER GONE', async () => {
    const runs = [run('r1', { live: false, state: 'crashed', tasks: [{ task: 0, gpu: '0', stage: 'sample', status: 'running', detail: null, startedAtMs: null, endedAtMs: null, leaders: [] }] })];
    const inst = mount(new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts, runs })));
    await frameMatching(inst, (p) => p.includes('vim notes.txt'), 'tree');
    await press(inst, 'l');
    const f = await frameMatching(inst, (p) => p.includes('[leftovers only]') && !p.includes('vim notes.txt'), 'leftovers only');
    assert.ok(plain(f).includes('sample_diffusion.py'));
    await press(inst, 'l', 'g');
    const g = await frameMatching(inst, (p) => p.includes('[by GPU]'), 'by gpu');
    assert.ok(plain(g).includes('-- GPU 0 Simulated A100:'));
    await press(inst, 'g');
    const r = await frameMatching(inst, (p) => p.includes('[by run]'), 'by run');
    assert.match(plain(r), /-- run r1 demo \(crashed LAUNCHER GONE\): 3 processes/);
    assert.match(plain(r), /Job r1 demo crashed LAUNCHER GONE/);
    inst.unmount();
  });

  for (const [columns, rows] of [
    [80, 24],
    [100, 30],
    [120, 40],
  ] as const) {
    test(`frame is exactly rows-1 lines and no line is wider than the terminal (${columns}x${rows})`, async () => {
      const many = [...batchTree()];
      for (let i = 0; i < 300; i++) many.push(proc(1000 + i, 100, { cmd: `worker --index ${i} ${'x'.repeat(i % 150)}` }));
      const inst = mount(new FakeSource(data({ snapshot: snapshot(many, simGpu()), verdicts, runs: [run('r1')] })), new FakeActions(), { columns, rows });
      const f = await frameMatching(inst, (p) => p.includes('worker --index'), 'big tree');
      const lines = plain(f).split('\n');
      assert.equal(lines.length, rows - 1);
      for (const l of lines) assert.ok(l.length <= columns, `line of ${l.length} > ${columns}: ${l}`);
      assert.ok(lines[0]!.startsWith('reaper gpu-box'), 'header on screen');
      // Scroll to the end: still rows-1 lines, the last process visible.
      await press(inst, `${ESC}[F`);
      const end = await frameMatching(inst, (p) => p.includes('--index 299'), 'scrolled to end');
      assert.equal(plain(end).split('\n').length, rows - 1);
      assert.ok(plain(end).split('\n')[0]!.startsWith('reaper gpu-box'));
      inst.unmount();
    });
  }

  test('untrusted text (GPU names, run names) is shown escaped, never interpreted', async () => {
    const gpu = simGpu();
    const evil = { ...gpu, gpus: [{ ...gpu.gpus[0]!, name: 'A100\x1b]0;pwned\x07\x1b[2J' }] };
    const runs = [run('r1', { name: 'demo\x1b[31mred' })];
    const inst = mount(new FakeSource(data({ snapshot: snapshot(batchTree(), evil), verdicts, runs })), new FakeActions(), { columns: 140 });
    const f = await frameMatching(inst, (p) => p.includes('A100'), 'frame');
    assert.ok(!f.includes('\x1b]0;') && !f.includes('\x1b[2J') && !f.includes('\x07'));
    assert.ok(plain(f).includes('A100\\x1b]0;pwned\\x07'));
    assert.ok(plain(f).includes('demo\\x1b[31mred'));
    inst.unmount();
  });
});

describe('keys and actions', () => {
  test('space tags, K lists count, pids(user) and commands, y sends the captured identities', async () => {
    const src = new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts }));
    const actions = new FakeActions();
    const inst = mount(src, actions);
    await frameMatching(inst, (p) => p.includes('vim notes.txt'), 'tree');
    // Cursor on 112 (row 4), tag it, then K.
    await press(inst, KEY.down, KEY.down, KEY.down, KEY.space);
    await frameMatching(inst, (p) => p.includes('tagged: 1'), 'tagged');
    await press(inst, 'K');
    const f = await frameMatching(inst, (p) => p.includes('Kill (stop, rescan, SIGKILL): 1 process?'), 'confirmation');
    assert.match(plain(f), /112\(alice\) D\s+python3 sample_diffusion\.py --ckpt e10\.pt\s+\[uninterruptible,gpu-no-owner\]/);
    assert.equal(actions.calls.length, 0, 'nothing before the confirmation');
    await press(inst, 'y');
    await frameMatching(inst, (p) => p.includes('kill: 1 gone'), 'result line');
    assert.equal(actions.calls.length, 1);
    const c = actions.calls[0]!;
    assert.equal(c.action, 'kill');
    assert.deepEqual(
      c.targets!.map((t) => [t.pid, t.startTime]),
      [[112, snapshot(batchTree()).byPid.get(112)!.startTime]],
    );
    assert.ok(src.refreshes >= 1, 'a rescan is requested after the action');
    inst.unmount();
  });

  test('K on an untagged row takes its whole tree, top-down', async () => {
    const src = new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts }));
    const actions = new FakeActions();
    const inst = mount(src, actions);
    await frameMatching(inst, (p) => p.includes('vim notes.txt'), 'tree');
    await press(inst, KEY.down, 'K');
    const f = await frameMatching(inst, (p) => p.includes('Kill (stop, rescan, SIGKILL)'), 'confirmation');
    assert.match(plain(f), /: 3 processes\?/);
    await press(inst, KEY.enter);
    await waitFor(() => actions.calls.length === 1, { what: 'kill call' });
    // Top-down, as planned by the same planner `reaper reap` uses; the shell (100) and vim are not in it.
    assert.deepEqual(actions.calls[0]!.targets!.map((t) => t.pid), [110, 111, 112]);
    inst.unmount();
  });

  test('rows move between choose and confirm: the action still gets the identities captured at choose time', async () => {
    const first = snapshot(batchTree(), simGpu());
    const src = new FakeSource(data({ snapshot: first, verdicts }));
    const actions = new FakeActions();
    const inst = mount(src, actions);
    await frameMatching(inst, (p) => p.includes('vim notes.txt'), 'tree');
    await press(inst, KEY.down, KEY.down, KEY.down); // cursor on 112
    await press(inst, 'T');
    await frameMatching(inst, (p) => p.includes('Terminate (TERM+CONT, grace, KILL): 1 process?'), 'confirmation');
    // A refresh: new processes sort before 112 (rows shift down), 112 is now another process
    // (pid reused: new start time), and the row under the old cursor index is someone else.
    const moved = [
      proc(100, 1, { cmd: 'bash' }),
      proc(101, 100, { cmd: 'new-thing-a' }),
      proc(102, 100, { cmd: 'new-thing-b' }),
      proc(103, 100, { cmd: 'new-thing-c' }),
      proc(110, 100, { cmd: 'python3 batch_sampleandeval_parallel.py', stat: 'Tl', runId: 'r1' }),
      proc(112, 110, { cmd: 'python3 sample_diffusion.py --ckpt e10.pt', stat: 'S', startTime: first.byPid.get(112)!.startTime + 5000 }),
      proc(200, 1, { cmd: 'vim notes.txt', stat: 'S+' }),
    ];
    src.publish(data({ snapshot: snapshot(moved, simGpu()), verdicts: new Map() }));
    await frameMatching(inst, (p) => p.includes('1 process?'), 'dialog still up after the refresh');
    await press(inst, 'y');
    await waitFor(() => actions.calls.length === 1, { what: 'term call' });
    const c = actions.calls[0]!;
    assert.equal(c.action, 'term');
    assert.deepEqual(
      c.targets!.map((t) => ({ pid: t.pid, startTime: t.startTime, cmd: t.cmd })),
      [{ pid: 112, startTime: first.byPid.get(112)!.startTime, cmd: 'python3 sample_diffusion.py --ckpt e10.pt' }],
    );
    inst.unmount();
  });

  test('a (tag all leftovers) then c resumes exactly the tagged trees; n cancels', async () => {
    const src = new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts }));
    const actions = new FakeActions();
    actions.outcome = 'resumed';
    const inst = mount(src, actions);
    await frameMatching(inst, (p) => p.includes('vim notes.txt'), 'tree');
    await press(inst, 'a');
    await frameMatching(inst, (p) => p.includes('tagged: 3'), 'three tagged');
    await press(inst, 'c');
    await frameMatching(inst, (p) => p.includes('Resume (SIGCONT)'), 'confirmation');
    await press(inst, 'n');
    await frameMatching(inst, (p) => p.includes('cancelled'), 'cancelled');
    assert.equal(actions.calls.length, 0);
    await press(inst, 'c');
    await frameMatching(inst, (p) => p.includes('Resume (SIGCONT)'), 'confirmation again');
    await press(inst, 'y');
    await frameMatching(inst, (p) => /cont: \d+ resumed/.test(p), 'result');
    const pids = actions.calls[0]!.targets!.map((t) => t.pid);
    assert.ok(pids.includes(110) && pids.includes(112), `targets ${pids}`);
    assert.ok(!pids.includes(200) && !pids.includes(100), 'nothing untagged');
    inst.unmount();
  });

  test('resume of a group stopped by SIGTTIN: the dialog says it stops again, offers fg and kill; K switches to kill', async () => {
    const ttin = new Map(verdicts);
    ttin.set(110, { ...verdicts.get(110)!, stopCause: { kind: 'ttin', culpritPid: 110, shellPid: 100, tty: 'pts/3' } });
    const actions = new FakeActions();
    const inst = mount(new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts: ttin })), actions, { columns: 80, rows: 24 });
    await frameMatching(inst, (p) => p.includes('vim notes.txt'), 'tree');
    await press(inst, KEY.down, 'c');
    const f = await frameMatching(inst, (p) => p.includes('Resume anyway'), 'warned confirmation');
    const text = plain(f).split('\n').map((l) => l.trimEnd()).join(' ');
    assert.ok(
      text.includes('Resuming is pointless: pid 110 (python3 batch_sampleandeval_parallel.py) read the terminal from a background job (SIGTTIN); resumed, it reads again and the group stops again. What works: `fg` in shell 100 on pts/3, or K to kill.'),
      text,
    );
    assert.ok(text.includes('y = resume anyway, K = kill instead, n/Esc = no'), text);
    for (const l of plain(f).split('\n')) assert.ok(l.length <= 80, l);
    await press(inst, 'K');
    await frameMatching(inst, (p) => p.includes('Kill (stop, rescan, SIGKILL): 3 processes?'), 'kill confirmation of the same tree');
    assert.equal(actions.calls.length, 0, 'nothing sent before the second confirmation');
    await press(inst, 'y');
    await waitFor(() => actions.calls.length === 1, { what: 'kill call' });
    assert.equal(actions.calls[0]!.action, 'kill');
    assert.deepEqual(actions.calls[0]!.targets!.map((t) => t.pid), [110, 111, 112]);
    inst.unmount();
  });

  test('resume without a terminal stop asks plainly; the result counts only processes that were stopped', async () => {
    const actions = new FakeActions();
    actions.outcome = 'resumed';
    const inst = mount(new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts })), actions);
    await frameMatching(inst, (p) => p.includes('vim notes.txt'), 'tree');
    await press(inst, KEY.down, 'c');
    const f = await frameMatching(inst, (p) => p.includes('Resume (SIGCONT): 3 processes?'), 'plain confirmation');
    assert.ok(!plain(f).includes('pointless'));
    await press(inst, 'y');
    // 110 was stopped (Tl); 112 (D) was not; the zombie 111 is acted on through its parent.
    const r = await frameMatching(inst, (p) => /cont: /.test(p), 'result');
    assert.match(plain(r), /cont: 1 resumed; 2 were not stopped \(nothing to resume\)/);
    inst.unmount();
  });

  test('a long result is shown whole, wrapped over several lines, until a key closes it', async () => {
    const many = [proc(100, 1, { cmd: 'bash' })];
    for (let i = 0; i < 6; i++) many.push(proc(120 + i, 100, { cmd: `python3 worker_${i}.py`, stat: 'D' }));
    const actions = new FakeActions();
    const why = 'still in D state after SIGKILL: it waits in the driver (nv_wait), retried for 10 s';
    actions.signal = async (action, targets) => {
      actions.calls.push({ kind: 'signal', action, targets });
      return targets.map((t) => ({ pid: t.pid, startTime: t.startTime, cmd: t.cmd, outcome: 'survived' as const, why }));
    };
    const inst = mount(new FakeSource(data({ snapshot: snapshot(many, simGpu()), verdicts: new Map() })), actions, { columns: 80, rows: 24 });
    await frameMatching(inst, (p) => p.includes('worker_5'), 'tree');
    await press(inst, 'K', 'y');
    const f = await frameMatching(inst, (p) => p.includes('any key closes'), 'result overlay');
    const body = plain(f).split('\n');
    const start = body.findIndex((l) => l.startsWith('Result'));
    const text = body.slice(start + 1).map((l) => l.trim()).filter((l) => l !== '').join(' ');
    assert.ok(text.includes(`kill: 7 survived (100: ${why}; 120: ${why}; 121: ${why}; +4 more)`), text);
    for (const l of body) assert.ok(l.length <= 80, l);
    await press(inst, 'x');
    await frameMatching(inst, (p) => !p.includes('any key closes') && p.includes('worker_5'), 'closed by a key');
    assert.equal(actions.calls.length, 1, 'the closing key did nothing else');
    inst.unmount();
  });

  test('survivors are reported in the result line', async () => {
    const src = new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts }));
    const actions = new FakeActions();
    actions.outcome = 'survived';
    const inst = mount(src, actions);
    await frameMatching(inst, (p) => p.includes('vim notes.txt'), 'tree');
    await press(inst, KEY.down, KEY.down, KEY.down, 'K', 'y');
    await frameMatching(inst, (p) => p.includes('kill: 1 survived (112: in D state)'), 'survivor line');
    inst.unmount();
  });

  test('--readonly: action keys are refused and the actions object is never called', async () => {
    const src = new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts, runs: [run('r1')] }));
    const actions = new FakeActions(true);
    const inst = mount(src, actions);
    await frameMatching(inst, (p) => p.includes('READ-ONLY'), 'readonly header');
    for (const k of ['K', 'T', 'c', 'L', 'S']) {
      await press(inst, KEY.down, k);
      await frameMatching(inst, (p) => p.includes('read-only mode (--readonly): actions are disabled'), `refusal of ${k}`);
      assert.ok(!plain(inst.lastFrame()).includes('y/Enter = yes'), 'no confirmation');
      await press(inst, 'y');
    }
    assert.equal(actions.calls.length, 0);
    inst.unmount();
  });

  test('L launches the batch after one confirmation; S stops the selected run', async () => {
    const src = new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts, runs: [run('r1')] }));
    const actions = new FakeActions(false, '/work/demo.yaml');
    const inst = mount(src, actions, { grouping: 'run' });
    await frameMatching(inst, (p) => p.includes('-- run r1'), 'run group');
    await press(inst, 'L');
    await frameMatching(inst, (p) => p.includes('Launch /work/demo.yaml as a detached run?'), 'launch confirmation');
    await press(inst, 'y');
    await frameMatching(inst, (p) => p.includes('launched run r-new'), 'launched');
    // Cursor on the run header row (first row) → S.
    await press(inst, 'S');
    await frameMatching(inst, (p) => p.includes('Stop run r1 demo (running)'), 'stop confirmation');
    await press(inst, 'y');
    await frameMatching(inst, (p) => p.includes('stopped run r1'), 'stopped');
    assert.deepEqual(
      actions.calls.map((c) => [c.kind, c.runId ?? null]),
      [
        ['launch', null],
        ['stop', 'r1'],
      ],
    );
    inst.unmount();
  });

  test('L without a batch file explains how to give one', async () => {
    const inst = mount(new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts })), new FakeActions(false, null));
    await frameMatching(inst, (p) => p.includes('vim notes.txt'), 'tree');
    await press(inst, 'L');
    await frameMatching(inst, (p) => p.includes('no batch to launch: start with --batch FILE or create ./reaper.yaml'), 'message');
    inst.unmount();
  });

  test('keys typed in one chunk are handled one by one', async () => {
    const inst = mount(new FakeSource(data({ snapshot: snapshot(batchTree(), simGpu()), verdicts })));
    await frameMatching(inst, (p) => p.includes('vim notes.txt'), 'tree');
    inst.stdin.write('jjj\r');
    await frameMatching(inst, (p) => p.includes('details: pid 112'), 'details of the 4th row');
    inst.unmount();
  });
});
