/**
 * Several hosts on one screen: one HostSource per host (local or remote, the screen does not
 * care), their latest data side by side, and actions split by host so that each host acts on
 * its own targets only. A host that fails or hangs affects only its own pane and its own
 * outcomes: nothing here waits on one host to serve another.
 */
import type { ReapTarget } from '../analysis/index.js';
import type { RunHistoryEntry } from '../analysis/run-history.js';
import { NO_GPU_STATE } from '../model/gpu.js';
import type { ActionOutcome, HostPane, LiveData, SignalAction } from '../model/live.js';
import { sanitizeText } from '../model/sanitize.js';
import type { HostSource } from './host-source.js';
import { errorLine } from '../model/errors.js';

export interface HostsData extends LiveData {
  readonly hosts: readonly HostPane[];
}

/** A target and the host it was captured on. */
export type HostTarget = ReapTarget & { readonly host?: string };

function placeholder(intervalMs: number): LiveData {
  return {
    snapshot: null,
    gpu: NO_GPU_STATE,
    verdicts: new Map(),
    runs: [],
    host: { hostname: '', uptimeSec: null, cpuPercent: null, cpuCount: null, memUsedKiB: null, memTotalKiB: null },
    probe: { state: 'starting', message: null, scanMs: null, intervalMs },
    protection: () => null,
  };
}

export class HostsView {
  private readonly listeners = new Set<() => void>();
  private data: HostsData;
  private readonly unsubs: (() => void)[] = [];
  private pending: NodeJS.Immediate | null = null;

  constructor(
    readonly sources: readonly HostSource[],
    private readonly intervalMs: number,
  ) {
    this.data = this.combine();
  }

  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  };

  getData = (): HostsData => this.data;

  /** This machine's source, when it is one of the hosts. */
  get localSource(): HostSource | undefined {
    return this.sources.find((s) => s.local);
  }

  private combine(): HostsData {
    const hosts = this.sources.map((s) => ({ name: s.name, local: s.local, data: s.getData() }));
    const local = hosts.find((h) => h.local)?.data ?? placeholder(this.intervalMs);
    return { ...local, hosts };
  }

  /** Hosts publishing in the same turn make one new value (one render). */
  private schedule = (): void => {
    if (this.pending) return;
    this.pending = setImmediate(() => {
      this.pending = null;
      this.data = this.combine();
      for (const l of [...this.listeners]) l();
    });
  };

  start(): void {
    for (const s of this.sources) {
      this.unsubs.push(s.subscribe(this.schedule));
      s.start();
    }
  }

  stop(): void {
    if (this.pending) clearImmediate(this.pending);
    this.pending = null;
    for (const u of this.unsubs.splice(0)) u();
    for (const s of this.sources) s.stop();
    this.listeners.clear();
  }

  refresh = (): void => {
    for (const s of this.sources) s.refresh();
  };

  readRunHistory = (runId: string): RunHistoryEntry => {
    const l = this.localSource;
    if (!l?.readRunHistory) return { kind: 'unreadable', id: runId, dir: '-', reason: 'run histories are read on this machine only' };
    return l.readRunHistory(runId);
  };

  /**
   * Each host gets its own targets only, all hosts at once; a host that fails answers for its own
   * targets (skipped, with its error) and never for another's. A target without a host is this
   * machine's; with no local host it is refused.
   */
  async signal(action: SignalAction, targets: readonly HostTarget[], opts: { readonly allUsers: boolean; readonly graceMs?: number }): Promise<ActionOutcome[]> {
    const byHost = new Map<string, HostTarget[]>();
    for (const t of targets) {
      const h = t.host ?? this.localSource?.name ?? '';
      let l = byHost.get(h);
      if (!l) byHost.set(h, (l = []));
      l.push(t);
    }
    const parts = await Promise.all(
      [...byHost].map(async ([name, list]): Promise<ActionOutcome[]> => {
        const src = this.sources.find((s) => s.name === name);
        const fail = (why: string): ActionOutcome[] => list.map((t) => ({ pid: t.pid, startTime: t.startTime, cmd: t.cmd, outcome: 'skipped', why, host: name }));
        if (!src) return fail('no such host on this screen');
        try {
          const out = await src.signal(action, list, opts);
          return out.map((o) => ({ ...o, host: name }));
        } catch (e) {
          return fail(sanitizeText(errorLine(e, 240)));
        }
      }),
    );
    return parts.flat();
  }
}
