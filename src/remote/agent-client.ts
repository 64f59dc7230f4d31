/**
 * The client end of one `reaper agent` connection: given the agent's output (a child's stdout,
 * an SSH channel) and input, it reads capped lines, validates every message, checks the
 * handshake, keeps the host's current view (snapshot, then deltas) and carries act requests
 * with a deadline. A misbehaving host costs only itself: everything it sends is size-limited,
 * validated and sanitised (protocol.ts), and every problem is one classified `error` event,
 * never a throw, never unbounded memory.
 */
import { applyDelta, viewFromSnapshot, type HostView } from './agent-delta.js';
import { createLineSplitter, type LineSplitter } from './agent-lines.js';
import { sanitizeText } from '../model/sanitize.js';
import { errorLine } from '../model/errors.js';
import {
  encodeMessage,
  MAX_AGENT_LINE_BYTES,
  parseAgentMessage,
  PROTO_VERSION,
  SUPPORTED_PROTOS,
  type ClientMessage,
  type HelloMsg,
  type WireAction,
  type WireResult,
  type WireTarget,
} from './protocol.js';

/**
 * proto: incompatible agent (fatal); handshake: no hello first or in time (fatal);
 * oversized / bad-json / bad-message: a line rejected (the connection goes on);
 * gap: a delta that does not follow the view (a full snapshot is requested); remote: the agent
 * reported an error; io: the stream failed.
 */
export type AgentErrorKind = 'proto' | 'handshake' | 'oversized' | 'bad-json' | 'bad-message' | 'gap' | 'remote' | 'io';

export interface AgentClientError {
  readonly kind: AgentErrorKind;
  /** One line, sanitised. */
  readonly message: string;
  readonly fatal: boolean;
}

/** Why an act promise was rejected. */
export class AgentActError extends Error {
  constructor(
    readonly kind: 'timeout' | 'closed' | 'remote' | 'refused',
    message: string,
  ) {
    super(message);
    Object.defineProperty(this, 'name', { value: 'AgentActError', enumerable: false });
  }
}

interface Events {
  hello: (h: HelloMsg) => void;
  snapshot: (v: HostView) => void;
  error: (e: AgentClientError) => void;
  closed: (why: string) => void;
}

export interface AgentClientOptions {
  /** The hello must arrive within this (default 15 s; 0: no limit, the transport has its own). */
  readonly helloTimeoutMs?: number;
  /** Per-line cap (default MAX_AGENT_LINE_BYTES). */
  readonly maxLineBytes?: number;
  /** Lines that are not JSON tolerated before the hello (a login script's output); default 50. */
  readonly noiseLines?: number;
}

export interface ActOptions {
  readonly graceMs?: number;
  readonly allUsers?: boolean;
  /** Reject with kind 'timeout' after this long (default graceMs + 20 s). */
  readonly deadlineMs?: number;
}

interface Pending {
  resolve(r: WireResult[]): void;
  reject(e: AgentActError): void;
  timer: NodeJS.Timeout;
}

let nextId = 0;

export class AgentClient {
  private readonly listeners: { [K in keyof Events]: Set<Events[K]> } = { hello: new Set(), snapshot: new Set(), error: new Set(), closed: new Set() };
  private helloMsg: HelloMsg | null = null;
  private current: HostView | null = null;
  private readonly pending = new Map<string, Pending>();
  /** Ids whose deadline passed: their late answer is dropped quietly. */
  private readonly expired = new Set<string>();
  private done = false;
  private refreshAsked = false;
  private noise = 0;
  private helloTimer: NodeJS.Timeout | null = null;
  private readonly splitter: LineSplitter;
  private readonly onData = (c: Buffer | string): void => this.splitter.push(typeof c === 'string' ? Buffer.from(c) : c);
  private readonly onEnd = (): void => {
    this.splitter.end();
    this.finish('the agent closed the connection');
  };
  private readonly onInError = (e: Error): void => this.finish(`read failed: ${oneLine(e)}`);
  private readonly onOutError = (e: Error): void => this.finish(`write failed: ${oneLine(e)}`);

  constructor(
    private readonly input: NodeJS.ReadableStream,
    private readonly output: NodeJS.WritableStream,
    private readonly opts: AgentClientOptions = {},
  ) {
    this.splitter = createLineSplitter(opts.maxLineBytes ?? MAX_AGENT_LINE_BYTES, {
      line: (text) => this.onLine(text),
      oversized: (bytes) => {
        this.problem('oversized', `a line over ${opts.maxLineBytes ?? MAX_AGENT_LINE_BYTES} bytes (${bytes} when dropped)`);
        if (this.helloMsg) this.askRefresh(); // it may have been a snapshot: resynchronise
      },
    });
    input.on('data', this.onData);
    input.on('end', this.onEnd);
    input.on('close', this.onEnd);
    input.on('error', this.onInError);
    output.on('error', this.onOutError);
    const limit = opts.helloTimeoutMs ?? 15_000;
    if (limit > 0) {
      this.helloTimer = setTimeout(() => this.fatal('handshake', `no hello from the agent within ${limit} ms`), limit);
      this.helloTimer.unref?.();
    }
  }

  /** A spawned `reaper agent` (or `ssh host reaper agent`). */
  static fromChild(child: { stdout: NodeJS.ReadableStream | null; stdin: NodeJS.WritableStream | null }, opts?: AgentClientOptions): AgentClient {
    if (!child.stdout || !child.stdin) throw new Error('the agent process needs piped stdin and stdout');
    return new AgentClient(child.stdout, child.stdin, opts);
  }

  on<K extends keyof Events>(event: K, fn: Events[K]): () => void {
    this.listeners[event].add(fn);
    return () => this.listeners[event].delete(fn);
  }

  get hello(): HelloMsg | null {
    return this.helloMsg;
  }

  /** The host as last seen (null before the first full snapshot). */
  get view(): HostView | null {
    return this.current;
  }

  get closed(): boolean {
    return this.done;
  }

  /**
   * Ask the agent to act on identities captured by the caller; it re-checks each one on its
   * host and answers per target. Rejects (AgentActError) on deadline, close or agent error.
   */
  act(targets: readonly WireTarget[], action: WireAction, opts: ActOptions = {}): Promise<WireResult[]> {
    if (this.done) return Promise.reject(new AgentActError('closed', 'the connection to the agent is closed'));
    if (!this.helloMsg) return Promise.reject(new AgentActError('refused', 'the agent has not said hello yet'));
    const id = `a${process.pid}-${++nextId}`;
    const deadline = opts.deadlineMs ?? (opts.graceMs ?? 3000) + 20_000;
    return new Promise<WireResult[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.expired.add(id);
        reject(new AgentActError('timeout', `no answer from the agent within ${deadline} ms (it may still be acting)`));
      }, deadline);
      this.pending.set(id, { resolve, reject, timer });
      const msg: ClientMessage = {
        type: 'act',
        id,
        targets: targets.map((t) => ({ pid: t.pid, startTime: t.startTime })),
        action,
        ...(opts.graceMs !== undefined ? { graceMs: opts.graceMs } : {}),
        ...(opts.allUsers !== undefined ? { allUsers: opts.allUsers } : {}),
      };
      this.send(msg);
    });
  }

  /** Ask for a full snapshot now. */
  refresh(): void {
    this.send({ type: 'refresh' });
  }

  /** Say bye, end our side and stop listening. */
  close(): void {
    if (this.done) return;
    this.send({ type: 'bye' });
    this.output.end?.();
    this.finish('closed by this side');
  }

  private send(msg: ClientMessage): void {
    if (this.done) return;
    try {
      this.output.write(encodeMessage(msg));
    } catch (e) {
      this.finish(`write failed: ${oneLine(e)}`);
    }
  }

  private askRefresh(): void {
    if (this.refreshAsked) return;
    this.refreshAsked = true;
    this.refresh();
  }

  private emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    for (const fn of [...this.listeners[event]]) {
      try {
        (fn as (...a: Parameters<Events[K]>) => void)(...args);
      } catch {
        /* a listener's bug must not stop the stream */
      }
    }
  }

  private problem(kind: AgentErrorKind, message: string, fatal = false): void {
    this.emit('error', { kind, message, fatal });
  }

  private fatal(kind: AgentErrorKind, message: string): void {
    if (this.done) return;
    this.problem(kind, message, true);
    this.output.end?.();
    this.finish(message);
  }

  private onLine(text: string): void {
    if (this.done || text.trim() === '') return;
    const r = parseAgentMessage(text);
    if (!r.ok) {
      if (!this.helloMsg && r.kind === 'bad-json' && this.noise < (this.opts.noiseLines ?? 50)) {
        this.noise++; // a login script's greeting before the agent starts
        return;
      }
      if (!this.helloMsg) return this.fatal('handshake', `expected the agent's hello, got a bad line (${r.message})`);
      return this.problem(r.kind, r.message);
    }
    const m = r.msg;
    if (!this.helloMsg) {
      if (m.type !== 'hello') return this.fatal('handshake', `expected the agent's hello first, got "${m.type}"`);
      if (this.helloTimer) clearTimeout(this.helloTimer);
      this.helloTimer = null;
      if (!SUPPORTED_PROTOS.includes(m.proto)) {
        return this.fatal('proto', `${m.host}: agent protocol ${m.proto} (reaper ${m.reaperVersion}), this reaper speaks ${PROTO_VERSION}: install a matching reaper there`);
      }
      this.helloMsg = m;
      return this.emit('hello', m);
    }
    switch (m.type) {
      case 'hello':
        return this.problem('bad-message', 'a second hello');
      case 'snapshot':
        this.refreshAsked = false;
        this.current = viewFromSnapshot(this.helloMsg, m);
        return this.emit('snapshot', this.current);
      case 'delta': {
        const next = this.current ? applyDelta(this.current, m) : 'gap';
        if (next === 'gap') {
          if (!this.refreshAsked) this.problem('gap', `delta ${m.seq} follows ${m.base}, the view is at ${this.current?.seq ?? 'nothing'}: asking for a full snapshot`);
          return this.askRefresh();
        }
        this.current = next;
        return this.emit('snapshot', next);
      }
      case 'result': {
        const p = this.pending.get(m.id);
        if (!p) {
          if (!this.expired.delete(m.id)) this.problem('bad-message', `a result for unknown request ${m.id}`);
          return;
        }
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        return p.resolve([...m.results]);
      }
      case 'error': {
        const p = m.id === null ? undefined : this.pending.get(m.id);
        if (p && m.id !== null) {
          this.pending.delete(m.id);
          clearTimeout(p.timer);
          return p.reject(new AgentActError('remote', m.message));
        }
        return this.problem('remote', `${m.kind}: ${m.message}`);
      }
    }
  }

  private finish(why: string): void {
    if (this.done) return;
    this.done = true;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('close', this.onEnd);
    // Keep a no-op error listener: a late stream error must not become an uncaught exception.
    this.input.off('error', this.onInError);
    this.input.on('error', () => undefined);
    this.output.off('error', this.onOutError);
    this.output.on('error', () => undefined);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new AgentActError('closed', `connection closed before the answer to ${id}: ${why}`));
    }
    this.pending.clear();
    this.emit('closed', why);
  }
}

const oneLine = (e: unknown): string => sanitizeText(errorLine(e));
