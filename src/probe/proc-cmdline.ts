/** Pure parsers for /proc/<pid>/cmdline and /proc/<pid>/environ bytes. */
import { sanitizeText } from '../model/sanitize.js';

/** Appended to the last argument of an argv that was cut at the read cap. */
export const CUT_MARK = '…';

/**
 * argv from cmdline bytes: NUL-separated, trailing NUL dropped; [] when empty. Only buf[0, len)
 * is looked at. `truncated`: the read stopped at its cap, so the last argument ends in `…`.
 */
export function parseCmdlineBytes(buf: Buffer, len: number, truncated = false): string[] {
  if (len <= 0) return [];
  const view = buf.subarray(0, len);
  let end = len;
  if (!truncated && view[end - 1] === 0) end--;
  const out: string[] = [];
  let start = 0;
  for (;;) {
    const z = view.indexOf(0, start);
    if (z < 0 || z >= end) {
      out.push(view.toString('utf8', start, end) + (truncated ? CUT_MARK : ''));
      return out;
    }
    out.push(view.toString('utf8', start, z));
    start = z + 1;
  }
}

export function parseCmdline(text: string): string[] {
  const b = Buffer.from(text, 'utf8');
  return parseCmdlineBytes(b, b.length);
}

/** Display command: argv joined, or `[comm]` for kernel threads, zombies and unreadable argv. */
export function buildCmd(argv: readonly string[] | null, comm: string): string {
  if (!argv || argv.length === 0) return `[${sanitizeText(comm)}]`;
  return sanitizeText(argv.join(' '));
}

export interface EnvMarkers {
  readonly runId: string | null;
  readonly taskId: string | null;
}

export const NO_MARKERS: EnvMarkers = Object.freeze({ runId: null, taskId: null });

const RUN = Buffer.from('REAPER_RUN=');
const TASK = Buffer.from('REAPER_TASK=');

/** The value of `key` in NUL-separated KEY=value bytes; `view` is exactly the bytes read. */
function valueOf(view: Buffer, key: Buffer, truncated: boolean): string | null {
  let from = 0;
  for (;;) {
    const at = view.indexOf(key, from);
    if (at < 0) return null;
    if (at === 0 || view[at - 1] === 0) {
      let z = view.indexOf(0, at);
      if (z < 0) {
        // Cut at the read cap: the value may go on, and a prefix of a run id is not that id.
        if (truncated) return null;
        z = view.length;
      }
      return view.toString('utf8', at + key.length, z);
    }
    from = at + 1;
  }
}

/**
 * REAPER_RUN / REAPER_TASK from environ bytes (NUL-separated KEY=value). Searches buf[0, len)
 * only: the reused buffer may be much larger than this file, with stale bytes behind it.
 * `truncated`: the read stopped at its cap (a value cut there is not used).
 */
export function parseEnvMarkersBytes(buf: Buffer, len: number, truncated = false): EnvMarkers {
  if (len <= 0) return NO_MARKERS;
  const view = buf.subarray(0, len);
  const runId = valueOf(view, RUN, truncated);
  const taskId = valueOf(view, TASK, truncated);
  if (runId === null && taskId === null) return NO_MARKERS;
  return { runId, taskId };
}

export function parseEnvMarkers(text: string): EnvMarkers {
  const b = Buffer.from(text, 'utf8');
  return parseEnvMarkersBytes(b, b.length);
}
