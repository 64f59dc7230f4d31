/** This reaper's version: set by the bundler in the single-file executable, else package.json. */

// Set by the bundler (scripts/package.mjs); the compiled tree reads package.json.
declare const __REAPER_VERSION__: string | undefined;

let cached: Promise<string> | null = null;

export function readReaperVersion(): Promise<string> {
  cached ??= (async () => {
    if (typeof __REAPER_VERSION__ === 'string') return __REAPER_VERSION__;
    const { readFile } = await import('node:fs/promises');
    try {
      // dist/src/cli/hosts/version.js → the checkout's package.json
      const pkg = JSON.parse(await readFile(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: unknown };
      return typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      return 'unknown';
    }
  })();
  return cached;
}

/**
 * The schema of `reaper ls --json` that `ls --hosts` reads from each host. Bumped on any change
 * a merging reaper cannot read; a host that answers with another one (or none: an older reaper)
 * is that host's `incompatible` error.
 */
export const LS_SCHEMA = 1;
