/**
 * `reaper stop RUN --host H`: H's own `reaper stop RUN` over ssh. Its output is untrusted text:
 * every line is sanitised (JSON is parsed, capped and written again), and its exit status is
 * passed through; a host that cannot be asked is one line and EXIT_HOST_FAILED.
 */
import { sanitizeText, toSafeJson } from '../../model/sanitize.js';
import type { HostSpec } from '../../remote/hosts.js';
import { parseJsonText } from './check.js';
import { callReaper, describeHostError, EXIT_HOST_FAILED, type HostTransport } from './fanout.js';

const MAX_OUTPUT = 1024 * 1024;

/** A copy of an untrusted JSON value with every string sanitised and capped, and bounded size. */
export function sanitizeJsonValue(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') {
    const s = sanitizeText(v.slice(0, 4096));
    return v.length > 4096 ? `${s}…` : s;
  }
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
  if (depth >= 8) return null;
  if (Array.isArray(v)) return v.slice(0, 10_000).map((x) => sanitizeJsonValue(x, depth + 1));
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>).slice(0, 1000)) out[sanitizeText(k.slice(0, 128))] = sanitizeJsonValue(x, depth + 1);
    return out;
  }
  return null;
}

/** Lines of untrusted text, each sanitised (a final newline is not an extra line). */
export function sanitizeLines(text: string): string {
  if (text === '') return '';
  const lines = text.replace(/\n$/, '').split('\n');
  return lines.map((l) => sanitizeText(l.replace(/\r$/, ''))).join('\n') + '\n';
}

export async function runStopHost(
  host: HostSpec,
  args: { runId: string; kill: boolean; waitS: number | undefined; json: boolean },
  t: HostTransport,
  io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream },
): Promise<number> {
  const remote = ['stop', args.runId];
  if (args.kill) remote.push('--kill');
  if (args.waitS !== undefined) remote.push('--wait', String(args.waitS));
  if (args.json) remote.push('--json');
  // The launcher's teardown takes its grace and more: the deadline is generous, and still one.
  const deadlineMs = Math.max(120_000, ((args.waitS ?? 30) + 90) * 1000);
  const call = await callReaper(host, remote, t, { deadlineMs, maxStdoutBytes: MAX_OUTPUT });
  const o = call.outcome;
  const ran = call.error === null || (call.error.kind === 'remote-exit' && o.exitCode !== null);
  if (!ran) {
    io.err.write(`reaper: ${sanitizeText(host.name)}: ${describeHostError(call.error!, o.ms)}\n`);
    return EXIT_HOST_FAILED;
  }
  const parsed = args.json ? parseJsonText(o.stdout, MAX_OUTPUT) : null;
  const value = parsed?.ok ? sanitizeJsonValue(parsed.value) : null;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) io.out.write(toSafeJson({ host: host.name, ...value }) + '\n');
  else io.out.write(sanitizeLines(o.stdout));
  io.err.write(sanitizeLines(o.stderr));
  return o.exitCode ?? EXIT_HOST_FAILED;
}
