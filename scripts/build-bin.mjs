#!/usr/bin/env node
// The installed command: dist/bin/reaper.mjs (package.json "bin"), an esbuild bundle of
// src/cli/main.ts split per command (scripts/bundle.mjs). The compiled tree (dist/src, tsc) stays
// what the tests import; test/e2e/bin-bundle.test.ts runs the bundle itself.
import { bundleCli } from './bundle.mjs';
import { chmodSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bin');
rmSync(outdir, { recursive: true, force: true }); // no stale chunks of an earlier build
await bundleCli({ root, entry: join(root, 'src/cli/main.ts'), outdir });
chmodSync(join(outdir, 'reaper.mjs'), 0o755);
