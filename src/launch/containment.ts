/**
 * Containment of the local executor: which layers this machine allows, detected at start-up,
 * and their composition. Each layer is one module under layers/ with the same hooks
 * (layers/layer.ts); this file only orders them. Layers that the machine refuses are skipped
 * with a note; the process group, the environment marker and the guardian always remain.
 *
 *   1 pgroup     own session + process group per task, stdin closed     (always)
 *   2 marker     REAPER_RUN / REAPER_TASK in the environment             (always)
 *   3 cgroup     cgroup v2 leaf per task, cgroup.kill                     (cgroup2 writable)
 *     pidns      PID namespace per task: when its init dies the kernel    (unshare permitted)
 *                kills every member
 *     pdeathsig  SIGKILL to the task's direct child when the launcher dies (setpriv present)
 *   4 guardian   detached process holding the launcher's lifeline pipe   (always, unless disabled)
 *   5 teardown   the shared ladder (src/actions)                          (always)
 */
import { ReaperError } from '../model/errors.js';
import { cgroupLayer } from './layers/cgroup.js';
import { guardianLayer } from './layers/guardian.js';
import type { Containment, ContainmentLayer, ContainmentRequest, ContainmentSettings, LayerInfo, Member, RunScope, StageScope, Sweep } from './layers/layer.js';
import { markerLayer } from './layers/marker.js';
import { pdeathsigLayer } from './layers/pdeathsig.js';
import { pgroupLayer } from './layers/pgroup.js';
import { pidnsLayer } from './layers/pidns.js';

export type { Containment, ContainmentRequest,  LayerInfo, RunScope, StageScope, Sweep, Member } from './layers/layer.js';
// The confined cgroup operations, for the modules that imported them from here.
export {    findCgroup2Mount,      resolveRunCgroup,  } from './cgroup-fs.js';

/** Detection and display order (run-start records the layers in it). */
const LAYERS: readonly ContainmentLayer[] = [pgroupLayer, markerLayer, cgroupLayer, pidnsLayer, pdeathsigLayer, guardianLayer];

/**
 * Wrapping order, innermost first: the PID namespace right around the command, the cgroup
 * entered before it (so unshare is in the cgroup too), the parent-death signal outermost (it
 * acts on the launcher's direct child).
 */
const WRAP_ORDER: readonly ContainmentLayer[] = [pidnsLayer, cgroupLayer, pdeathsigLayer];

const TOKENS = ['auto', 'all', 'pgroup-only', 'none', 'no-cgroup', 'no-pidns', 'no-pdeathsig', 'no-guardian'] as const;

/**
 * `--containment` / REAPER_CONTAINMENT: "auto" (every layer the machine allows), "pgroup-only"
 * (alias "none": process groups and the marker only, for tests that need survivors), or a comma
 * list of "no-cgroup", "no-pidns", "no-pdeathsig", "no-guardian".
 */
export function parseContainment(value: string | undefined): ContainmentRequest {
  const req = { cgroup: true, pidns: true, pdeathsig: true, guardian: true };
  if (value === undefined || value.trim() === '') return req;
  for (const raw of value.split(',')) {
    const t = raw.trim();
    if (!(TOKENS as readonly string[]).includes(t)) throw new ReaperError('USAGE', `--containment expects ${TOKENS.join(', ')} (comma separated), got "${t}"`);
    if (t === 'pgroup-only' || t === 'none') Object.assign(req, { cgroup: false, pidns: false, pdeathsig: false, guardian: false });
    else if (t === 'no-cgroup') req.cgroup = false;
    else if (t === 'no-pidns') req.pidns = false;
    else if (t === 'no-pdeathsig') req.pdeathsig = false;
    else if (t === 'no-guardian') req.guardian = false;
  }
  return req;
}

/** Detects what this machine allows and combines it with what was asked for. */
export function detectContainment(req: ContainmentRequest = parseContainment(undefined)): Containment {
  const settings: { -readonly [K in keyof ContainmentSettings]: ContainmentSettings[K] } = { cgroupBase: null, pidnsPrefix: null, pidnsInit: null, setpriv: null, guardian: false };
  const layers: LayerInfo[] = LAYERS.map((l) => {
    const probe = l.detect();
    const wanted = l.wanted(req);
    const active = probe.available && wanted;
    if (active) Object.assign(settings, probe.settings ?? {});
    const detail = probe.available && !wanted ? `${probe.detail} (disabled by --containment)` : probe.detail;
    return { id: l.id, title: l.title, available: probe.available, active, detail, meaning: l.meaning };
  });
  return { layers, ...settings };
}

/** One line for `reaper run`: "containment: a, b, c; off: d (why)". */
export function describeLayers(c: Containment): string {
  const on = c.layers.filter((l) => l.active).map((l) => l.id);
  const offList = c.layers.filter((l) => !l.active).map((l) => `${l.id} (${l.detail})`);
  return `containment: ${on.join(', ')}${offList.length ? `; off: ${offList.join('; ')}` : ''}`;
}

/** The argv that runs `cmd` inside the active layers (the process group comes from spawn itself). */
export function wrapArgv(c: Containment, cmd: readonly string[], cgroupDir: string | null): string[] {
  let argv = [...cmd];
  for (const l of WRAP_ORDER) if (l.wrap) argv = l.wrap(c, argv, { cgroup: cgroupDir });
  return argv;
}

// ---- the layers' hooks, composed (each hook acts only where its layer is on) ----

/** Some layer holds every process of a stage (cgroup, PID namespace): no marker scan for escapees is needed. */
export function holdsEveryProcess(c: Containment): boolean {
  return LAYERS.some((l) => l.holdsEveryProcess?.(c) ?? false);
}

/** Before the first stage (may throw: `step` says what was being done). */
export function openRun(c: Containment, run: RunScope, step: (what: string) => void): void {
  for (const l of LAYERS) {
    if (!l.openRun) continue;
    step(`start the ${l.id}`);
    l.openRun(c, run);
  }
}

export function openStage(c: Containment, run: RunScope, stage: StageScope): void {
  for (const l of LAYERS) l.openStage?.(c, run, stage);
}

/** The stage's processes as a layer holds them, or null: only a /proc scan finds them. */
export function stageMembers(stage: StageScope): Member[] | null {
  for (const l of LAYERS) {
    const m = l.members?.(stage);
    if (m) return m;
  }
  return null;
}

/** After the signal ladder tore a stage down: what the layers still had to kill. */
export async function stopStage(stage: StageScope): Promise<Sweep[]> {
  const out: Sweep[] = [];
  for (const l of LAYERS) {
    const s = await l.stopStage?.(stage);
    if (s) out.push(s);
  }
  return out;
}

/**
 * A stage's leader exited on its own. The layers that hold every process are asked first: the
 * first that answers decides (clean: nothing is left, done); otherwise the others sweep.
 */
export async function afterStage(c: Containment, run: RunScope, stage: StageScope): Promise<Sweep[]> {
  const out: Sweep[] = [];
  const holding = LAYERS.filter((l) => l.holdsEveryProcess?.(c));
  for (const l of holding) {
    const a = await l.afterStage?.(c, run, stage);
    if (!a) continue;
    if (a.sweep) out.push(a.sweep);
    if (a.clean) return out;
    break;
  }
  for (const l of LAYERS) {
    if (holding.includes(l)) continue;
    const a = await l.afterStage?.(c, run, stage);
    if (a?.sweep) out.push(a.sweep);
  }
  return out;
}

export function closeStage(stage: StageScope): void {
  for (const l of LAYERS) l.closeStage?.(stage);
}

/** The whole run is torn down: `ladder` is the shared signal ladder, the layers act around it. */
export async function stopRun(run: RunScope, mode: 'term' | 'kill', ladder: () => Promise<unknown>): Promise<void> {
  for (const l of LAYERS) await l.stopRun?.(run, 'before', mode);
  await ladder();
  for (const l of LAYERS) await l.stopRun?.(run, 'after', mode);
}

/** The final sweep: what each layer swept (to journal) and how many survived in all. */
export async function atRunEnd(run: RunScope, mode: 'term' | 'kill'): Promise<{ sweeps: Sweep[]; survived: number }> {
  const sweeps: Sweep[] = [];
  let survived = 0;
  for (const l of LAYERS) {
    try {
      const r = await l.atRunEnd?.(run, mode);
      if (!r) continue;
      if (r.sweep) sweeps.push(r.sweep);
      survived += r.survived;
    } catch {
      /* best effort; the guardian still watches until run-end is written */
    }
  }
  return { sweeps, survived };
}

/** After the run-end record, or when the start failed: let go of what openRun took. */
export function closeRun(run: RunScope): void {
  for (const l of LAYERS) l.closeRun?.(run);
}
