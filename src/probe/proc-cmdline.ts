/** Pure parsers for /proc/<pid>/cmdline and /proc/<pid>/environ bytes. */
import { sanitizeText } from '../model/sanitize.js';

/** argv from cmdline bytes: NUL-separated, trailing NUL dropped; [] when empty. */
export function parseCmdlineBytes(buf: Buffer, len: number): string[] {
  if (len <= 0) return [];
  let end = len;
  if (buf[end - 1] === 0) end--;
  const out: string[] = [];
  let start = 0;
  for (;;) {
    const z = buf.indexOf(0, start);
    if (z < 0 || z >= end) {
      out.push(buf.toString('utf8', start, end));
      return out;
    }
    out.push(buf.toString('utf8', start, z));
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

function valueOf(buf: Buffer, len: number, key: Buffer): string | null {
  let from = 0;
  for (;;) {
    const at = buf.indexOf(key, from);
    if (at < 0 || at + key.length > len) return null;
    if (at === 0 || buf[at - 1] === 0) {
      let z = buf.indexOf(0, at);
      if (z < 0 || z > len) z = len;
      return buf.toString('utf8', at + key.length, z);
    }
    from = at + 1;
  }
}

/** REAPER_RUN / REAPER_TASK from environ bytes (NUL-separated KEY=value). */
export function parseEnvMarkersBytes(buf: Buffer, len: number): EnvMarkers {
  if (len <= 0) return NO_MARKERS;
  const runId = valueOf(buf, len, RUN);
  const taskId = valueOf(buf, len, TASK);
  if (runId === null && taskId === null) return NO_MARKERS;
  return { runId, taskId };
}

export function parseEnvMarkers(text: string): EnvMarkers {
  const b = Buffer.from(text, 'utf8');
  return parseEnvMarkersBytes(b, b.length);
}
