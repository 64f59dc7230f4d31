// The esbuild bundle of reaper: one self-contained ESM file (no node_modules next to it).
// Used by scripts/package.mjs (the single-file executable) and by the tests that run reaper as
// an unprivileged user, who may not be able to read the checkout.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * entry: src/cli/main.ts or the compiled dist/src/cli/main.js.
 * outfile: one self-contained file (the single-file executable's asset, the unprivileged tests).
 * outdir instead: the installed command (dist/bin/reaper.mjs, see scripts/build-bin.mjs), split
 * at each command's dynamic import, so that `reaper ls` loads neither Ink nor React and the screen
 * loads one file per chunk instead of ~400 ES modules (measured: first frame 1.0–1.2 s → 0.35 s).
 */
export async function bundleCli({ root, entry, outfile, outdir }) {
  const split = outdir !== undefined;
  await build({
    entryPoints: split ? { reaper: entry } : [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    ...(split ? { outdir, splitting: true, chunkNames: 'chunks/[name]-[hash]', outExtension: { '.js': '.mjs' } } : { outfile }),
    jsx: 'automatic',
    // ink imports react-devtools-core only when DEV=true, from a module esbuild inlines; left
    // external, esbuild hoists that import to the top of the ESM bundle and every command then
    // fails with ERR_MODULE_NOT_FOUND. A no-op stub keeps DEV=true harmless instead.
    plugins: [
      {
        name: 'stub-react-devtools-core',
        setup(b) {
          b.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: 'react-devtools-core', namespace: 'reaper-stub' }));
          b.onLoad({ filter: /.*/, namespace: 'reaper-stub' }, () => ({
            contents: 'export default { initialize() {}, connectToDevTools() {} };',
            loader: 'js',
          }));
        },
      },
    ],
    // top.tsx sets NODE_ENV only when unset; with the define below that branch is dead code.
    logOverride: { 'assign-to-define': 'silent' },
    define: {
      'process.env.NODE_ENV': '"production"',
      __REAPER_VERSION__: JSON.stringify(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version),
      // Split: every chunk gets the banner and chunks run before the entry, so the entry's own
      // code (src/cli/main.ts) names the file reaper restarts itself with.
      __REAPER_SPLIT_ENTRY__: split ? 'true' : 'false',
    },
    banner: {
      js: [
        "import { createRequire as __reaperCreateRequire } from 'node:module';",
        'const require = __reaperCreateRequire(import.meta.url);',
        ...(split
          ? []
          : ["import { fileURLToPath as __reaperFileURLToPath } from 'node:url';", 'globalThis.__REAPER_BUNDLE__ ??= __reaperFileURLToPath(import.meta.url);']),
      ].join('\n'),
    },
    logLevel: 'warning',
  });
}
