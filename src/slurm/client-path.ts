/** Where a Slurm client is on PATH (read thin): what `which` would say, without a shell. */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

export function findOnPath(name: string, pathVar: string | undefined): string | null {
  for (const dir of (pathVar ?? '').split(':')) {
    if (dir === '' || !path.isAbsolute(dir)) continue; // a relative PATH entry depends on the cwd: not trusted
    const p = path.join(dir, name);
    try {
      if (!statSync(p).isFile()) continue;
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return null;
}
