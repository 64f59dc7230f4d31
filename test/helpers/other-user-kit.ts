/**
 * What a test needs to run reaper as an unprivileged user who may not be able to read the
 * checkout (CI clones into a folder only root can enter): the CLI as one esbuild bundle of this
 * build, the examples and the tree fixtures, copied into a world-readable temp folder.
 * Call prepareOtherUserKit() in a before() hook; otherUserKit() then answers synchronously.
 */
import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface OtherUserKit {
  readonly dir: string;
  /** The bundled CLI: run it as `node <cli> …`. */
  readonly cli: string;
  /** Copy of examples/ (ends with a slash). */
  readonly examples: string;
  /** Copy of test/fixtures/trees/ (ends with a slash). */
  readonly fixtures: string;
}

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const BUILT_CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
let kit: OtherUserKit | null = null;
let preparing: Promise<OtherUserKit> | null = null;

function openUp(p: string): void {
  const st = statSync(p);
  if (st.isDirectory()) {
    chmodSync(p, 0o755);
    for (const e of readdirSync(p)) openUp(path.join(p, e));
  } else {
    chmodSync(p, st.mode & 0o111 ? 0o755 : 0o644);
  }
}

export function prepareOtherUserKit(): Promise<OtherUserKit> {
  preparing ??= (async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reaper-user-kit-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
    const { bundleCli } = (await import(pathToFileURL(path.join(REPO, 'scripts', 'bundle.mjs')).href)) as {
      bundleCli(o: { root: string; entry: string; outfile: string }): Promise<void>;
    };
    const cli = path.join(dir, 'reaper.mjs');
    await bundleCli({ root: REPO, entry: BUILT_CLI, outfile: cli });
    cpSync(path.join(REPO, 'examples'), path.join(dir, 'examples'), { recursive: true });
    cpSync(path.join(REPO, 'test', 'fixtures', 'trees'), path.join(dir, 'fixtures', 'trees'), { recursive: true });
    openUp(dir);
    kit = { dir, cli, examples: path.join(dir, 'examples') + '/', fixtures: path.join(dir, 'fixtures', 'trees') + '/' };
    return kit;
  })();
  return preparing;
}

export function otherUserKit(): OtherUserKit {
  if (!kit) throw new Error('otherUserKit(): call prepareOtherUserKit() in a before() hook first');
  return kit;
}
