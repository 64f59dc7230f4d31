/**
 * The stuck rule, pure: a process of a running stage that stays stopped (T), traced (t) or in
 * uninterruptible sleep (D) for `afterMs` is stuck. Each (pid, start time, state) is reported
 * once; one that leaves the state starts over. The same for every executor: it only needs
 * the stage's members with their states, once per interval.
 */
import type { Member } from './executor.js';

export interface StuckSighting {
  readonly member: Member;
  readonly forMs: number;
}

export class StuckWatch {
  private readonly since = new Map<string, number>();
  private readonly reported = new Set<string>();

  constructor(private readonly afterMs: number) {}

  /** The members seen at `now`; returns those stuck for `afterMs`, each only the first time. */
  look(members: readonly Member[], now: number): StuckSighting[] {
    const out: StuckSighting[] = [];
    const present = new Set<string>();
    for (const p of members) {
      if (p.state !== 'T' && p.state !== 't' && p.state !== 'D') continue;
      const key = `${p.pid}:${p.startTime}:${p.state}`;
      present.add(key);
      const since = this.since.get(key) ?? now;
      this.since.set(key, since);
      const forMs = now - since;
      if (forMs >= this.afterMs && !this.reported.has(key)) {
        this.reported.add(key);
        out.push({ member: p, forMs });
      }
    }
    for (const k of [...this.since.keys()]) if (!present.has(k)) this.since.delete(k);
    return out;
  }
}

/** "stopped (T)", "traced (t)", "in D (<wchan>)". */
export function stuckState(state: string, wchan: string | null): string {
  return state === 'D' ? `in D (${wchan ?? 'uninterruptible'})` : state === 't' ? 'traced (t)' : 'stopped (T)';
}
