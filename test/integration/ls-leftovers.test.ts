import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readProcState } from '../helpers/tui-proc.js';
import { waitFor } from '../helpers/wait-for.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const run = promisify(execFile);


test('ls --leftovers lists a stopped member with its reason and not its running sibling', async (t) => {
  // sh (group leader) with two sleeping children; one of them gets stopped.
  const tree = spawn('sh', ['-c', 'sleep 300 & sleep 300 & wait'], { detached: true, stdio: 'ignore' });
  t.after(() => {
    try {
      process.kill(-tree.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  });
  const kids = await waitFor(() => {
    try {
      const list = readFileSync(`/proc/${tree.pid}/task/${tree.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      return list.length === 2 ? list : null;
    } catch {
      return null;
    }
  }, { what: 'two children' });
  const [stopped, running] = kids as [number, number];
  process.kill(stopped, 'SIGSTOP');
  await waitFor(() => readProcState(stopped)?.state === 'T', { what: 'T state' });

  const { stdout } = await run(process.execPath, [CLI, 'ls', '--leftovers', '--json', '--gpus', 'none', '--pid', String(tree.pid)]);
  const doc = JSON.parse(stdout) as { processes: { pid: number; stat: string; leftover: { reasons: { code: string; text: string }[] } | null }[] };
  const pids = doc.processes.map((p) => p.pid);
  assert.ok(pids.includes(stopped), `stopped pid ${stopped} listed`);
  assert.ok(!pids.includes(running), 'running sibling not listed');
  const row = doc.processes.find((p) => p.pid === stopped)!;
  assert.match(row.stat, /^T/);
  assert.ok(row.leftover && row.leftover.reasons.some((r) => r.code === 'stopped' && /SIGSTOP|stopped/i.test(r.text)));

  const text = await run(process.execPath, [CLI, 'ls', '--leftovers', '--gpus', 'none', '--pid', String(tree.pid)]);
  const line = text.stdout.split('\n').find((l) => new RegExp(`\\b${stopped}\\b`).test(l));
  assert.ok(line && line.startsWith('!') && line.includes('stopped'), `marked row: ${line}`);
});

test('ls --match adds a batch pattern: an orphaned match is a leftover with that reason', async (t) => {
  const token = `317.${process.pid % 1000}`; // a sleep length nothing else on the machine uses
  // sh starts the sleeper and exits: the sleeper is orphaned (adopted by init), its group leader gone.
  const sh = spawn('sh', ['-c', `sleep ${token} & echo $!`], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  const pgid = sh.pid!;
  t.after(() => {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  let out = '';
  sh.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const pid = Number(await waitFor(() => (/^\d+/.test(out.trim()) ? out.trim() : null), { what: 'sleeper pid' }));
  await waitFor(() => readProcState(pid)?.state === 'S', { what: 'sleeper running' });
  const ls = async (...extra: string[]) =>
    JSON.parse((await run(process.execPath, [CLI, 'ls', '--json', '--gpus', 'none', '--pid', String(pid), ...extra])).stdout) as {
      processes: { pid: number; leftover: { reasons: { code: string }[] } | null }[];
    };
  const codes = (doc: Awaited<ReturnType<typeof ls>>) => doc.processes.find((p) => p.pid === pid)?.leftover?.reasons.map((r) => r.code) ?? [];
  assert.ok(!codes(await ls()).includes('batch-pattern'), 'no pattern without --match');
  assert.ok(codes(await ls('--match', `sleep ${token.replace('.', '\\.')}`)).includes('batch-pattern'));
  await assert.rejects(run(process.execPath, [CLI, 'ls', '--match', '(']), (e: { code?: number; stderr?: string }) => e.code === 2 && /bad regular expression/.test(e.stderr ?? ''));
});
