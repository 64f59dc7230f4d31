/**
 * `reaper ls --hosts …`: each host's `reaper ls --json` at once (one ssh call per host through
 * its ControlMaster; `local` in-process), every answer checked (ls-validate.ts), merged
 * (ls-merge.ts) and printed as one document or one table. A host that fails is one line; the
 * exit status says some host failed (EXIT_HOST_FAILED) while the rest is still printed.
 */
import { toSafeJson } from '../../model/sanitize.js';
import type { HostSpec } from '../../remote/hosts.js';
import type { LsArgs } from '../render/ls-model.js';
import { hostGpuNotices, renderLsHostsText } from '../render/ls-hosts.js';
import { callReaper, EXIT_HOST_FAILED, forEachHost, hostError, openHostTransport, resolveHosts, type HostTransport } from './fanout.js';
import { lsHostsExitCode, mergeLs, type HostLsResult } from './ls-merge.js';
import { checkLsText, checkLsValue, MAX_LS_BYTES } from './ls-validate.js';
import { readReaperVersion } from './version.js';

export interface LsHostsOptions {
  readonly width: number | undefined;
  /** This machine's document, in-process (the `local` host). */
  readonly buildLocal: () => Promise<{ doc: Record<string, unknown> }>;
  readonly env?: NodeJS.ProcessEnv;
}

async function askHost(h: HostSpec, args: LsArgs, t: HostTransport, opts: LsHostsOptions): Promise<HostLsResult> {
  const t0 = Date.now();
  if (h.local) {
    const { doc } = await opts.buildLocal();
    const c = checkLsValue(doc, h.name);
    return { name: h.name, latencyMs: Date.now() - t0, doc: c.ok ? c.doc : null, error: c.ok ? null : c.error };
  }
  const call = await callReaper(h, args.remoteArgs, t, { deadlineMs: args.hostTimeoutMs, maxStdoutBytes: MAX_LS_BYTES });
  const latencyMs = call.outcome.ms;
  if (call.error) return { name: h.name, latencyMs, doc: null, error: call.error };
  const c = checkLsText(call.outcome.stdout, h.name);
  return { name: h.name, latencyMs, doc: c.ok ? c.doc : null, error: c.ok ? null : c.error };
}

export async function runLsHosts(args: LsArgs, opts: LsHostsOptions): Promise<number> {
  const env = opts.env ?? process.env;
  const hosts = resolveHosts(args.hosts ?? null, env);
  const t = openHostTransport(env);
  const t0 = Date.now();
  const results = await forEachHost(
    hosts,
    (h) => askHost(h, args, t, opts),
    (h, e) => ({ name: h.name, latencyMs: Date.now() - t0, doc: null, error: hostError('failed', e instanceof Error ? e.message : String(e)) }),
  );
  const merged = mergeLs(results, await readReaperVersion());
  if (args.json) {
    process.stdout.write(toSafeJson(merged) + '\n');
  } else {
    process.stdout.write(renderLsHostsText(merged, opts.width !== undefined ? { width: opts.width } : {}));
    for (const l of hostGpuNotices(merged)) process.stderr.write(`reaper: ${l}\n`);
  }
  return lsHostsExitCode(merged, EXIT_HOST_FAILED);
}
