/** Test helpers for the GPU probe tests (paths, polling, fake nvidia-smi scripts, cleanup). */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** <repo>/ from <repo>/<outDir>/test/helpers/gpu-helpers.js. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/** This build's CLI entry (works for dist/ and dist-<helper>/). */
export const cliMain = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
export const ownFixtures = join(repoRoot, 'test', 'fixtures', 'nvidia-smi');
export const sharedFixtures = join(repoRoot, '..', 'shared', 'fixtures', 'nvidia-smi');

export function readOwnFixture(name: string): string {
  return readFileSync(join(ownFixtures, name), 'utf8');
}

export async function waitFor(cond: () => boolean | Promise<boolean>, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'condition'}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

/** A private temp dir, removed by the returned cleanup. */
export function makeTempDir(prefix = 'reaper-gpu-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }) };
}

/** Writes an executable /bin/sh script. */
export function writeScript(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

/** Live (non-zombie) pids whose cmdline contains `marker`. Only our own test processes carry it. */
export function pidsWithMarker(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (!cmd.includes(marker)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && state !== 'X') out.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** SIGKILL every live process carrying our marker (created by this test only). */
export function killMarked(marker: string): void {
  for (const pid of pidsWithMarker(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

export function killGroupQuietly(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

