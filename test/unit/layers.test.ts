/**
 * Keeps the arrows of ARCHITECTURE.md honest: every relative import in src/ must point to
 * its own layer or to one below it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ALLOWED: Record<string, readonly string[]> = {
  model: [],
  analysis: ['model'],
  probe: ['model'],
  // Slurm client plumbing sits beside probe: it runs clients and parses what they print.
  slurm: ['model'],
  actions: ['model', 'analysis', 'probe', 'slurm'],
  launch: ['model', 'analysis', 'probe', 'actions', 'slurm'],
  tui: ['model', 'analysis'],
  // Other hosts: the ssh transport, the wire protocol and its client (pure or stream-only), so
  // any surface may use them; the agent's server side lives in cli (it needs probe and actions).
  remote: ['model'],
  // One host's live data and actions, local or remote, behind one interface (the screen, ls, reap).
  view: ['model', 'analysis', 'probe', 'actions', 'launch', 'slurm', 'remote'],
  cli: ['model', 'analysis', 'probe', 'actions', 'launch', 'tui', 'slurm', 'remote', 'view'],
};

// Runs from dist/test/unit: the TypeScript sources are at the repository root.
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const src = join(repo, 'src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

test('imports point only down the layers', { skip: !existsSync(src) && 'sources not found' }, () => {
  const bad: string[] = [];
  let checked = 0;
  for (const file of files(src)) {
    const layer = relative(src, file).split('/')[0]!;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/g)) {
      const spec = m[1] ?? m[2]!;
      const target = relative(src, resolve(dirname(file), spec)).split('/')[0]!;
      checked++;
      if (target === layer) continue;
      if (!(ALLOWED[layer] ?? []).includes(target)) bad.push(`${relative(repo, file)} → ${spec}`);
    }
  }
  assert.ok(checked > 100, `only ${checked} imports seen`);
  assert.deepEqual(bad, []);
});
