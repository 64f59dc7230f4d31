/** Poll a condition until it holds or the deadline passes: tests never sleep-then-assert. */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'condition'}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}

/**
 * spawnSync's output limit for a CLI under test: `ls --json --all` on a machine with thousands
 * of processes is several MB, past Node's 1 MiB default (which kills the child: status null).
 */
export const CLI_MAX_BUFFER = 256 * 1024 * 1024;
