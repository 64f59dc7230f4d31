/**
 * The one place that sends a signal and turns errno into an outcome (bottom's process_killer.rs).
 * Expected failures are results, never throws: ESRCH = already gone, EPERM = not permitted.
 */
export type SendOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly kind: 'gone' | 'eperm' | 'error'; readonly code: string; readonly message: string };

export function sendSignal(pid: number, signal: NodeJS.Signals): SendOutcome {
  if (!Number.isInteger(pid) || pid <= 1) {
    // Never a process group (negative) or "every process" (-1), never init.
    return { ok: false, kind: 'error', code: 'EINVAL', message: `refusing to signal pid ${pid}` };
  }
  try {
    process.kill(pid, signal);
    return { ok: true };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'UNKNOWN';
    if (code === 'ESRCH') return { ok: false, kind: 'gone', code, message: 'no such process' };
    if (code === 'EPERM') return { ok: false, kind: 'eperm', code, message: 'operation not permitted' };
    return { ok: false, kind: 'error', code, message: (e as Error).message };
  }
}

/** "not permitted (owned by uid 0)" */
export function notPermittedText(uid: number | null): string {
  return `not permitted (owned by uid ${uid ?? 'unknown'})`;
}

/**
 * Signal a whole process group (kill(-pgid)). Only for groups the caller has verified to hold
 * nothing but its own targets; never init's or reaper's own group.
 */
export function sendGroupSignal(pgid: number, signal: NodeJS.Signals): SendOutcome {
  if (!Number.isInteger(pgid) || pgid <= 1) return { ok: false, kind: 'error', code: 'EINVAL', message: `refusing to signal group ${pgid}` };
  try {
    process.kill(-pgid, signal);
    return { ok: true };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'UNKNOWN';
    if (code === 'ESRCH') return { ok: false, kind: 'gone', code, message: 'no such process group' };
    if (code === 'EPERM') return { ok: false, kind: 'eperm', code, message: 'operation not permitted' };
    return { ok: false, kind: 'error', code, message: (e as Error).message };
  }
}
