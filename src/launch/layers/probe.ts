/** Small probes the layers' `detect` share: find a binary, try a command once. */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';

export function which(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, bin);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  for (const p of [`/usr/bin/${bin}`, `/bin/${bin}`, `/usr/sbin/${bin}`]) if (existsSync(p)) return p;
  return null;
}

export function tryRun(argv: string[]): { ok: boolean; why: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], timeout: 3000 });
  if (r.error) return { ok: false, why: r.error.message };
  if (r.status === 0) return { ok: true, why: '' };
  return { ok: false, why: (r.stderr?.toString() ?? '').trim().split('\n')[0] || `exit ${r.status ?? r.signal}` };
}

export function writable(p: string): boolean {
  try {
    accessSync(p, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
