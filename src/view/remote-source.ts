/**
 * Another host as a HostSource: one long-lived `ssh HOST <reaper> agent --interval MS` through the
 * transport (src/remote/ssh.ts), its stdout fed to an AgentClient, each view converted by
 * wire-snapshot.ts. A host that fails (unreachable, key refused, hung before or after the hello,
 * killed mid-stream, garbage) becomes one `link` error within its deadline, its rows go away, and
 * it is tried again with backoff; nothing it does blocks the caller. Acts go through
 * AgentClient.act with the identities captured when the key was pressed; the agent re-checks each.
 */
import { PassThrough, Writable } from 'node:stream';
import { protectionOf, type ReapTarget } from '../analysis/index.js';
import { NO_GPU_STATE } from '../model/gpu.js';
import type { ActionOutcome, HostLink, LiveData, SignalAction } from '../model/live.js';
import type { ProcInfo } from '../model/proc.js';
import { sanitizeText } from '../model/sanitize.js';
import { AgentActError, AgentClient } from '../remote/agent-client.js';
import type { HostSpec } from '../remote/hosts.js';
import { MAX_AGENT_LINE_BYTES, type WireProc, type WireResult } from '../remote/protocol.js';
import { classifySshOutcome, openSshStream, remoteCommand, type SshOptions, type SshStream } from '../remote/ssh.js';
import type { HostSource } from './host-source.js';
import { modelFromView } from './wire-snapshot.js';

export interface RemoteSourceOptions {
  readonly intervalMs: number;
  /** The agent explains every user's processes (--all). */
  readonly allUsers: boolean;
  /** `--gpus` for the agent (auto, none, sim:N); default: the agent's own default. */
  readonly gpus?: string;
  readonly ssh: SshOptions;
  /** The hello must come within this after ssh starts (connect + start of reaper there). Default 15 s. */
  readonly helloTimeoutMs?: number;
  /** No message for this long after the hello: the connection is dropped. Default max(10 s, 5 intervals). */
  readonly idleMs?: number;
  /** Backoff between attempts: first, then doubled up to max. Defaults 1 s and 30 s. */
  readonly backoffMs?: { readonly first: number; readonly max: number };
}

const oneLine = (s: string): string => sanitizeText((s.split('\n')[0] ?? '').slice(0, 240));

const CONNECTING: HostLink = { state: 'connecting', error: null, latencyMs: null, reaperVersion: null };

function emptyData(name: string, intervalMs: number, link: HostLink): LiveData {
  return {
    snapshot: null,
    gpu: NO_GPU_STATE,
    verdicts: new Map(),
    runs: [],
    host: { hostname: name, uptimeSec: null, cpuPercent: null, cpuCount: null, memUsedKiB: null, memTotalKiB: null },
    probe: { state: 'starting', message: null, scanMs: null, intervalMs },
    protection: () => null,
    link,
  };
}

/** What the agent's outcome means on this screen: a target it refused was never signalled (skipped). */
function outcomeFromWire(host: string, r: WireResult): ActionOutcome {
  return {
    pid: r.pid,
    startTime: r.startTime,
    cmd: sanitizeText(r.cmd),
    outcome: r.outcome === 'refused' ? 'skipped' : r.outcome,
    why: r.detail === null ? (r.outcome === 'refused' ? 'refused by the host' : null) : sanitizeText(r.detail),
    host,
  };
}

export class RemoteSource implements HostSource {
  readonly local = false;
  readonly name: string;
  private readonly listeners = new Set<() => void>();
  private data: LiveData;
  private stream: SshStream | null = null;
  private client: AgentClient | null = null;
  private retry: NodeJS.Timeout | null = null;
  private backoff: number;
  private stopped = false;
  private attempt = 0;
  private readonly cache = new WeakMap<WireProc, ProcInfo>();

  constructor(
    private readonly spec: HostSpec,
    private readonly opts: RemoteSourceOptions,
  ) {
    this.name = spec.name;
    this.backoff = opts.backoffMs?.first ?? 1000;
    this.data = emptyData(spec.name, opts.intervalMs, CONNECTING);
  }

  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  };

  getData = (): LiveData => this.data;

  private publish(next: LiveData): void {
    this.data = next;
    for (const l of [...this.listeners]) l();
  }

  /** The agent's command line on the host (pure but for the options). */
  agentCommand(): string {
    const args = ['agent', '--interval', String(Math.max(100, Math.min(60_000, Math.round(this.opts.intervalMs))))];
    if (this.opts.allUsers) args.push('--all-users');
    if (this.opts.gpus) args.push('--gpus', this.opts.gpus);
    return remoteCommand(this.spec.command ?? 'reaper', args);
  }

  start(): void {
    if (this.stopped || this.stream) return;
    this.connect();
  }

  refresh = (): void => {
    if (this.client && this.client.hello && !this.client.closed) this.client.refresh();
  };

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.drop();
    this.listeners.clear();
  }

  private connect(): void {
    const attempt = ++this.attempt;
    const t0 = Date.now();
    const input = new PassThrough();
    let stream: SshStream | null = null;
    // The transport hands whole lines (capped at MAX_AGENT_LINE_BYTES, the stream killed past it);
    // the client splits again under its own cap.
    const output = new Writable({
      write: (chunk: Buffer | string, _enc, cb) => {
        const text = String(chunk);
        stream?.send(text.endsWith('\n') ? text.slice(0, -1) : text);
        cb();
      },
      final: (cb) => {
        stream?.close();
        cb();
      },
    });
    const hello = this.opts.helloTimeoutMs ?? 15_000;
    stream = openSshStream({ name: this.spec.name, local: this.spec.local }, this.agentCommand(), {
      ...this.opts.ssh,
      maxLineBytes: MAX_AGENT_LINE_BYTES,
      // Until the hello the client's own deadline applies; this one catches a host hung later.
      idleMs: Math.max(this.opts.idleMs ?? Math.max(10_000, 5 * this.opts.intervalMs), hello + 1000),
      onLine: (line) => {
        input.write(line + '\n');
      },
    });
    const client = new AgentClient(input, output, { helloTimeoutMs: hello, maxLineBytes: MAX_AGENT_LINE_BYTES });
    this.stream = stream;
    this.client = client;
    let fatal: { kind: string; message: string } | null = null;
    let latency: number | null = null;
    client.on('hello', (h) => {
      latency = Date.now() - t0;
      if (attempt === this.attempt) this.publish({ ...this.data, link: { state: 'connecting', error: null, latencyMs: latency, reaperVersion: sanitizeText(h.reaperVersion) } });
    });
    client.on('snapshot', (v) => {
      if (attempt !== this.attempt || this.stopped) return;
      this.backoff = this.opts.backoffMs?.first ?? 1000;
      const m = modelFromView(v, this.cache);
      const allUsers = this.opts.allUsers;
      const snapshot = m.snapshot;
      this.publish({
        snapshot,
        gpu: m.gpu,
        verdicts: m.verdicts,
        runs: m.runs,
        host: m.host,
        probe: { state: 'ok', message: null, scanMs: null, intervalMs: this.opts.intervalMs },
        // The same rules as on this machine, against the host's snapshot (its agent is "reaper
        // itself", its ssh session the ancestors); the host re-checks every rule when it acts.
        protection: (pid) => protectionOf(snapshot, pid, { allUsers }),
        link: { state: 'ok', error: null, latencyMs: latency, reaperVersion: client.hello ? sanitizeText(client.hello.reaperVersion) : null },
      });
    });
    client.on('error', (e) => {
      if (e.fatal) fatal = { kind: e.kind, message: oneLine(e.message) };
    });
    client.on('closed', () => {
      // The stream's outcome says why ssh ended (refused, auth, timeout…); end it if it has not.
      const s = stream!;
      const killer = setTimeout(() => s.kill(), 2000);
      killer.unref?.();
      void s.done.then((o) => {
        clearTimeout(killer);
        if (attempt !== this.attempt || this.stopped) return;
        const err = classifySshOutcome(o);
        const why = fatal ?? (err ? { kind: err.kind, message: err.message } : { kind: 'killed', message: 'the agent ended its stream' });
        this.fail(why);
      });
      if (fatal) s.kill();
    });
    // ssh ending first (the usual way a connection fails): the client sees end of input.
    void stream.done.then(() => input.end());
  }

  private fail(why: { kind: string; message: string }): void {
    this.stream = null;
    this.client = null;
    const wait = this.backoff;
    this.backoff = Math.min(this.opts.backoffMs?.max ?? 30_000, this.backoff * 2);
    this.publish(emptyData(this.name, this.opts.intervalMs, { state: 'error', error: { kind: sanitizeText(why.kind), message: oneLine(why.message) }, latencyMs: null, reaperVersion: null }));
    if (this.stopped) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.stopped) this.connect();
    }, wait);
    this.retry.unref?.();
  }

  private drop(): void {
    const s = this.stream;
    this.client?.close();
    this.stream = null;
    this.client = null;
    this.attempt++;
    if (s) {
      const t = setTimeout(() => s.kill(), 1500);
      t.unref?.();
      void s.done.then(() => clearTimeout(t));
    }
  }

  async signal(action: SignalAction, targets: readonly ReapTarget[], opts: { readonly allUsers: boolean; readonly graceMs?: number }): Promise<ActionOutcome[]> {
    const c = this.client;
    const link = this.data.link;
    if (!c || !c.hello || c.closed) throw new Error(`${this.name}: not connected${link?.error ? ` (${link.error.message})` : ''}`);
    try {
      const results = await c.act(
        targets.map((t) => ({ pid: t.pid, startTime: t.startTime })),
        action,
        { allUsers: opts.allUsers, ...(opts.graceMs !== undefined ? { graceMs: opts.graceMs } : {}) },
      );
      this.refresh();
      return results.map((r) => outcomeFromWire(this.name, r));
    } catch (e) {
      if (e instanceof AgentActError) throw new Error(`${this.name}: ${e.kind}: ${oneLine(e.message)}`);
      throw e;
    }
  }
}
