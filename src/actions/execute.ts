/**
 * The reap executor. Identity (pid + start time) is re-read right before EVERY signal; a pid
 * that now belongs to another process is skipped and reported, never signalled.
 *
 * What is signalled is exactly the plan's targets plus members found while acting, and a found
 * member is only ever a descendant of a target (parent chain, each link identity-checked), or,
 * for a run's teardown, a new member of one of the run's own process groups (`plan.groups`).
 * A sibling in a target's process group is never found that way, and a whole group is
 * signalled (kill(-pgid)) only when every live member of it is a member here.
 *
 * kill: SIGSTOP the tree top-down so nothing forks while we work, rescan /proc until no new
 *       member appears and every member is stopped, SIGKILL all, confirm in /proc.
 * term: SIGTERM then SIGCONT (a stopped process keeps SIGTERM pending until continued), wait
 *       the grace period, then the kill ladder for whatever is left.
 * cont: SIGCONT the stopped members only; a running member is 'not-stopped', never 'resumed',
 *       and a member held by a cgroup freezer is reported as such, never 'resumed'.
 * A zombie cannot be signalled: the plan acts on its parent; a member that is a zombie after
 * SIGKILL counts as gone (its parent, or init within ~2 s here, reaps it) and the result says so.
 */
import { knownDaemonOf, type ReapPlan, type ReapTarget } from '../analysis/index.js';
import { sanitizeText, type StateLetter } from '../model/index.js';
import { isKernelThreadStat, readProcIdentity, type RawStat } from '../probe/proc-stat.js';
import { readPidNamespace, readTermDisposition } from '../probe/proc-status.js';
import { readFrozenCgroup } from '../probe/cgroup-freezer.js';
import { actionSignal, AuditTrail, defaultAuditContext, type AuditContext, type AuditEntry, type AuditOutcome } from './audit.js';
import { notPermittedText, sendGroupSignal, sendSignal } from './errno.js';
import { readSelfAndAncestors, scanStats } from './proc-scan.js';
import { readFileSync } from 'node:fs';
import { sleep } from '../model/sleep.js';
import type { ActionOutcome } from '../model/live.js';

/** not-stopped: a cont target that was running, left alone (not counted as resumed). */
type ReapOutcome = ActionOutcome['outcome'];

/** What became of one target: the outcome the screen shows (model/live.ts), and why. */
export interface ReapResult extends ActionOutcome {
  /** Skipped because the pid now belongs to another process: the planned one is gone, no failure. */
  readonly reused?: true;
}

export interface ExecuteOptions {
  onProgress?(r: ReapResult): void;
  /** Most rescans while stopping a tree (default 200). */
  rescanLimit?: number;
  /** How long to wait for SIGKILLed members to disappear (default 3000 ms). */
  confirmMs?: number;
  /** Who asked (the command, key or teardown) and where the audit log goes; default: this user's log, "reaper (pid N)". */
  audit?: AuditContext;
}

interface Member {
  readonly pid: number;
  readonly startTime: number;
  readonly cmd: string;
  uid: number | null;
  /** Follow its children. */
  readonly tree: boolean;
  /** Was a zombie before we acted: never signalled, only observed. */
  readonly wasZombie: boolean;
  /** Found while acting (not in the plan). */
  readonly found: boolean;
  /** Refused or changed: no more signals. */
  dead: boolean;
  /** SIGKILLed in the term ladder as a PID-namespace init that SIGTERM cannot reach. */
  killedAsShieldedInit?: boolean;
  eperm: boolean;
  termed: boolean;
  result: ReapResult | null;
  /** Why it is a target, for the audit log (reason codes, or how it was found). */
  readonly reasons: readonly string[];
  /** Its audit entry, opened right before its first signal. */
  audit: AuditEntry | null;
}

type SignalResult = 'sent' | 'gone' | 'changed' | 'eperm' | 'error';


export async function executeReap(plan: ReapPlan, opts: ExecuteOptions = {}): Promise<ReapResult[]> {
  const ex = new Executor(plan, opts);
  return ex.run();
}

class Executor {
  private readonly members = new Map<number, Member>();
  private readonly order: Member[] = [];
  private readonly never: Set<number>;
  /** Identities the plan set aside (protected, another user's): never found while acting. */
  private readonly planSkipped: Set<string>;
  private readonly groups: Set<number>;
  private readonly trail: AuditTrail;

  constructor(
    private readonly plan: ReapPlan,
    private readonly opts: ExecuteOptions,
  ) {
    this.never = readSelfAndAncestors();
    this.planSkipped = new Set(plan.skipped.map((s) => `${s.pid}:${s.startTime}`));
    this.groups = new Set((plan.groups ?? []).filter((g) => g > 1));
    this.trail = new AuditTrail(opts.audit ?? defaultAuditContext());
  }

  async run(): Promise<ReapResult[]> {
    for (const t of this.plan.targets) this.admit(t);
    switch (this.plan.action) {
      case 'kill':
        await this.killLadder(null);
        break;
      case 'term':
        await this.termLadder();
        break;
      case 'cont':
        await this.contLadder();
        break;
    }
    this.trail.ctx.log.flushSyslog();
    return this.order.map((m) => m.result ?? this.result(m, 'survived', 'no outcome recorded', false));
  }

  // ---- membership -------------------------------------------------------------------------------

  private admit(t: ReapTarget): void {
    if (this.members.has(t.pid)) return;
    const m: Member = {
      pid: t.pid,
      startTime: t.startTime,
      cmd: t.cmd,
      uid: t.uid,
      tree: t.tree !== false,
      wasZombie: t.stat.startsWith('Z'),
      found: false,
      dead: false,
      eperm: false,
      termed: false,
      result: null,
      reasons: t.reasons.length > 0 ? t.reasons.map((r) => r.code) : t.note ? [t.note] : [],
      audit: null,
    };
    this.members.set(t.pid, m);
    this.order.push(m);
    if (this.never.has(t.pid)) {
      this.finish(m, 'skipped', 'protected: reaper itself or one of its ancestors');
      return;
    }
    const id = readProcIdentity(t.pid);
    if (!id) this.finish(m, 'gone', 'already gone before reaper acted');
    else if (id.startTime !== t.startTime) this.finish(m, 'skipped', changedText(t.pid, t.startTime, id.startTime), true);
    else if (ownerChanged(t.uid, id.uid)) this.finish(m, 'skipped', ownerChangedText(t.uid, id.uid));
    else m.uid = id.uid;
  }

  /**
   * New members from a rescan: children of tree members (so, by induction, descendants of the
   * plan's targets), each started after its parent and read again by identity. Membership of
   * a target's process group alone admits nobody (a sibling in the group is not in the plan),
   * except in groups the plan names as wholly its own (`plan.groups`, a run's teardown), and
   * then only while the group's leader is a live member.
   */
  private discover(stats: ReadonlyMap<number, RawStat>): Member[] {
    const added: Member[] = [];
    let grew = true;
    while (grew) {
      grew = false;
      for (const st of stats.values()) {
        if (this.members.has(st.pid) || this.never.has(st.pid) || isKernelThreadStat(st)) continue;
        if (this.planSkipped.has(`${st.pid}:${st.startTime}`)) continue;
        const parent = this.members.get(st.ppid);
        const leader = this.groups.has(st.pgid) && st.pgid !== st.pid ? this.members.get(st.pgid) : undefined;
        const via =
          parent && parent.tree && !parent.wasZombie && st.startTime >= parent.startTime && alive(stats, parent)
            ? parent
            : leader && leader.tree && !leader.wasZombie && st.startTime >= leader.startTime && alive(stats, leader)
              ? leader
              : null;
        if (!via) continue;
        const id = readProcIdentity(st.pid);
        if (!id || id.startTime !== st.startTime || id.uid === null) continue; // owner unknown: never a target
        if (via !== parent && id.pgid !== via.pid) continue;
        const m: Member = {
          pid: st.pid,
          startTime: st.startTime,
          cmd: readCmd(st.pid, st.comm),
          uid: id.uid,
          tree: true,
          wasZombie: false,
          found: true,
          dead: false,
          eperm: false,
          termed: false,
          result: null,
          reasons: [via === parent ? `found while acting: child of ${via.pid}` : `found while acting: joined process group ${via.pid}`],
          audit: null,
        };
        this.members.set(m.pid, m);
        this.order.push(m);
        const daemon = knownDaemonOf(st);
        if (daemon !== null) {
          this.finish(m, 'skipped', `found in the tree of ${via.pid} but ${daemon}: reaper never signals daemons`);
          continue;
        }
        const user = this.plan.userUid;
        if (this.plan.allUsers !== true && user !== undefined && id.uid !== null && id.uid !== user) {
          const whose = user === process.getuid?.() ? 'not you (use --all-users)' : `not the run's user (uid ${user})`;
          this.finish(m, 'skipped', `found in the tree of ${via.pid} but owned by uid ${id.uid}, ${whose}`);
          continue;
        }
        added.push(m);
        grew = true;
      }
    }
    return added;
  }

  private active(): Member[] {
    return this.order.filter((m) => m.result === null && !m.dead && !m.wasZombie);
  }

  // ---- signalling -------------------------------------------------------------------------------

  /** Identity re-read, then the signal. Records skipped/gone outcomes on the member. */
  private signal(m: Member, sig: NodeJS.Signals): SignalResult {
    if (m.result !== null || m.dead) return 'gone';
    const id = readProcIdentity(m.pid);
    if (!id) return 'gone';
    if (id.startTime !== m.startTime) {
      m.dead = true;
      this.finish(m, 'skipped', changedText(m.pid, m.startTime, id.startTime), true);
      return 'changed';
    }
    // Same process, other owner (it ran su, a setuid program): the plan was confirmed for the old one.
    if (ownerChanged(m.uid, id.uid)) {
      m.dead = true;
      this.finish(m, 'skipped', ownerChangedText(m.uid, id.uid));
      return 'changed';
    }
    if (id.uid !== null) m.uid = id.uid;
    // Recorded before it goes out; a log that cannot be written never holds the signal back.
    const entry = this.auditEntry(m);
    const r = sendSignal(m.pid, sig);
    if (r.ok) {
      entry.sent.push(sig);
      return 'sent';
    }
    if (r.kind === 'gone') return 'gone';
    if (r.kind === 'eperm') {
      m.eperm = true;
      m.dead = true;
      this.finish(m, 'skipped', notPermittedText(m.uid));
      return 'eperm';
    }
    m.dead = true;
    this.finish(m, 'survived', `${sig} failed: ${r.code} ${r.message}`);
    return 'error';
  }

  // ---- kill ---------------------------------------------------------------------------------------

  /** Stop the tree, rescan until it is stable, SIGKILL everything, confirm. */
  private async killLadder(termedNote: string | null): Promise<void> {
    const limit = this.opts.rescanLimit ?? 200;
    this.freezeGroups(scanStats());
    for (const m of this.active()) this.signal(m, 'SIGSTOP');
    let stable = false;
    for (let round = 0; round < limit; round++) {
      const stats = scanStats();
      const fresh = this.discover(stats);
      if (fresh.length > 0) this.freezeGroups(stats);
      for (const m of fresh) this.signal(m, 'SIGSTOP');
      if (fresh.length > 0) continue;
      const moving = this.active().filter((m) => {
        const st = stats.get(m.pid);
        return st !== undefined && st.startTime === m.startTime && !isHeld(st.state);
      });
      if (moving.length === 0) {
        stable = true;
        break;
      }
      await sleep(round < 10 ? 1 : 5);
    }
    for (const m of this.active()) this.signal(m, 'SIGKILL');
    // Anything that slipped through the bounded rescan gets killed as it is found.
    const deadline = Date.now() + (this.opts.confirmMs ?? 3000);
    for (;;) {
      const stats = scanStats();
      for (const m of this.discover(stats)) this.signal(m, 'SIGKILL');
      const pending = this.settleExited(stats, () => killedText(termedNote));
      if (pending === 0 || Date.now() > deadline) break;
      await sleep(10);
    }
    const stats = scanStats();
    let frozen: string | null;
    for (const m of this.order) {
      if (m.result !== null) continue;
      const st = stats.get(m.pid);
      if (m.wasZombie) {
        const z = this.zombieOutcome(m, st, true)!;
        this.finish(m, z.outcome, z.why);
      } else if (!st || st.startTime !== m.startTime || st.state === 'Z' || st.state === 'X') {
        this.finish(m, 'gone', killedText(termedNote));
      } else if ((frozen = frozenWhy(m.pid)) !== null) {
        // cgroup v1: a frozen task takes SIGKILL only when thawed (v2 lets it through).
        this.finish(m, 'kill-pending', `SIGKILL sent, but ${frozen}: it dies when thawed`);
      } else if (st.state === 'D') {
        this.finish(m, 'kill-pending', `SIGKILL sent, but it is in uninterruptible sleep (D${wchanOf(m.pid)}): it dies when that kernel call returns`);
      } else {
        this.finish(m, 'survived', `still alive after SIGKILL (state ${st.state})${stable ? '' : '; the tree did not stop changing within the rescan limit'}`);
      }
    }
  }

  /**
   * Stop whole process groups at once where a group holds nothing but our members: a member that
   * replaces itself with a fresh fork every few ms outruns any scan-then-signal loop, but not
   * kill(-pgid). Identity check for a group: right before the signal, a verified live member must
   * still be in it (a group id cannot be reused while any member exists), and reaper's own group
   * and its ancestors' are never signalled.
   */
  private freezeGroups(stats: ReadonlyMap<number, RawStat>): void {
    this.discover(stats);
    const byGroup = new Map<number, { ours: Member[]; foreign: boolean }>();
    for (const st of stats.values()) {
      let g = byGroup.get(st.pgid);
      if (!g) byGroup.set(st.pgid, (g = { ours: [], foreign: false }));
      const m = this.members.get(st.pid);
      if (m && m.startTime === st.startTime && m.result === null && !m.dead && !m.wasZombie) g.ours.push(m);
      else if (st.state !== 'Z' && st.state !== 'X') g.foreign = true;
    }
    const neverGroups = new Set<number>();
    for (const pid of this.never) {
      const st = stats.get(pid);
      if (st) neverGroups.add(st.pgid);
    }
    for (const [pgid, g] of byGroup) {
      if (g.foreign || g.ours.length < 2 || pgid <= 1 || neverGroups.has(pgid)) continue;
      const witness = g.ours.find((m) => {
        const id = readProcIdentity(m.pid);
        return id !== null && id.startTime === m.startTime && id.pgid === pgid;
      });
      if (!witness) continue;
      const entries = g.ours.map((m) => this.auditEntry(m));
      if (sendGroupSignal(pgid, 'SIGSTOP').ok) for (const e of entries) e.sent.push(`SIGSTOP to group ${pgid}`);
    }
  }

  /**
   * One confirmation pass: members that exited (or are zombies now) get their outcome with the
   * given text; returns how many are still running. `dead` members (refused, changed) are done.
   */
  private settleExited(stats: ReadonlyMap<number, RawStat>, goneText: (m: Member) => string): number {
    let running = 0;
    for (const m of this.order) {
      if (m.result !== null) continue;
      const st = stats.get(m.pid);
      if (m.wasZombie) {
        const z = this.zombieOutcome(m, st);
        if (z) this.finish(m, z.outcome, z.why);
        else running++;
      } else if (m.dead) {
        continue;
      } else if (!st || st.startTime !== m.startTime) {
        this.finish(m, 'gone', goneText(m));
      } else if (st.state === 'Z' || st.state === 'X') {
        this.finish(m, 'gone', `${goneText(m)}; a zombie until its parent ${st.ppid} reaps it${st.ppid === 1 ? ' (init reaps every ~2 s)' : ''}`);
      } else {
        running++;
      }
    }
    return running;
  }

  /** A zombie we did not signal: gone once reaped; counted gone when init is its parent. */
  private zombieOutcome(m: Member, st: RawStat | undefined, final = false): { outcome: 'gone' | 'survived'; why: string } | null {
    if (!st || st.startTime !== m.startTime) return { outcome: 'gone', why: 'zombie reaped by its parent' };
    if (st.ppid === 1) return { outcome: 'gone', why: 'zombie re-parented to init (pid 1), which reaps it within ~2 s' };
    if (!final) return null;
    return { outcome: 'survived', why: `zombie: its parent ${st.ppid} has not reaped it (act on the parent)` };
  }

  // ---- term -----------------------------------------------------------------------------------------

  private async termLadder(): Promise<void> {
    const term = (m: Member): void => {
      if (m.termed) return;
      m.termed = true;
      if (this.signal(m, 'SIGTERM') === 'sent') this.signal(m, 'SIGCONT');
    };
    for (const m of this.active()) term(m);
    const deadline = Date.now() + Math.max(0, this.plan.graceMs);
    const shielded = this.shieldedInits();
    for (;;) {
      const stats = scanStats();
      for (const m of this.discover(stats)) term(m);
      this.killShieldedInits(shielded);
      const left = this.settleExited(stats, (m) =>
        m.killedAsShieldedInit ? 'killed (SIGKILL): PID namespace init, where the kernel drops SIGTERM without a handler' : 'exited after SIGTERM',
      );
      if (left === 0 || Date.now() >= deadline) break;
      await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
    }
    if (this.order.some((m) => m.result === null)) {
      await this.killLadder(`still running ${(this.plan.graceMs / 1000).toFixed(1)} s after SIGTERM`);
    }
  }

  /**
   * Members that are the init of a PID namespace (reaper run's pidns layer) and leave SIGTERM
   * at its default action. The kernel drops a SIGTERM from outside for them, so they would sit
   * out the whole grace period although SIGTERM would have ended them at once anywhere else.
   */
  private shieldedInits(): Map<Member, string> {
    const out = new Map<Member, string>();
    for (const m of this.active()) {
      const d = readTermDisposition(m.pid);
      const ns = d?.namespaceInit && d.termDefault ? this.pidNamespaceOf(m) : null;
      if (ns) out.set(m, ns);
    }
    return out;
  }

  /** A member's PID namespace, read once (the ladder polls every 50 ms). */
  private readonly pidNamespaces = new Map<Member, string | null>();
  private pidNamespaceOf(m: Member): string | null {
    if (!this.pidNamespaces.has(m)) this.pidNamespaces.set(m, readPidNamespace(m.pid));
    return this.pidNamespaces.get(m)!;
  }

  /**
   * SIGKILL is what SIGTERM's default action amounts to for such an init; killing it also
   * kills its whole namespace, so it is sent only once every other member in that namespace
   * has finished, keeping their grace period intact.
   */
  private killShieldedInits(shielded: Map<Member, string>): void {
    for (const [init, ns] of shielded) {
      if (init.result !== null || init.dead) {
        shielded.delete(init);
        continue;
      }
      const othersLeft = this.order.some((m) => m !== init && m.result === null && !m.dead && !m.wasZombie && this.pidNamespaceOf(m) === ns);
      if (othersLeft) continue;
      shielded.delete(init);
      if (this.signal(init, 'SIGKILL') === 'sent') init.killedAsShieldedInit = true;
    }
  }

  // ---- cont -------------------------------------------------------------------------------------------

  /**
   * SIGCONT only what is stopped (state T/t read right before the signal). A member that was
   * running is 'not-stopped' (left alone, not counted as resumed); one held by a cgroup
   * freezer did not resume, whatever SIGCONT did: /proc shows S or D for it, never T.
   */
  private async contLadder(): Promise<void> {
    const sent = new Set<Member>();
    const cont = (m: Member, stats: ReadonlyMap<number, RawStat>): void => {
      if (m.result !== null || m.dead || m.wasZombie || sent.has(m)) return;
      const st = stats.get(m.pid);
      if (!st || st.startTime !== m.startTime) return; // settled below
      if (st.state !== 'T' && st.state !== 't') {
        const frozen = frozenWhy(m.pid);
        if (frozen) this.finish(m, 'survived', `not resumed: ${frozen}`);
        else this.finish(m, 'not-stopped', `was not stopped (state ${st.state}): left alone`);
        return;
      }
      sent.add(m);
      this.signal(m, 'SIGCONT');
    };
    let stats = scanStats();
    for (const m of this.active()) cont(m, stats);
    stats = scanStats();
    for (const m of this.discover(stats)) cont(m, stats);
    const deadline = Date.now() + 1000;
    for (;;) {
      stats = scanStats();
      const late = Date.now() >= deadline;
      let left = 0;
      let frozen: string | null;
      for (const m of this.order) {
        if (m.result !== null || m.dead) continue;
        const st = stats.get(m.pid);
        if (m.wasZombie) {
          const z = this.zombieOutcome(m, st, late);
          const parent = st ? this.members.get(st.ppid) : undefined;
          const continued = parent !== undefined && sent.has(parent);
          if (z) this.finish(m, z.outcome, z.outcome === 'gone' || !continued ? z.why : `${z.why}; its parent was continued`);
          else left++;
        } else if (!st || st.startTime !== m.startTime) {
          this.finish(m, 'gone', sent.has(m) ? 'exited after SIGCONT' : 'exited before reaper acted');
        } else if (!sent.has(m)) {
          cont(m, stats);
          if (m.result === null) left++;
        } else if ((frozen = frozenWhy(m.pid)) !== null) {
          // Checked first: a v2-frozen member shows S and a v1-frozen one D, both look "running".
          this.finish(m, 'survived', `not resumed: ${frozen}`);
        } else if (st.state === 'T' || st.state === 't') {
          if (late) {
            this.finish(
              m,
              'survived',
              st.state === 't' ? 'still stopped (t): a traced process resumes only when its tracer continues it' : 'still stopped (T) after SIGCONT',
            );
          } else left++;
        } else {
          this.finish(m, 'resumed', `running again (state ${st.state})`);
        }
      }
      if (left === 0 || late) break;
      await sleep(10);
    }
  }

  // ---- results ----------------------------------------------------------------------------------------

  private result(m: Member, outcome: ReapOutcome, why: string | null, reused: boolean): ReapResult {
    return Object.freeze({ pid: m.pid, startTime: m.startTime, cmd: m.found ? `${m.cmd}` : m.cmd, outcome, why: m.found && why ? `${why} (found while acting)` : why, ...(reused ? { reused: true as const } : {}) });
  }

  private finish(m: Member, outcome: ReapOutcome, why: string | null, reused = false): void {
    if (m.result !== null) return;
    m.result = this.result(m, outcome, why, reused);
    const logged: AuditOutcome = outcome === 'skipped' && m.eperm ? 'not-permitted' : outcome;
    if (m.audit) this.trail.outcome(m.audit, logged, m.result.why);
    else this.trail.unsignalled(this.auditTarget(m), actionSignal(this.plan.action), logged, m.result.why);
    this.opts.onProgress?.(m.result);
  }

  // ---- audit ------------------------------------------------------------------------------------------

  private auditTarget(m: Member): { pid: number; startTime: number; uid: number | null; cmd: string; reasons: readonly string[] } {
    return { pid: m.pid, startTime: m.startTime, uid: m.uid, cmd: m.cmd, reasons: m.reasons };
  }

  /** The member's audit entry: the intent line is written the first time (before its first signal). */
  private auditEntry(m: Member): AuditEntry {
    m.audit ??= this.trail.intent(this.auditTarget(m), actionSignal(this.plan.action));
    return m.audit;
  }
}

function isHeld(state: StateLetter): boolean {
  return state === 'T' || state === 't' || state === 'Z' || state === 'X' || state === 'D';
}

function alive(stats: ReadonlyMap<number, RawStat>, m: Member): boolean {
  const st = stats.get(m.pid);
  return st !== undefined && st.startTime === m.startTime;
}

function changedText(pid: number, planned: number, now: number): string {
  return `identity changed: pid ${pid} now belongs to another process (start time ${now}, expected ${planned}); left alone`;
}

function ownerChanged(planned: number | null, now: number | null): boolean {
  return planned !== null && now !== null && planned !== now;
}

function ownerChangedText(planned: number | null, now: number | null): string {
  return `owner changed: planned as uid ${planned}, now uid ${now}; left alone`;
}

function killedText(termedNote: string | null): string {
  return termedNote ? `killed (SIGKILL): ${termedNote}` : 'killed (SIGKILL)';
}

/** "its cgroup /sys/fs/cgroup/x is frozen; thaw it: echo 0 > …", or null when no freezer holds it. */
function frozenWhy(pid: number): string | null {
  const f = readFrozenCgroup(pid);
  return f ? sanitizeText(`its cgroup ${f.path} is frozen; thaw it: ${f.thaw}`) : null;
}

function wchanOf(pid: number): string {
  try {
    const w = readFileSync(`/proc/${pid}/wchan`, 'utf8').trim();
    return w && w !== '0' ? `, in ${sanitizeText(w)}` : '';
  } catch {
    return '';
  }
}

function readCmd(pid: number, comm: string): string {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`);
    const parts = raw.toString('utf8').split('\0').filter((x, i, a) => x.length > 0 || i < a.length - 1);
    const s = parts.join(' ').trim();
    return sanitizeText(s.length > 0 ? s : `[${comm}]`);
  } catch {
    return sanitizeText(`[${comm}]`);
  }
}
