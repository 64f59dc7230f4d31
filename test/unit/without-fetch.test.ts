/**
 * The screen loads Ink with fetch hidden (src/cli/without-fetch.ts): yoga's WebAssembly is then
 * decoded in place instead of through fetch, which would load undici. Each case runs in a fresh
 * Node, whose module list says what was loaded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const HELPER = fileURLToPath(new URL('../../src/cli/without-fetch.js', import.meta.url));

function loadInk(hidden: boolean): { undici: boolean; fetchType: string; sameFetch: boolean; layout: number } {
  const script = `
const { importWithoutFetch } = await import(${JSON.stringify(HELPER)});
const before = globalThis.fetch;
const load = () => import('yoga-layout');
const { default: Yoga } = await (${hidden} ? importWithoutFetch(load) : load());
const node = Yoga.Node.create();
node.setWidth(120);
node.calculateLayout();
console.log(JSON.stringify({
  undici: process.moduleLoadList.some((m) => /undici|fetch/.test(m)),
  fetchType: typeof globalThis.fetch,
  sameFetch: globalThis.fetch === before,
  layout: node.getComputedWidth(),
}));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('../../../', import.meta.url)) });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { undici: boolean; fetchType: string; sameFetch: boolean; layout: number };
}

describe('importWithoutFetch', () => {
  it('yoga loads and lays out without fetch, undici stays unloaded, and fetch is put back as it was', () => {
    const plain = loadInk(false);
    // The reason for the helper: without it, yoga's loader calls fetch and Node loads undici.
    assert.equal(plain.undici, true, 'yoga-layout no longer calls fetch: importWithoutFetch can go');
    const hidden = loadInk(true);
    assert.deepEqual(hidden, { undici: false, fetchType: 'function', sameFetch: true, layout: 120 });
  });
});
