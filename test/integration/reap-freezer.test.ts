/**
 * A process held by a cgroup freezer is never reported "resumed": SIGCONT cannot run it, and
 * /proc shows it S (cgroup v2) or D (v1), never T. Real cgroups, made and removed by the test
 * (root, a writable cgroup2 mount or a v1 freezer mount; skipped with the reason otherwise).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { waitFor } from '../helpers/wait-for.js';
import { cleanup, isGone, PYTHON, runCli, spawnFixture, startTimeOf, stateOf, uniqueMarker } from '../helpers/reap-trees.js';

interface ReapDoc {
  results: Array<{ pid: number; outcome: string; why: string | null }>;
}

function mountOf(fstype: string, superOpt?: string): string | null {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const post = line.slice(sep + 3).split(' ');
    if (post[0] !== fstype) continue;
    if (superOpt && !(post[2] ?? '').split(',').includes(superOpt)) continue;
    const pre = line.slice(0, sep).split(' ');
    if (pre[3] !== '/') continue;
    return pre[4]!;
  }
  return null;
}

const root = process.getuid?.() === 0;
const v2Mount = mountOf('cgroup2');
const v1Mount = mountOf('cgroup', 'freezer');

/** A cgroup folder of our own, or the reason there is none. */
function makeCgroup(mount: string | null, version: string): string {
  if (!mount) throw new Error(`no ${version} mount`);
  const dir = `${mount}/${uniqueMarker('reaper-freezer-test-')}`;
  mkdirSync(dir);
  return dir;
}

function skipWhy(mount: string | null, file: string, what: string): string | false {
  if (!root) return 'needs root (creates a cgroup)';
  if (!mount) return `no ${what} mount here`;
  if (!existsSync(`${mount}/${file}`) && !existsSync(`${mount}/cgroup.procs`)) return `${what} at ${mount} has no ${file}`;
  return false;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

async function sleeper(marker: string) {
  return spawnFixture<{ pid: number }>([PYTHON, '-c', 'import os, time; print(\'{"pid": %d}\' % os.getpid(), flush=True); time.sleep(3600)', marker]);
}

/** Thaw, kill what the test made, wait for the cgroup to empty, remove it. */
async function removeCgroup(dir: string, thaw: () => void, pids: number[], marker: string): Promise<void> {
  try {
    thaw();
  } catch {
    /* already gone */
  }
  cleanup({ pids, marker });
  try {
    await waitFor(() => readFileSync(`${dir}/cgroup.procs`, 'utf8').trim() === '', { what: 'cgroup empty', timeoutMs: 10_000 });
    rmdirSync(dir);
  } catch (e) {
    if (existsSync(dir)) throw e;
  }
}

describe('cont on a frozen cgroup', () => {
  it('cgroup v2: a stopped member and a running one in a frozen cgroup are "survived: its cgroup … is frozen", never resumed', { skip: skipWhy(v2Mount, 'cgroup.procs', 'cgroup2') }, async (t) => {
    const marker = uniqueMarker();
    const dir = makeCgroup(v2Mount, 'cgroup2');
    const stopped = await sleeper(marker);
    const running = await sleeper(marker);
    t.after(() => removeCgroup(dir, () => writeFileSync(`${dir}/cgroup.freeze`, '0'), [stopped.pid, running.pid], marker));
    writeFileSync(`${dir}/cgroup.procs`, String(stopped.pid));
    writeFileSync(`${dir}/cgroup.procs`, String(running.pid));
    process.kill(stopped.pid, 'SIGSTOP');
    await waitFor(() => stateOf(stopped.pid) === 'T', { what: 'stopped' });
    writeFileSync(`${dir}/cgroup.freeze`, '1');
    await waitFor(() => /^frozen 1$/m.test(readFileSync(`${dir}/cgroup.events`, 'utf8')), { what: 'cgroup frozen' });

    const res = await runCli(['reap', '--match', marker, '--signal', 'cont', '--yes', '--json', '--gpus', 'none']);
    assert.equal(res.code, 1, res.stderr + res.stdout);
    const doc = JSON.parse(res.stdout) as ReapDoc;
    const why = new RegExp(`^not resumed: its cgroup ${escapeRe(dir)} is frozen; thaw it: echo 0 > ${escapeRe(dir)}/cgroup\\.freeze$`);
    for (const pid of [stopped.pid, running.pid]) {
      const r = doc.results.find((x) => x.pid === pid);
      assert.equal(r?.outcome, 'survived', JSON.stringify(doc.results));
      assert.match(r!.why!, why);
    }
    assert.match(readFileSync(`${dir}/cgroup.events`, 'utf8'), /^frozen 1$/m, 'still frozen, as reported');

    // The SIGCONT was delivered: once thawed, the member runs, and a second cont finds nothing stopped.
    writeFileSync(`${dir}/cgroup.freeze`, '0');
    await waitFor(() => /^frozen 0$/m.test(readFileSync(`${dir}/cgroup.events`, 'utf8')), { what: 'thawed' });
    await waitFor(() => stateOf(stopped.pid) === 'S', { what: 'running after the thaw' });
    const again = await runCli(['reap', '--pid', String(stopped.pid), '--signal', 'cont', '--yes', '--json', '--gpus', 'none']);
    assert.equal(again.code, 0, again.stderr + again.stdout);
    assert.deepEqual((JSON.parse(again.stdout) as ReapDoc).results.map((r) => [r.pid, r.outcome]), [[stopped.pid, 'not-stopped']]);
  });

  it('cgroup v1 freezer: cont reports the frozen cgroup; kill is "kill-pending" until it is thawed', { skip: skipWhy(v1Mount, 'freezer.state', 'cgroup v1 freezer') }, async (t) => {
    const marker = uniqueMarker();
    const dir = makeCgroup(v1Mount, 'cgroup v1 freezer');
    const p = await sleeper(marker);
    t.after(() => removeCgroup(dir, () => writeFileSync(`${dir}/freezer.state`, 'THAWED'), [p.pid], marker));
    const start = startTimeOf(p.pid);
    writeFileSync(`${dir}/cgroup.procs`, String(p.pid));
    process.kill(p.pid, 'SIGSTOP');
    await waitFor(() => stateOf(p.pid) === 'T', { what: 'stopped' });
    writeFileSync(`${dir}/freezer.state`, 'FROZEN');
    await waitFor(() => readFileSync(`${dir}/freezer.state`, 'utf8').trim() === 'FROZEN', { what: 'cgroup frozen' });

    const res = await runCli(['reap', '--pid', String(p.pid), '--signal', 'cont', '--yes', '--json', '--gpus', 'none']);
    assert.equal(res.code, 1, res.stderr + res.stdout);
    const r = (JSON.parse(res.stdout) as ReapDoc).results[0]!;
    assert.equal(r.outcome, 'survived', JSON.stringify(r));
    assert.match(r.why!, new RegExp(`its cgroup ${escapeRe(dir)} is frozen; thaw it: echo THAWED > ${escapeRe(dir)}/freezer\\.state$`));

    const kill = await runCli(['reap', '--pid', String(p.pid), '--signal', 'kill', '--yes', '--json', '--gpus', 'none']);
    assert.equal(kill.code, 1, kill.stderr + kill.stdout);
    const k = (JSON.parse(kill.stdout) as ReapDoc).results[0]!;
    assert.equal(k.outcome, 'kill-pending', JSON.stringify(k));
    assert.match(k.why!, /^SIGKILL sent, but its cgroup .* is frozen; thaw it: .*: it dies when thawed$/);
    assert.ok(!isGone(p.pid, start), 'held by the freezer, as reported');
    writeFileSync(`${dir}/freezer.state`, 'THAWED');
    await waitFor(() => isGone(p.pid, start), { what: 'dies once thawed' });
  });
});
