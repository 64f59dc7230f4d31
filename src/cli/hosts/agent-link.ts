/**
 * `reaper agent` on a host over the SSH transport, as an AgentClient: the ssh stream's capped
 * lines feed the client, the client's messages go to the agent's stdin. Used by `reap --host`
 * to act on exactly the identities of a confirmed plan: the agent re-checks each one on its
 * host and plans through the same rules as a local reap.
 */
import { PassThrough, Writable } from 'node:stream';
import type { HostSpec } from '../../remote/hosts.js';
import { AgentClient, type AgentClientError } from '../../remote/agent-client.js';
import { MAX_AGENT_LINE_BYTES, type HelloMsg } from '../../remote/protocol.js';
import { classifySshOutcome, openSshStream, type SshOutcome } from '../../remote/ssh.js';
import { hostError, reaperCommand, type HostError, type HostTransport } from './fanout.js';

export interface AgentLink {
  readonly client: AgentClient;
  readonly hello: HelloMsg;
  /** Says bye, closes stdin, waits (at most `ms`) for the agent and ssh to end; kills them after. */
  close(ms?: number): Promise<SshOutcome>;
}

/** Connects and waits for the agent's hello; a host that cannot give one is a HostError. */
export async function openAgentLink(host: HostSpec, t: HostTransport, opts: { helloTimeoutMs: number }): Promise<{ link: AgentLink; error: null } | { link: null; error: HostError }> {
  const input = new PassThrough();
  // Lines the agent sends go to the client as they came; the transport already capped them.
  const stream = openSshStream(host, reaperCommand(host, ['agent', '--interval', '60000', '--gpus', 'none']), {
    ...t.ssh,
    maxLineBytes: MAX_AGENT_LINE_BYTES,
    onLine: (line) => {
      if (!input.writableEnded) input.write(`${line}\n`);
    },
  });
  const output = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line !== '') stream.send(line);
      cb();
    },
    final(cb) {
      stream.close();
      cb();
    },
  });
  void stream.done.then(() => input.end());
  const client = new AgentClient(input, output, { helloTimeoutMs: opts.helloTimeoutMs });
  const got = await new Promise<{ hello: HelloMsg } | { fatal: AgentClientError | null; why: string }>((resolve) => {
    client.on('hello', (hello) => resolve({ hello }));
    let fatal: AgentClientError | null = null;
    client.on('error', (e) => {
      if (e.fatal) fatal = e;
    });
    client.on('closed', (why) => resolve({ fatal, why }));
  });
  const close = async (ms = 10_000): Promise<SshOutcome> => {
    client.close();
    const timer = setTimeout(() => stream.kill(), ms);
    const o = await stream.done;
    clearTimeout(timer);
    return o;
  };
  if ('hello' in got) return { link: { client, hello: got.hello, close }, error: null };
  // No hello: the ssh outcome says why (refused, auth, command missing…), else the client does.
  stream.kill();
  const o = await stream.done;
  const e = classifySshOutcome(o);
  if (e && !(e.kind === 'killed' && got.fatal)) return { link: null, error: hostError(e.kind, e.message) };
  const f = got.fatal as AgentClientError | null;
  if (!f) return { link: null, error: hostError('killed', `the agent ended before its hello (${got.why})`) };
  return { link: null, error: hostError(f.kind === 'proto' ? 'incompatible' : f.kind === 'handshake' && /within/.test(f.message) ? 'timeout' : 'garbage', f.message) };
}
