import { fileURLToPath } from 'node:url';

/**
 * How to start reaper again (the nvidia-smi simulator, the run guardian, a detached
 * launcher). Three shapes exist: the compiled tree (node dist/src/cli/main.js), the esbuild
 * bundle (node reaper.mjs), and the single-file executable, where the binary is the program
 * and takes the subcommand directly. The bundle entry sets the globals below.
 */
declare global {
   
  var __REAPER_SEA__: boolean | undefined;
   
  var __REAPER_BUNDLE__: string | undefined;
}

export function selfCommand(): string[] {
  if (globalThis.__REAPER_SEA__) return [process.execPath];
  if (globalThis.__REAPER_BUNDLE__) return [process.execPath, globalThis.__REAPER_BUNDLE__];
  return [process.execPath, fileURLToPath(new URL('../cli/main.js', import.meta.url))];
}
