/**
 * The python3 the tests run: the first one on PATH, as an absolute path (spawned processes may
 * get another PATH), found here rather than named: no interpreter path is written into a test.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

export const PYTHON = onPath('python3') ?? 'python3';
