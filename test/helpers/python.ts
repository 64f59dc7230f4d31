/**
 * The python3 the tests run: the first one on PATH that every user can run (fixtures also run
 * as a throwaway unprivileged user, who cannot enter root's home where pyenv shims live), as an
 * absolute path, found here rather than named: no interpreter path is written into a test.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** Every folder above it can be entered by others, and the file run by them. */
function everyoneCanRun(file: string): boolean {
  try {
    if ((statSync(file).mode & 0o001) === 0) return false;
    for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
      if ((statSync(dir).mode & 0o001) === 0) return false;
      if (dir === path.dirname(dir)) return true;
    }
  } catch {
    return false;
  }
}

function onPath(name: string): string | null {
  let first: string | null = null;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir || !path.isAbsolute(dir)) continue;
    const p = path.join(dir, name);
    try {
      accessSync(p, constants.X_OK);
    } catch {
      continue;
    }
    if (everyoneCanRun(p)) return p;
    first ??= p;
  }
  return first;
}

export const PYTHON = onPath('python3') ?? 'python3';
