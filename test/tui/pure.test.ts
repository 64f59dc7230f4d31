/** The TUI's pure parts: header parsers, layout, keys, rows, the incremental-render fix, flags. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cpuPercentBetween, parseCpuTimes, parseMeminfo } from '../../src/probe/host-stats.js';
import { keyIds, keyId, KEYMAP } from '../../src/tui/keymap.js';
import { planLayout, scrollTop, wrapText } from '../../src/tui/layout.js';
import { buildRows, rowTarget } from '../../src/tui/rows.js';
import { rowSegments } from '../../src/tui/components/ProcessTable.js';
import { detailLines } from '../../src/tui/components/DetailsPane.js';
import type { ProcInfo } from '../../src/model/index.js';
import { fixIncrementalFrame, ownTerminal, ENTER_ALT_SCREEN, LEAVE_ALT_SCREEN } from '../../src/tui/terminal.js';
import { colorsFromEnv } from '../../src/tui/theme.js';
import { formatElapsed, formatKiB, fit, bar, groupThousands } from '../../src/tui/format.js';
import { lineText } from '../../src/tui/components/Line.js';
import { ReadonlyRefusal } from '../../src/tui/types.js';
import { createLiveActions, LocalSource, parseTopArgs } from '../../src/cli/commands/top.js';
import { isReaperError } from '../../src/model/index.js';
import { proc, reasons, run, simGpu, snapshot } from '../helpers/tui-fake.js';
import { jobLines } from '../../src/tui/components/JobsPanel.js';
import { createTheme } from '../../src/tui/theme.js';
import { launcherGone, taskEndMs } from '../../src/tui/run-view.js';
import type { TaskSummary } from '../../src/model/index.js';
import { resumeWarnings, terminalStops } from '../../src/tui/resume-advice.js';
import { summarizeOutcomes } from '../../src/tui/targets.js';

describe('header figures', () => {
  test('/proc/stat: busy share between two readings, CPU count', () => {
    const a = parseCpuTimes('cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 50 0 50 400 0 0 0 0 0 0\ncpu1 50 0 50 400 0 0 0 0 0 0\nintr 1\n');
    const b = parseCpuTimes('cpu  150 0 150 900 0 0 0 0 0 0\ncpu0 75 0 75 450 0 0 0 0 0 0\ncpu1 75 0 75 450 0 0 0 0 0 0\n');
    assert.equal(a!.count, 2);
    assert.equal(cpuPercentBetween(a, b), 50);
    assert.equal(cpuPercentBetween(null, b), null, 'unknown on the first reading');
    assert.equal(parseCpuTimes('garbage'), null);
  });

  test('/proc/meminfo: used = total - available, with a fallback for old kernels', () => {
    assert.deepEqual(parseMeminfo('MemTotal:       16000 kB\nMemFree:  1000 kB\nMemAvailable:   6000 kB\n'), { totalKiB: 16000, usedKiB: 10000 });
    assert.deepEqual(parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 100 kB\nCached: 300 kB\n'), { totalKiB: 1000, usedKiB: 500 });
    assert.deepEqual(parseMeminfo(''), { totalKiB: null, usedKiB: null });
  });

  test('NO_COLOR (any non-empty value) turns colours off', () => {
    assert.equal(colorsFromEnv({}), true);
    assert.equal(colorsFromEnv({ NO_COLOR: '1' }), false);
    assert.equal(colorsFromEnv({ NO_COLOR: '' }), true);
  });
});

describe('layout', () => {
  test('the frame is rows-1 lines at every size, the tree keeps at least 3 rows when it can', () => {
    for (const rows of [10, 16, 24, 40, 80]) {
      for (const details of [0, 12]) {
        const l = planLayout({ rows, gpuLines: 9, jobLines: 20, detailLines: details });
        assert.equal(l.header + l.gpu + l.jobs + l.tableHeader + l.tree + l.details + l.status, rows - 1, `rows ${rows}`);
        assert.ok(l.tree >= 3, `tree ${l.tree} at ${rows}`);
      }
    }
    const tiny = planLayout({ rows: 3, gpuLines: 3, jobLines: 3, detailLines: 0 });
    assert.ok(tiny.total <= 2);
  });

  test('the viewport follows the cursor with the least movement', () => {
    assert.equal(scrollTop(0, 5, 10, 100), 0);
    assert.equal(scrollTop(0, 10, 10, 100), 1);
    assert.equal(scrollTop(20, 5, 10, 100), 5);
    assert.equal(scrollTop(95, 99, 10, 100), 90);
    assert.equal(scrollTop(50, 3, 10, 8), 0, 'everything fits');
  });

  test('wrap, fit, bar, human sizes and durations', () => {
    assert.deepEqual(wrapText('aaa bbb ccc', 7), ['aaa bbb', 'ccc']);
    assert.deepEqual(wrapText('abcdefghij', 4), ['abcd', 'efgh', 'ij']);
    assert.equal(fit('abcdef', 4), 'abc…');
    assert.equal(fit('ab', 4), 'ab  ');
    assert.equal(bar(0.5, 6), '[||  ]');
    assert.equal(bar(null, 7), '[n/a  ]');
    assert.equal(formatKiB(2048), '2.0M');
    assert.equal(formatElapsed(3725), '1:02:05');
    assert.equal(formatElapsed(59), '59s');
    for (const n of [0, 7, 999, 1000, 2081, 65536, 1234567, 1e9, -4321]) assert.equal(groupThousands(n), n.toLocaleString('en-US'), String(n));
  });

  test('a line is one string: colour codes per segment, inverse over the whole line', () => {
    assert.equal(lineText([{ text: 'a' }, { text: 'T', color: 'yellow', bold: true }]), 'a\x1b[1;33mT\x1b[0m');
    assert.equal(lineText([{ text: 'a' }], true), '\x1b[7ma\x1b[0m');
  });
});

describe('keys', () => {
  test('Ink key objects map to key ids; chunks of typed-ahead keys are split', () => {
    assert.equal(keyId('', { upArrow: true }), 'up');
    assert.equal(keyId('c', { ctrl: true }), 'ctrl+c');
    assert.equal(keyId(' ', {}), 'space');
    assert.deepEqual(keyIds('jjK\r', {}), ['j', 'j', 'K', 'enter']);
    assert.deepEqual(keyIds('a \x7f', {}), ['a', 'space', 'backspace']);
    assert.deepEqual(keyIds('x', {}), ['x']);
  });

  test('the keymap has no key bound twice and every action key is marked as an action', () => {
    const seen = new Set<string>();
    for (const b of KEYMAP)
      for (const k of b.keys) {
        assert.ok(!seen.has(k), `duplicate ${k}`);
        seen.add(k);
      }
    const actions = KEYMAP.filter((b) => b.action).map((b) => b.intent);
    assert.deepEqual(actions.sort(), ['kill', 'launch', 'resume', 'stopRun', 'terminate']);
  });
});

describe('rows', () => {
  const procs = [
    proc(100, 1, { cmd: 'bash' }),
    proc(110, 100, { cmd: 'python3 sample_diffusion.py', runId: 'r1', stat: 'T' }),
    proc(111, 110, { cmd: 'loader', runId: 'r1' }),
    proc(300, 1, { cmd: 'other user', uid: 0, user: 'root' }),
    proc(400, 1, { cmd: 'stray', stat: 'Z' }),
  ];
  const v = new Map([
    [110, reasons(['stopped', 'stopped'])],
    [400, reasons(['zombie', 'zombie'])],
  ]);
  const base = { grouping: 'all' as const, filter: '', leftoversOnly: false, folded: new Set<string>(), allUsers: false };

  test('all: the user’s processes only, tree order, folding hides and counts descendants', () => {
    const rows = buildRows({ snapshot: snapshot(procs), gpu: simGpu(), verdicts: v, runs: [] }, base);
    assert.deepEqual(
      rows.map((r) => (r.kind === 'proc' ? r.proc.pid : r.label)),
      [100, 110, 111, 400],
    );
    const s = snapshot(procs);
    const folded = buildRows({ snapshot: s, gpu: simGpu(), verdicts: v, runs: [] }, { ...base, folded: new Set([`100:${s.byPid.get(100)!.startTime}`]) });
    assert.equal(folded.length, 2);
    assert.equal(folded[0]!.kind === 'proc' && folded[0]!.hiddenCount, 2);
    const all = buildRows({ snapshot: s, gpu: simGpu(), verdicts: v, runs: [] }, { ...base, allUsers: true });
    assert.ok(all.some((r) => r.kind === 'proc' && r.proc.pid === 300));
  });

  test('by run: live runs first, members under their run, leftovers outside any run still shown', () => {
    const rows = buildRows({ snapshot: snapshot(procs), gpu: simGpu(), verdicts: v, runs: [run('r1')] }, { ...base, grouping: 'run' });
    assert.deepEqual(
      rows.map((r) => (r.kind === 'proc' ? r.proc.pid : r.label)),
      ['run r1 demo (running): 2 processes', 110, 111, 'leftovers in no run', 400],
    );
  });

  test('by GPU: holders from nvidia-smi apps and from /dev/nvidiaN, with their trees', () => {
    const gpu = simGpu({ apps: [{ gpuUuid: 'GPU-sim-1', pid: 110, processName: 'python3', usedMemoryMiB: 512 }] });
    const withFd = procs.map((p) => (p.pid === 100 ? { ...p, nvidiaMinors: [0] } : p));
    const rows = buildRows({ snapshot: snapshot(withFd), gpu, verdicts: v, runs: [] }, { ...base, grouping: 'gpu' });
    const labels = rows.map((r) => (r.kind === 'proc' ? `${r.proc.pid}${r.gpuMemMiB !== null ? `:${r.gpuMemMiB}` : ''}` : r.label));
    assert.deepEqual(labels, [
      'GPU 0 Simulated A100: 1 holder',
      '100',
      '110',
      '111',
      'GPU 1 Simulated A100: 1 holder',
      '110:512',
      '111',
      'leftovers on no GPU',
      '400',
    ]);
  });

  test('by GPU: a holder under a leftover parent appears once, under its GPU, not again under "leftovers on no GPU"', () => {
    // The post-mortem shape: a stopped driver (a leftover, holds nothing) whose child holds GPU 0.
    const ps = [
      proc(100, 1, { cmd: 'bash' }),
      proc(110, 100, { cmd: 'python3 batch_sampleandeval_parallel.py', stat: 'T' }),
      proc(112, 110, { cmd: 'python3 sample_diffusion.py', stat: 'T' }),
      proc(113, 112, { cmd: 'loader' }),
    ];
    const vv = new Map([
      [110, reasons(['stopped', 'stopped'])],
      [112, reasons(['gpu-no-owner', 'holds GPU 0'])],
    ]);
    const gpu = simGpu({ apps: [{ gpuUuid: 'GPU-sim-0', pid: 112, processName: 'python3', usedMemoryMiB: 1024 }] });
    const rows = buildRows({ snapshot: snapshot(ps), gpu, verdicts: vv, runs: [] }, { ...base, grouping: 'gpu' });
    const labels = rows.map((r) => (r.kind === 'proc' ? r.proc.pid : r.label));
    assert.deepEqual(labels, ['GPU 0 Simulated A100: 1 holder', 112, 113, 'GPU 1 Simulated A100: 0 holders', 'leftovers on no GPU', 110]);
  });
});

describe('runs: the screen says what the record says', () => {
  const t0 = 1_700_000_000_000;
  const task = (over: Partial<TaskSummary>): TaskSummary => ({ task: 0, gpu: '0', stage: 'sample', status: 'running', detail: null, startedAtMs: t0 + 1000, endedAtMs: null, leaders: [], ...over });
  const text = (lines: ReturnType<typeof jobLines>): string[] => lines.map((l) => l.map((x) => x.text).join(''));

  test('a task stops counting at its end, or at its run\'s end when it has none', () => {
    // The guardian ended the run 30 s in (end record, state "crashed"); the screen looks an hour later.
    const ended = run('r1', {
      startedAtMs: t0,
      endedAtMs: t0 + 31_000,
      live: false,
      state: 'crashed',
      tasks: [task({ task: 0, status: 'cancelled' }), task({ task: 1, status: 'failed', endedAtMs: t0 + 11_000, detail: 'exit 3' })],
    });
    const live = run('r2', { startedAtMs: t0, tasks: [task({ task: 0 })] });
    const now = t0 + 3_600_000;
    assert.equal(taskEndMs(ended.tasks[0]!, ended, now), t0 + 31_000, 'no end of its own: the run\'s end');
    assert.equal(taskEndMs(ended.tasks[1]!, ended, now), t0 + 11_000, 'its own end');
    assert.equal(taskEndMs(live.tasks[0]!, live, now), now, 'a live task keeps counting');
    const lines = text(jobLines([ended, live], now, createTheme(false), null));
    const head = lines.find((l) => l.startsWith('Job r1 '))!;
    assert.match(head, /\s31s$/, head);
    // No line of the ended run claims more than its 31 s (the old screen showed 59:59 and more).
    const r1 = lines.slice(lines.indexOf(head)); // ended runs come after live ones
    assert.ok(r1.length >= 1);
    for (const l of r1) assert.ok(!/\d+:\d\d/.test(l), l);
    const r2task = lines[lines.findIndex((l) => l.startsWith('Job r2 ')) + 1]!;
    assert.match(r2task, /running\s+59:59/, r2task);
    assert.ok(!lines.some((l) => l.includes('LAUNCHER GONE')), lines.join('\n'));
  });

  test('LAUNCHER GONE only for runs with no end record whose launcher and guardian are dead', () => {
    const cleaned = run('r1', { endedAtMs: t0, live: false, state: 'crashed' });
    const gone = run('r2', { endedAtMs: null, live: false, state: 'crashed' });
    const running = run('r3');
    assert.equal(launcherGone(cleaned), false, 'the guardian cleaned it up and wrote the end');
    assert.equal(launcherGone(gone), true);
    assert.equal(launcherGone(running), false);
    const procs = [proc(110, 1, { cmd: 'leftover-a', runId: 'r1' }), proc(120, 1, { cmd: 'leftover-b', runId: 'r2' })];
    const rows = buildRows({ snapshot: snapshot(procs), gpu: simGpu(), verdicts: new Map(), runs: [cleaned, gone] }, { grouping: 'run', filter: '', leftoversOnly: false, folded: new Set(), allUsers: false });
    const labels = rows.filter((r) => r.kind === 'group').map((r) => (r.kind === 'group' ? r.label : ''));
    assert.ok(labels.includes('run r1 demo (crashed): 1 process'), labels.join('|'));
    assert.ok(labels.includes('run r2 demo (crashed LAUNCHER GONE): 1 process'), labels.join('|'));
    const jl = text(jobLines([cleaned, gone], t0, createTheme(false), null));
    assert.ok(jl.some((l) => l.startsWith('Job r2 demo crashed LAUNCHER GONE')), jl.join('\n'));
    assert.ok(jl.some((l) => /^Job r1 demo crashed {2}/.test(l)), jl.join('\n'));
  });
});

describe('resume advice', () => {
  const target = (pid: number, stat: string) => ({ pid, startTime: pid, uid: 1000, user: 'alice', stat, cmd: `cmd-${pid}`, reasons: [] });

  test('one warning per terminal stop, from evidence only; "signal" and "unknown" say nothing', () => {
    const s = snapshot([proc(100, 1, { cmd: 'bash' }), proc(110, 100, { cmd: 'python3 a.py', stat: 'T' }), proc(111, 110, { cmd: 'loader', stat: 'T' }), proc(120, 100, { cmd: 'sleep 300', stat: 'T' })]);
    const v = new Map([
      [110, { reasons: [], stopCause: { kind: 'ttou' as const, culpritPid: null, shellPid: null, tty: 'pts/7' } }],
      [111, { reasons: [], stopCause: { kind: 'ttou' as const, culpritPid: null, shellPid: null, tty: 'pts/7' } }],
      [120, { reasons: [], stopCause: { kind: 'signal' as const, culpritPid: null, shellPid: 100, tty: 'pts/7' } }],
    ]);
    const causes = terminalStops([target(110, 'T'), target(120, 'T')], v);
    assert.equal(causes.length, 1, 'SIGSTOP (kind signal) gets no warning: resuming it works');
    assert.deepEqual(resumeWarnings(causes, s), [
      'Resuming is pointless: pid 110 (python3 a.py) wrote to the terminal or changed its modes from a background job (SIGTTOU); resumed, it writes again and the group stops again. What works: `fg` in the shell that started it (on pts/7), or K to kill.',
    ]);
    assert.equal(terminalStops([target(110, 'T')], new Map()).length, 0, 'no stop cause: nothing claimed');
  });

  test('a resume result counts only processes that were stopped', () => {
    const targets = [target(1, 'T'), target(2, 'S'), target(3, 'R')];
    const out = (pid: number, outcome: 'resumed' | 'survived') => ({ pid, startTime: pid, cmd: 'x', outcome, why: outcome === 'survived' ? 'still stopped (T) after SIGCONT' : null });
    assert.equal(summarizeOutcomes('cont', [out(1, 'resumed'), out(2, 'resumed'), out(3, 'resumed')], targets), 'cont: 1 resumed; 2 were not stopped (nothing to resume)');
    assert.equal(summarizeOutcomes('cont', [out(2, 'resumed')], [target(2, 'S')]), 'cont: nothing resumed; 1 was not stopped (nothing to resume)');
    assert.equal(summarizeOutcomes('cont', [out(1, 'survived')], targets), 'cont: 1 survived (1: still stopped (T) after SIGCONT)');
  });
});

describe("reaper's wrappers fold into the user's row", () => {
  const unshare = ['/usr/bin/unshare', '--pid', '--fork', '--kill-child', '--', 'python3', 'train.py'];
  const tree = (wrapperOver: Partial<ProcInfo> = {}) => [
    proc(100, 1, { cmd: 'node reaper run batch.yaml', runId: 'r1' }),
    proc(4700, 100, { argv: unshare, cmd: unshare.join(' '), comm: 'unshare', runId: 'r1', pgid: 4700, sid: 4700, ...wrapperOver }),
    proc(4701, 4700, { cmd: 'python3 train.py', runId: 'r1', pgid: 4700, sid: 4700 }),
    proc(4702, 4701, { cmd: 'python3 -c loader', runId: 'r1', pgid: 4700, sid: 4700 }),
  ];
  const view = { grouping: 'all' as const, filter: '', leftoversOnly: false, folded: new Set<string>(), allUsers: false };

  test('the wrapper has no row; its child carries the marker and stands for it when acted on', () => {
    const gpu = simGpu({ apps: [{ gpuUuid: 'GPU-sim-0', pid: 4701, processName: 'python3', usedMemoryMiB: 2048 }] });
    const s = snapshot(tree(), gpu);
    const rows = buildRows({ snapshot: s, gpu, verdicts: new Map(), runs: [] }, view).filter((r) => r.kind === 'proc');
    assert.deepEqual(rows.map((r) => (r.kind === 'proc' ? [r.proc.pid, r.depth, r.wrappers.map((w) => w.pid)] : null)), [
      [100, 0, []],
      [4701, 1, [4700]],
      [4702, 2, []],
    ]);
    const row = rows[1]!;
    assert.ok(row.kind === 'proc');
    assert.equal(rowTarget(row).pid, 4700, 'tag and K take the whole task, wrapper included');
    assert.equal(row.gpuMemMiB, 2048);
    const line = rowSegments(row, s, new Set(), createTheme(false)).map((x) => x.text).join('');
    assert.match(line, / \\_ ⊂ python3 train\.py$/);
    assert.ok(line.length <= 80, `${line.length}: the user's script is on an 80-column line`);
    const details = detailLines({ row, snapshot: s, verdicts: new Map(), gpu, runs: [], protection: () => null }, 100, createTheme(false)).map((l) => l.map((x) => x.text).join(''));
    assert.ok(details.includes("⊂ inside reaper's wrapper: pid 4700 unshare (pidns layer), folded into this row; actions take it too"), details.join('\n'));
  });

  test('without the evidence nothing is folded: no run marker, or not a session leader', () => {
    for (const over of [{ runId: null }, { sid: 100, pgid: 100 }]) {
      const rows = buildRows({ snapshot: snapshot(tree(over)), gpu: simGpu(), verdicts: new Map(), runs: [] }, view);
      assert.ok(rows.some((r) => r.kind === 'proc' && r.proc.pid === 4700), JSON.stringify(over));
      assert.ok(rows.every((r) => r.kind !== 'proc' || r.wrappers.length === 0));
    }
  });
});

describe('terminal', () => {
  test('the incremental-render fix moves the cursor up one more line at the start of a frame only', () => {
    assert.equal(fixIncrementalFrame('\x1b[38A\x1b[E\x1b[1Gx'), '\x1b[39A\x1b[E\x1b[1Gx');
    assert.equal(fixIncrementalFrame('\x1b[2A\x1b[1GX\x1b[K\n'), '\x1b[3A\x1b[1GX\x1b[K\n');
    assert.equal(fixIncrementalFrame('\x1b[2K\x1b[1A\x1b[2K\x1b[2A'), '\x1b[2K\x1b[1A\x1b[2K\x1b[2A', 'erase branch untouched');
    assert.equal(fixIncrementalFrame('plain'), 'plain');
  });

  test('the alternate screen is entered, and left once on exit, on a signal and on a crash', () => {
    for (const how of ['restore', 'SIGTERM', 'SIGHUP', 'uncaughtException', 'exit'] as const) {
      const written: string[] = [];
      const handlers = new Map<string, (...a: unknown[]) => void>();
      let exitCode: number | null = null;
      let aborted = 0;
      const fake = {
        on: (ev: string, h: (...a: unknown[]) => void) => (handlers.set(ev, h), fake),
        off: (ev: string) => (handlers.delete(ev), fake),
        exit: (code: number) => {
          exitCode = code;
        },
      };
      const owner = ownTerminal({
        stdout: { write: (s: string) => (written.push(s), true) } as unknown as NodeJS.WriteStream,
        proc: fake as never,
        stderr: { write: () => true } as unknown as NodeJS.WriteStream,
        onAbort: () => aborted++,
      });
      assert.equal(written[0], ENTER_ALT_SCREEN);
      if (how === 'restore') owner.restore();
      else if (how === 'uncaughtException') handlers.get('uncaughtException')!(new Error('boom'));
      else handlers.get(how)!(how);
      handlers.get('exit')?.();
      const leaves = written.filter((w) => w.includes(LEAVE_ALT_SCREEN)).length;
      assert.equal(leaves, 1, `${how}: left exactly once`);
      if (how === 'SIGTERM') assert.equal(exitCode, 143);
      if (how === 'SIGHUP') assert.equal(exitCode, 129);
      if (how === 'uncaughtException') assert.equal(exitCode, 70);
      if (how !== 'restore' && how !== 'exit') assert.equal(aborted, 1, `${how}: the UI is torn down first`);
      owner.dispose();
      assert.equal(handlers.size, 0, 'handlers removed');
    }
  });
});

describe('reaper top flags and actions', () => {
  test('flags are normalised once; bad values are one USAGE error', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reaper-top-args-'));
    try {
      const a = parseTopArgs(['--gpus', 'sim:2', '--interval', '0.5', '--all', '--readonly'], dir);
      assert.deepEqual(a, { gpus: { kind: 'sim', count: 2 }, intervalMs: 500, allUsers: true, readonly: true, batchFile: null });
      assert.equal(parseTopArgs(['--help'], dir), 'help');
      writeFileSync(path.join(dir, 'reaper.yaml'), 'name: x\n');
      assert.equal((parseTopArgs([], dir) as { batchFile: string }).batchFile, path.join(dir, 'reaper.yaml'), './reaper.yaml is the default batch');
      for (const bad of [['--interval', 'fast'], ['--interval', '0'], ['--gpus', 'sim:0'], ['--bogus'], ['extra'], ['--batch', 'missing.yaml']]) {
        assert.throws(
          () => parseTopArgs(bad, dir),
          (e: unknown) => isReaperError(e) && e.code === 'USAGE',
          bad.join(' '),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    }
  });

  test('--readonly: the live actions object refuses by itself (second defence)', async () => {
    const source = new LocalSource({ gpus: { kind: 'none' }, intervalMs: 1000, allUsers: false });
    const actions = createLiveActions({ gpus: { kind: 'none' }, intervalMs: 1000, allUsers: false, readonly: true, batchFile: '/nonexistent.yaml' }, source);
    await assert.rejects(actions.signal('kill', [{ pid: 1, startTime: 1, uid: 0, user: 'root', stat: 'S', cmd: 'init', reasons: [] }]), ReadonlyRefusal);
    await assert.rejects(actions.launch(), ReadonlyRefusal);
    await assert.rejects(actions.stop('x'), ReadonlyRefusal);
    source.stop();
  });
});

test('key hints keep "? help" and "q quit" on an 80-column terminal', async () => {
  const { keyHints } = await import('../../src/tui/components/Overlays.js');
  for (const readonly of [false, true]) {
    const h = keyHints(readonly, 79);
    assert.ok(h.length <= 79, h);
    assert.ok(h.includes('? help') && h.includes('q quit'), h);
    assert.ok(keyHints(readonly, 200).length > h.length);
  }
});
