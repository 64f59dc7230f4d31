/**
 * Truth: every field ps also prints equals ps's, on every process of this machine that did not
 * change while both looked (its /proc/PID/stat and statm are byte-identical before and after),
 * plus a spawned set that covers the odd shapes: stopped, zombie, threaded, setsid, niced, mlocked,
 * on a pseudo-terminal, a comm and an argv[0] with ") (" in them, and (as root) another user's.
 *
 * Compared: ppid, pgid, sid, STAT (state + < N L s l +), threads (nlwp), real uid and user
 * (ProcInfo.uid is the real uid: ps's ruid/ruser), RSS in KiB, start time to the second (ps's
 * lstart), tty, and the command line (args; where it is printable ASCII, which ps prints as is).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { ProcInfo, Snapshot } from '../../src/model/index.js';
import { createProcScanner } from '../../src/probe/snapshot.js';
import { startProcTree, type ProcTree } from '../helpers/proc-tree.js';
import { waitFor } from '../helpers/wait-for.js';

const isRoot = process.getuid?.() === 0;
const canSetpriv = spawnSync('setpriv', ['--version']).status === 0;
let tree: ProcTree;
let other: ChildProcess | null = null;

before(async () => {
  tree = await startProcTree();
  process.kill(tree.pids.stopped, 'SIGSTOP');
  if (isRoot && canSetpriv) {
    other = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sleep', '600'], { stdio: 'ignore' });
  }
});

after(() => {
  tree?.kill();
  other?.kill('SIGKILL');
});

/** stat + statm of every process, by pid (a process whose bytes are the same twice did not change). */
function readRaw(): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    try {
      out.set(Number(name), readFileSync(`/proc/${name}/stat`, 'latin1') + '|' + readFileSync(`/proc/${name}/statm`, 'latin1'));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

interface PsRow {
  readonly ppid: number;
  readonly pgid: number;
  readonly sid: number;
  readonly stat: string;
  readonly nlwp: number;
  readonly ruid: number;
  readonly ruser: string;
  readonly rss: number;
  /** lstart as seconds since the epoch. */
  readonly startSec: number;
  readonly tty: string;
  readonly args: string;
}

// pid ppid pgid sid stat nlwp ruid ruser rss lstart(5 words) tty args
const ROW = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})\s+(\S+)\s+(.*)$/;

function readPs(): Map<number, PsRow> {
  const r = spawnSync('ps', ['-eww', '-o', 'pid=,ppid=,pgid=,sid=,stat=,nlwp=,ruid=,ruser:64=,rss=,lstart=,tty=,args='], {
    encoding: 'latin1',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' },
  });
  assert.equal(r.status, 0, r.stderr);
  const out = new Map<number, PsRow>();
  for (const line of r.stdout.split('\n')) {
    const m = ROW.exec(line);
    if (!m) continue;
    out.set(Number(m[1]), {
      ppid: Number(m[2]),
      pgid: Number(m[3]),
      sid: Number(m[4]),
      stat: m[5]!,
      nlwp: Number(m[6]),
      ruid: Number(m[7]),
      ruser: m[8]!,
      rss: Number(m[9]),
      startSec: Date.parse(m[10]!.replace(/\s+/g, ' ') + ' UTC') / 1000,
      tty: m[11]!,
      args: m[12]!.trimEnd(),
    });
  }
  return out;
}

/** What ps prints in its args column for p, or null when it would escape something. */
function expectedArgs(p: ProcInfo): string | null {
  const text = p.argv && p.argv.length > 0 ? p.argv.join(' ') : `[${p.comm}]` + (p.state === 'Z' ? ' <defunct>' : '');
  return /^[\x20-\x7e]*$/.test(text) && !text.startsWith(' ') ? text.trimEnd() : null;
}

/** The fields of p that differ from ps's row, as "field ours≠ps". */
function differences(s: Snapshot, p: ProcInfo, ps: PsRow): string[] {
  const startSec = Math.floor((s.bootTimeMs + (p.startTime * 1000) / s.clockTicks) / 1000);
  const pairs: Array<[string, unknown, unknown]> = [
    ['ppid', p.ppid, ps.ppid],
    ['pgid', p.pgid, ps.pgid],
    ['sid', p.sid, ps.sid],
    ['stat', p.stat, ps.stat],
    ['threads', p.threads, ps.nlwp],
    ['uid', p.uid, ps.ruid],
    ['user', p.user ?? String(p.uid), ps.ruser],
    ['rssKiB', p.rssKiB, ps.rss],
    ['start', startSec, ps.startSec],
    ['tty', p.tty ?? '?', ps.tty],
  ];
  // A kernel worker's name carries the workqueue it serves at this instant ("kworker/1:2-events"),
  // which can change and change back between our two reads of stat: not a process that changed.
  const args = p.isKernelThread && p.comm.startsWith('kworker/') ? null : expectedArgs(p);
  if (args !== null) pairs.push(['args', args, ps.args]);
  return pairs.filter(([, a, b]) => a !== b).map(([k, a, b]) => `${k} ${JSON.stringify(a)}≠${JSON.stringify(b)}`);
}

interface Comparison {
  readonly compared: number;
  readonly total: number;
  readonly mismatches: string[];
  /** "pid field" of each difference, to tell a lasting one from a flicker. */
  readonly keys: ReadonlySet<string>;
  readonly comparedPids: ReadonlySet<number>;
}

function compareOnce(): Comparison {
  const before = readRaw();
  const scanner = createProcScanner();
  const s = scanner.scanSync();
  scanner.close();
  const ps = readPs();
  const afterRaw = readRaw();
  const mismatches: string[] = [];
  const keys = new Set<string>();
  const comparedPids = new Set<number>();
  for (const p of s.processes) {
    const b = before.get(p.pid);
    const row = ps.get(p.pid);
    if (b === undefined || row === undefined || afterRaw.get(p.pid) !== b) continue;
    comparedPids.add(p.pid);
    const d = differences(s, p, row);
    if (d.length > 0) mismatches.push(`pid ${p.pid} (${p.comm}): ${d.join(', ')}`);
    for (const x of d) keys.add(`${p.pid} ${x.split(' ')[0]}`);
  }
  return { compared: comparedPids.size, total: s.processes.length, mismatches, keys, comparedPids };
}

/**
 * Differences that last: a thread that wakes and sleeps within one clock tick flips R/S without
 * moving a byte of stat, so a difference counts only when the same pid differs in the same field
 * in three comparisons in a row.
 */
function lastingMismatches(first: Comparison): string[] {
  let keys = first.keys;
  let last = first;
  for (let i = 0; i < 2 && keys.size > 0; i++) {
    last = compareOnce();
    keys = new Set([...keys].filter((k) => last.keys.has(k)));
  }
  return keys.size === 0 ? [] : last.mismatches.filter((m) => [...keys].some((k) => m.startsWith(`pid ${k.split(' ')[0]} `)));
}

test('every field ps also prints equals ps on every unchanged process, odd shapes included', async () => {
  await waitFor(() => /^T/.test(readFileSync(`/proc/${tree.pids.stopped}/stat`, 'latin1').split(') ')[1] ?? ''), { what: 'the stopped child to stop' });
  const mine = [...Object.values(tree.pids), ...(other?.pid ? [other.pid] : [])];
  if (other) await waitFor(() => readFileSync(`/proc/${other!.pid}/cmdline`, 'latin1').startsWith('sleep'), { what: 'setpriv to exec sleep' });
  // The spawned set is idle, but a busy machine can still move a byte of its stat now and then
  // (a page fault, a timer): compare again until every one of them was compared once.
  const missing = new Set(mine);
  let compared = 0;
  await waitFor(
    () => {
      const c = compareOnce();
      const lasting = lastingMismatches(c);
      assert.deepEqual(lasting, [], `${lasting.length} of ${c.compared} unchanged processes differ from ps, three times in a row`);
      compared = Math.max(compared, c.compared);
      for (const pid of c.comparedPids) missing.delete(pid);
      return missing.size === 0;
    },
    { timeoutMs: 30_000, intervalMs: 200, what: `the spawned processes ${[...missing].join(', ')} to stay unchanged for one comparison` },
  );
  // Most processes of a machine sleep: the comparison must have covered many, not a lucky few.
  assert.ok(compared >= 20, `only ${compared} processes were unchanged`);
});

test('the spawned set shows the shapes it was built for', () => {
  const s = createProcScanner().scanSync();
  const stat = (pid: number): string => s.byPid.get(pid)?.stat ?? 'missing';
  assert.match(stat(tree.pids.stopped), /^T/);
  assert.match(stat(tree.pids.zombie), /^Z/);
  assert.match(stat(tree.pids.threads), /l/);
  assert.match(stat(tree.pids.setsid), /s/);
  assert.match(stat(tree.pids.nice), /N/);
  assert.match(stat(tree.pids.pty), /s\+/);
  assert.ok(s.byPid.get(tree.pids.pty)?.tty?.startsWith('pts/'), 'the pty child has a terminal');
  if (other) assert.equal(s.byPid.get(other.pid!)?.uid, 65534);
});
