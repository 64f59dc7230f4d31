#!/usr/bin/env node
// Builds the single-file executable build/reaper (Node single executable application).
// The SEA main must be CommonJS but Ink's yoga-layout uses top-level await, so the ESM
// bundle travels as an SEA asset and a small CommonJS main writes it to a cache folder
// and import()s it (facts.md). Nothing is downloaded: esbuild and postject come from npm.
import { bundleCli } from './bundle.mjs';
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build');
mkdirSync(out, { recursive: true });

await bundleCli({ root, entry: join(root, 'src/cli/main.ts'), outfile: join(out, 'reaper.mjs') });

writeFileSync(
  join(out, 'sea-main.cjs'),
  `'use strict';
const { getAsset } = require('node:sea');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const code = getAsset('reaper.mjs', 'utf8');
const hash = crypto.createHash('sha256').update(code).digest('hex').slice(0, 16);
const base = process.env.XDG_CACHE_HOME || path.join(os.homedir() || os.tmpdir(), '.cache');
const dir = path.join(base, 'reaper');
const file = path.join(dir, 'reaper-' + hash + '.mjs');
if (!fs.existsSync(file)) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = file + '.' + process.pid + '.tmp';
  fs.writeFileSync(tmp, code, { mode: 0o600 });
  fs.renameSync(tmp, file);
}
globalThis.__REAPER_SEA__ = true;
// The SEA runtime passes [exe, exe, ...args]; the bundle reads process.argv.slice(2).
import(pathToFileURL(file).href).catch((e) => { console.error(e); process.exit(70); });
`,
);

writeFileSync(
  join(out, 'sea-config.json'),
  JSON.stringify({
    main: join(out, 'sea-main.cjs'),
    output: join(out, 'sea-prep.blob'),
    disableExperimentalSEAWarning: true,
    assets: { 'reaper.mjs': join(out, 'reaper.mjs') },
  }),
);
execFileSync(process.execPath, ['--experimental-sea-config', join(out, 'sea-config.json')], { stdio: 'pipe' });
const exe = join(out, 'reaper');
rmSync(exe, { force: true });
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
execFileSync(
  process.execPath,
  [join(root, 'node_modules/postject/dist/cli.js'), exe, 'NODE_SEA_BLOB', join(out, 'sea-prep.blob'), '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'],
  // postject warns about ELF note sections on every run; show its output only on failure.
  { stdio: 'pipe' },
);
console.log(`built ${exe}`);
