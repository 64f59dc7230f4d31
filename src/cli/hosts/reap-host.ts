/**
 * `reaper reap --host H`: plan on H (its own `reaper reap --dry-run --json`, checked), show the
 * plan here as `host:pid(user) command`, confirm, then send exactly the planned identities
 * (pid, start time) to H's `reaper agent`, which re-checks each one there and acts under every
 * rule of a local reap. Nothing is re-planned: a target that changed in between comes back
 * refused ("gone or reused"), and no other process is looked for in its place.
 */
import { ReaperError } from '../../model/errors.js';
import { sanitizeText, toSafeJson } from '../../model/sanitize.js';
import type { HostSpec } from '../../remote/hosts.js';
import { AgentActError } from '../../remote/agent-client.js';
import { MAX_GRACE_MS, type WireResult } from '../../remote/protocol.js';
import { hostReapExitCode, renderHostPlanText, renderHostResultLine, summarizeHostResults } from '../render/reap-hosts.js';
import { openAgentLink } from './agent-link.js';
import { callReaper, describeHostError, EXIT_HOST_FAILED, type HostError, type HostTransport } from './fanout.js';
import { checkPlanText, type HostPlan } from './reap-validate.js';

export interface HostReapArgs {
  readonly action: HostPlan['action'];
  readonly graceMs: number;
  readonly allUsers: boolean;
  readonly dryRun: boolean;
  readonly yes: boolean;
  readonly json: boolean;
  /** `reap --dry-run --json` and the selectors, for the host. */
  readonly planArgs: readonly string[];
  readonly deadlineMs: number;
}

export interface HostReapIo {
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
  readonly width: number;
  /** Asks y/N on the terminal. */
  readonly ask: (question: string) => Promise<boolean>;
}

/** The host's plan, checked; or its error (a remote usage error is a USAGE error here too). */
export async function planOnHost(host: HostSpec, args: HostReapArgs, t: HostTransport): Promise<{ plan: HostPlan; ms: number } | { error: HostError; ms: number }> {
  const call = await callReaper(host, args.planArgs, t, { deadlineMs: args.deadlineMs, okExitCodes: [0] });
  const o = call.outcome;
  if (call.error) {
    // reaper there said "bad input" (exit 2): the same for the operator here, with its line.
    if (call.error.kind === 'remote-exit' && o.exitCode === 2) {
      const line = o.stderr.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('reaper: ')).pop();
      if (line) throw new ReaperError('USAGE', `${sanitizeText(host.name)}: ${sanitizeText(line.slice('reaper: '.length)).slice(0, 300)}`);
    }
    return { error: call.error, ms: o.ms };
  }
  const c = checkPlanText(o.stdout, args.action);
  return c.ok ? { plan: c.plan, ms: o.ms } : { error: c.error, ms: o.ms };
}

/** Sends the plan's identities to the host's agent; the per-target results, or the host's error. */
export async function actOnHost(
  host: HostSpec,
  targets: readonly { pid: number; startTime: number }[],
  opts: { action: HostPlan['action']; graceMs: number; allUsers: boolean; helloTimeoutMs: number },
  t: HostTransport,
): Promise<{ results: WireResult[] } | { error: HostError }> {
  const opened = await openAgentLink(host, t, { helloTimeoutMs: opts.helloTimeoutMs });
  if (!opened.link) return { error: opened.error };
  const { link } = opened;
  try {
    const results = await link.client.act(targets, opts.action, { graceMs: opts.graceMs, allUsers: opts.allUsers, deadlineMs: opts.graceMs + 60_000 });
    return { results };
  } catch (e) {
    const kind = e instanceof AgentActError && e.kind === 'timeout' ? 'timeout' : 'killed';
    return { error: { kind, message: sanitizeText(`act: ${e instanceof Error ? e.message : String(e)}`).slice(0, 240) } };
  } finally {
    await link.close();
  }
}

export async function runReapHost(host: HostSpec, args: HostReapArgs, t: HostTransport, io: HostReapIo): Promise<number> {
  if (args.graceMs > MAX_GRACE_MS) throw new ReaperError('USAGE', `--grace: at most ${MAX_GRACE_MS / 1000} s with --host`);
  const planned = await planOnHost(host, args, t);
  const name = sanitizeText(host.name);
  if ('error' in planned) {
    io.err.write(`reaper: ${name}: ${describeHostError(planned.error, planned.ms)}; nothing was signalled\n`);
    return EXIT_HOST_FAILED;
  }
  const { plan } = planned;
  const json = (results: readonly WireResult[], dryRun: boolean): string =>
    toSafeJson({ host: host.name, plan, results: results.map((r) => ({ host: host.name, ...r })), dryRun }, 2) + '\n';
  const text = renderHostPlanText(host.name, plan, io.width);
  if (args.dryRun || plan.targets.length === 0) {
    io.out.write(args.json ? json([], args.dryRun) : text);
    return plan.jobs.length > 0 && !args.dryRun ? 1 : 0;
  }
  if (!args.yes) {
    (args.json ? io.err : io.out).write(text);
    if (!(await io.ask('proceed? [y/N] '))) {
      (args.json ? io.err : io.out).write('nothing done\n');
      return 1;
    }
  } else if (!args.json) io.out.write(text);

  const acted = await actOnHost(host, plan.targets, { action: args.action, graceMs: args.graceMs, allUsers: args.allUsers, helloTimeoutMs: args.deadlineMs }, t);
  if ('error' in acted) {
    io.err.write(`reaper: ${name}: ${describeHostError(acted.error, null)}; what was done there is unknown: look with reaper ls --hosts ${name}\n`);
    return EXIT_HOST_FAILED;
  }
  if (args.json) io.out.write(json(acted.results, false));
  else {
    for (const r of acted.results) io.out.write(renderHostResultLine(host.name, r, io.width) + '\n');
    io.out.write(summarizeHostResults(acted.results) + '\n');
  }
  return Math.max(hostReapExitCode(acted.results), plan.jobs.length > 0 ? 1 : 0);
}
