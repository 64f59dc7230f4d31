/**
 * The shape of one containment layer of the local executor. Every layer is one module with
 * the same hooks; containment.ts detects them in order and composes them, so a new layer is a
 * new file plus one line in its list. Every hook but `detect` is optional: a layer implements
 * the moments where it does something.
 *
 *   detect       what this machine allows (probes run once per launch)
 *   openRun      before the first stage: what the layer holds for the whole run
 *   openStage    before a stage starts: what it holds for that stage
 *   wrap         the stage's argv inside the layer (layers wrap in order: the last is outermost)
 *   members      the stage's processes without a /proc scan (for the stuck watch)
 *   stopStage    a stage is torn down (timeout, stuck, interrupt): after the signal ladder
 *   afterStage   a stage's leader exited on its own: what of the stage is left is a leftover
 *   closeStage   the stage is over: let go of what openStage took
 *   stopRun      the whole run is torn down (signal, abort): before / after the ladder
 *   atRunEnd     the final sweep: what of the run is still alive
 *   closeRun     after the run-end record (or when the start failed): let go of what openRun took
 */
import type { AuditContext } from '../../actions/audit.js';
import type { RunGroup } from '../../actions/index.js';
import type { Member, Sweep } from '../executor.js';
import type { GuardianHandle } from '../guardian.js';
import type { RunPaths } from '../paths.js';

export type { Member, Sweep } from '../executor.js';

type LayerId = 'pgroup' | 'marker' | 'cgroup' | 'pidns' | 'pdeathsig' | 'guardian';

export interface LayerInfo {
  readonly id: LayerId;
  readonly title: string;
  /** The machine allows it. */
  readonly available: boolean;
  /** It will be used (available and not disabled). */
  readonly active: boolean;
  /** What was found ("cgroup2 at /sys/fs/cgroup/unified, writable, cgroup.kill"), or why it is off. */
  readonly detail: string;
  /** What it means for the guarantee. */
  readonly meaning: string;
}

/** What the active layers need at run time; each field belongs to one layer (null/false: off). */
export interface ContainmentSettings {
  /** cgroup: folder under which run cgroups are created (<base>/<run>/<task>). */
  readonly cgroupBase: string | null;
  /** pidns: unshare prefix (without the command). */
  readonly pidnsPrefix: readonly string[] | null;
  /** pidns: the init run as the namespace's PID 1 around the command (stage-init.ts); null: the command is PID 1. */
  readonly pidnsInit: readonly string[] | null;
  /** pdeathsig: the setpriv binary. */
  readonly setpriv: string | null;
  /** guardian: a guardian is started for the run. */
  readonly guardian: boolean;
}

export interface Containment extends ContainmentSettings {
  readonly layers: readonly LayerInfo[];
}

export interface ContainmentRequest {
  readonly cgroup: boolean;
  readonly pidns: boolean;
  readonly pdeathsig: boolean;
  readonly guardian: boolean;
}

/** What `detect` found. `settings` are used only when the layer is active (available and wanted). */
export interface LayerProbe {
  readonly available: boolean;
  readonly detail: string;
  readonly settings?: Partial<ContainmentSettings>;
}

/** One run of the local executor, as the layers see it. */
export interface RunScope {
  readonly runId: string;
  readonly state: string;
  readonly paths: RunPaths;
  /** The tasks' base environment (the guardian inherits it). */
  readonly env: NodeJS.ProcessEnv;
  readonly graceMs: number;
  /** The uid the tasks run as (the launcher's): every teardown takes only this user's processes. */
  readonly owner: number;
  /** The run's cgroup (cgroup layer), recorded in run-start. */
  cgroup: string | null;
  /** The run's guardian (guardian layer), recorded in run-start. */
  guardian: GuardianHandle | null;
  /** Who asks for the run-wide teardown under way (stopRun, atRunEnd), for the audit log; set by the executor. */
  audit?: AuditContext;
}

/** One stage (one attempt of one task's stage) of the local executor, as the layers see it. */
export interface StageScope {
  readonly task: number;
  readonly stage: string;
  readonly attempt: number;
  /** The stage's process group (its leader's pid); 0 before it started. */
  pgid: number;
  /** The leader's start time (clock ticks since boot) read at spawn, or null. */
  leaderStart: number | null;
  /** When the leader's exit was seen (uptimeTicks), or null while it runs: see RunGroup. */
  endedAtTicks: number | null;
  /** The stage's own cgroup (cgroup layer), recorded in task-start. */
  cgroup: string | null;
  /** Who asks for the stage's teardown under way (stopStage, afterStage), for the audit log; set by the executor. */
  audit?: AuditContext;
}

interface RunEndSweep {
  /** What was swept (journaled as the run's sweep when `found` > 0), or null. */
  readonly sweep: Sweep | null;
  /** Processes (or a cgroup that would not empty) still alive after it. */
  readonly survived: number;
}

interface AfterStage {
  /** What was swept (journaled when `found` > 0), or null. */
  readonly sweep: Sweep | null;
  /** The layer holds every process of the stage and saw none left: later layers need not look. */
  readonly clean: boolean;
}

export interface ContainmentLayer {
  readonly id: LayerId;
  readonly title: string;
  /** What the layer means for the guarantee (shown by `reaper doctor` and `reaper run`). */
  readonly meaning: string;
  /** Which part of a ContainmentRequest turns it off (pgroup and marker are always on). */
  wanted(req: ContainmentRequest): boolean;
  detect(): LayerProbe;
  /**
   * True when the layer, active, holds every process of a stage whatever it does (setsid,
   * double fork, a cleaned environment): without such a layer, escapees are looked for by marker.
   */
  holdsEveryProcess?(c: Containment): boolean;
  openRun?(c: Containment, run: RunScope): void;
  openStage?(c: Containment, run: RunScope, stage: StageScope): void;
  wrap?(c: Containment, argv: readonly string[], stage: Pick<StageScope, 'cgroup'>): string[];
  /** The stage's processes as the layer holds them (no /proc scan needed), or null. */
  members?(stage: StageScope): Member[] | null;
  stopStage?(stage: StageScope): Promise<Sweep | null>;
  afterStage?(c: Containment, run: RunScope, stage: StageScope): Promise<AfterStage | null>;
  closeStage?(stage: StageScope): void;
  stopRun?(run: RunScope, when: 'before' | 'after', mode: 'term' | 'kill'): Promise<void>;
  atRunEnd?(run: RunScope, mode: 'term' | 'kill'): Promise<RunEndSweep | null>;
  closeRun?(run: RunScope): void;
}

/** How many of a teardown's results survived it. */
export function survivedOf(res: ReadonlyArray<{ readonly outcome: string }>): number {
  return res.filter((x) => x.outcome === 'survived').length;
}

/** The stage's process group with the evidence teardown needs to take it (none before it started). */
export function stageGroups(run: Pick<RunScope, 'runId'>, stage: StageScope): RunGroup[] {
  if (stage.pgid <= 1) return [];
  return [{ pgid: stage.pgid, runId: run.runId, leaderStart: stage.leaderStart, knownAtTicks: stage.endedAtTicks }];
}
