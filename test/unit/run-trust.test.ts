/**
 * Run folders as records, not authorities: which folders are believed (run-trust.ts), one bad
 * journal hides only its own run, one end record per run, exclusive private run folders, and
 * which cgroup paths a journal may name.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { appendRunEnd, createRunDir, findCgroup2Mount, JournalWriter, readJournal, readRunJournal, readRunsReport, runPaths, summarizeRun, type JournalEvent } from '../../src/launch/index.js';
import { resolveRunCgroup } from '../../src/launch/containment.js';
import { judgeAncestor, judgeOwned } from '../../src/launch/run-trust.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'reaper-run-trust-'));
after(() => rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
const isRoot = process.getuid?.() === 0;

function start(run: string): JournalEvent {
  return { ev: 'run-start', t: 1000, run, name: 'n', file: '/b.yaml', launcher: { pid: 999_999, startTime: 42 }, guardian: null, layers: [], gpus: ['0'], tasks: [{ task: 0, vars: {} }], stages: ['s'], graceMs: 1000, cgroup: null, detached: false };
}

function writeRun(state: string, id: string, lines: string[]): ReturnType<typeof runPaths> {
  const p = runPaths(state, id);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  writeFileSync(p.journal, lines.join('\n') + '\n', { mode: 0o600 });
  return p;
}

describe('which run folders are believed', () => {
  it('judges owners and modes', () => {
    assert.equal(judgeOwned({ uid: 0, mode: 0o40700 }, 0), null);
    assert.equal(judgeOwned({ uid: 1000, mode: 0o40755 }, 1000), null);
    assert.equal(judgeOwned({ uid: 0, mode: 0o40755 }, 1000), null, "root's folders are trusted by everyone");
    assert.match(judgeOwned({ uid: 1000, mode: 0o40700 }, 0)!, /owned by uid 1000, not by you \(uid 0\) or root/);
    assert.match(judgeOwned({ uid: 0, mode: 0o40777 }, 0)!, /writable by everyone/);
    assert.match(judgeOwned({ uid: 0, mode: 0o40775 }, 0)!, /writable by its group/);
    assert.match(judgeOwned({ uid: 0, mode: 0o41777 }, 0)!, /writable by everyone/, 'a sticky state folder is still refused');
    assert.equal(judgeAncestor({ uid: 0, mode: 0o41777 }, 1000), null, '/tmp (sticky) may be on the way');
    assert.match(judgeAncestor({ uid: 0, mode: 0o40777 }, 1000)!, /writable by everyone/);
    assert.match(judgeAncestor({ uid: 1001, mode: 0o40755 }, 1000)!, /owned by uid 1001/);
    assert.equal(judgeAncestor({ uid: 1000, gid: 1000, mode: 0o40775 }, 1000, 1000), null, "one's own folder shared with one's own primary group");
    assert.match(judgeAncestor({ uid: 1000, gid: 100, mode: 0o40775 }, 1000, 1000)!, /writable by its group/);
    assert.match(judgeAncestor({ uid: 0, gid: 1000, mode: 0o40775 }, 1000, 1000)!, /writable by its group/);
  });

  it('a malformed, symlinked, writable, misnamed or foreign journal hides only its own run', () => {
    const state = path.join(tmp, 'mixed', 'reaper');
    mkdirSync(path.join(state, 'runs'), { recursive: true, mode: 0o700 });
    const good = '20260101-000000-0001';
    writeRun(state, good, [JSON.stringify(start(good))]);
    // Malformed: the tasks of its run-start are not a list (used to throw inside every reader).
    const bad = '20260101-000000-0002';
    writeRun(state, bad, [JSON.stringify({ ...start(bad), tasks: 'x' }), JSON.stringify({ ev: 'task-start', t: 1, task: 'zero' })]);
    const link = '20260101-000000-0003';
    mkdirSync(runPaths(state, link).dir, { mode: 0o700 });
    writeFileSync(path.join(tmp, 'other.jsonl'), JSON.stringify(start(link)) + '\n');
    symlinkSync(path.join(tmp, 'other.jsonl'), runPaths(state, link).journal);
    const open = '20260101-000000-0004';
    chmodSync(writeRun(state, open, [JSON.stringify(start(open))]).dir, 0o777);
    const misnamed = '20260101-000000-0005';
    writeRun(state, misnamed, [JSON.stringify(start(good))]);
    const late = '20260101-000000-0006';
    writeRun(state, late, [JSON.stringify(start(late))]);
    const foreign = '20260101-000000-0007';
    if (isRoot) {
      const p = writeRun(state, foreign, [JSON.stringify(start(foreign))]);
      chownSync(p.journal, 65534, 65534);
      chownSync(p.dir, 65534, 65534);
    }

    const r = readRunsReport(state, null);
    assert.deepEqual(
      r.runs.map((x) => x.id),
      [good, late],
    );
    const why = new Map(r.skipped.map((s) => [s.id, s.why]));
    assert.match(why.get(bad)!, /no well-formed run-start/);
    assert.match(why.get(link)!, /journal \S+ is a symbolic link/);
    assert.match(why.get(open)!, /run folder \S+ is writable by everyone/);
    assert.match(why.get(misnamed)!, /names another run/);
    if (isRoot) assert.match(why.get(foreign)!, /owned by uid 65534/);
    assert.throws(() => readRunJournal(state, link), /symbolic link; nothing was signalled/);
  });

  it('one end record per run: a second writer backs off, and readers take the first', () => {
    const state = path.join(tmp, 'ends', 'reaper');
    const id = '20260101-000000-00e1';
    const p = createRunDir(state, id);
    const j = new JournalWriter(p.journal);
    j.append(start(id));
    j.append({ ev: 'task-start', t: 1100, task: 0, stage: 's', attempt: 1, gpu: '0', pid: 5, startTime: 7, pgid: 5, cgroup: null, argv: ['x'], stdout: 'o', stderr: 'e' });
    const { run, events } = readRunJournal(state, id);
    assert.equal(appendRunEnd(run, events, { state: 'interrupted', by: 'reap', detail: 'reaped', exitCode: null, survivors: 0 }, 'killed by reaper reap'), true);
    // The launcher wakes up late and writes its own end: it is not recorded twice.
    j.append({ ev: 'run-end', t: 9999, state: 'interrupted', by: 'launcher', detail: 'late', exitCode: 143, survivors: 0 });
    j.close();
    const after = readJournal(p.journal);
    const ends = after.filter((e) => e.ev === 'run-end');
    assert.equal(ends.length, 1);
    assert.equal((ends[0] as { by: string }).by, 'reap');
    const te = after.find((e) => e.ev === 'task-end') as Extract<JournalEvent, { ev: 'task-end' }>;
    assert.equal(te.status, 'cancelled');
    assert.equal(te.detail, 'killed by reaper reap');
    assert.equal(appendRunEnd(run, after, { state: 'crashed', by: 'guardian', detail: null, exitCode: null, survivors: 0 }, 'x'), false);
    const s = summarizeRun(p.dir, after, null)!;
    assert.equal(s.endedBy, 'reap');
    assert.equal(s.tasks[0]!.status, 'cancelled');
    assert.equal(s.tasks[0]!.detail, 'killed by reaper reap');
    // A journal from before this rule, with two end records: the first one is what happened.
    const two = summarizeRun(p.dir, [start(id), { ev: 'run-end', t: 1, state: 'interrupted', by: 'stop', detail: 'first', exitCode: null, survivors: 0 }, { ev: 'run-end', t: 2, state: 'finished', by: 'launcher', detail: 'second', exitCode: 0, survivors: 0 }], null)!;
    assert.equal(two.endDetail, 'first');
  });

  it('run folders are created exclusively and private (0700, journal 0600)', () => {
    const state = path.join(tmp, 'fresh', 'reaper');
    const id = '20260101-000000-00f1';
    const p = createRunDir(state, id);
    for (const d of [state, path.dirname(p.dir), p.dir, p.logs, p.out]) assert.equal(lstatSync(d).mode & 0o777, 0o700, d);
    new JournalWriter(p.journal).close();
    assert.equal(lstatSync(p.journal).mode & 0o777, 0o600);
    assert.throws(() => createRunDir(state, id), /run id 20260101-000000-00f1 is already in use/);
    assert.throws(() => createRunDir(state, id, { adopt: true }), /already in use/, 'a folder with a journal is never adopted');
    assert.throws(() => new JournalWriter(p.journal), /already in use/);
    // The detached launcher adopts the folder its parent made for launcher.log (no journal yet).
    const id2 = '20260101-000000-00f2';
    createRunDir(state, id2);
    assert.equal(createRunDir(state, id2, { adopt: true }).dir, runPaths(state, id2).dir);
    // An old state folder made with the umask's 0755 is tightened.
    const old = path.join(tmp, 'old', 'reaper');
    mkdirSync(path.join(old, 'runs'), { recursive: true, mode: 0o755 });
    chmodSync(old, 0o755);
    createRunDir(old, id);
    assert.equal(lstatSync(old).mode & 0o777, 0o700);
    assert.throws(() => createRunDir(old, '../../x'), /not a run id/);
    // Nothing starts under a folder that others may write (its guardian would refuse to act).
    const ww = path.join(tmp, 'ww');
    mkdirSync(ww);
    chmodSync(ww, 0o777);
    assert.throws(() => createRunDir(path.join(ww, 'reaper'), id), /refusing to start: \S+ \(on the way to the state folder \S+\) is writable by everyone/);
  });
});

describe('which cgroup a journal may name', () => {
  const mount = findCgroup2Mount();
  const id = '20260101-000000-0c01';
  it('only <mount>[/…]/reaper/<this run id>, as a real cgroup folder', { skip: !mount && 'no cgroup2 mounted' }, () => {
    const why = (p: string): string => {
      const r = resolveRunCgroup(p, id, 0, mount);
      return 'why' in r ? r.why : 'accepted';
    };
    assert.match(why('/tmp/x/reaper/' + id), /not under the cgroup2 mount/);
    assert.match(why(`${mount}/reaper/../system.slice/reaper/${id}`), /not a plain absolute path/);
    assert.match(why(`${mount}/reaper/20260101-000000-ffff`), /not reaper's cgroup of run/);
    assert.match(why(`${mount}/system.slice`), /not reaper's cgroup of run/);
    assert.match(why(`${mount}/reaper/${id}/`), /not a plain absolute path/);
    assert.match(why(`${mount}/reaper/${id}`), /ENOENT|not/, 'a missing run cgroup is not acted on');
  });
});

