/** What this machine allows, for `reaper doctor` (and what each finding means for the guarantees). */
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import type { GpuState } from '../model/gpu.js';
import { findOnPath, parseProctrack, pingController, runSlurmCommand, classifySlurmOutcome, type Proctrack } from '../slurm/index.js';
import { detectContainment, parseContainment, type LayerInfo } from './containment.js';

export interface DoctorCheck {
  readonly id: string;
  readonly title: string;
  readonly ok: boolean | null;
  readonly detail: string;
  readonly meaning: string;
  /** Not a finding about this machine's guarantees: a feature that is not installed here (Slurm). */
  readonly notApplicable?: boolean;
}

export interface DoctorReport {
  readonly uid: number;
  readonly layers: readonly LayerInfo[];
  readonly checks: readonly DoctorCheck[];
}

function read(p: string): string | null {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

function procChecks(): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  const mi = read('/proc/self/mountinfo') ?? '';
  const procLine = mi.split('\n').find((l) => / - proc /.test(l) && l.split(' ')[4] === '/proc');
  const hide = procLine ? /hidepid=([^, ]+)/.exec(procLine)?.[1] ?? null : null;
  const hidden = hide !== null && hide !== '0' && hide !== 'off';
  out.push({
    id: 'proc-visible',
    title: '/proc shows other users',
    ok: !hidden,
    detail: procLine ? (hidden ? `mounted with hidepid=${hide}` : 'no hidepid') : '/proc mount not found',
    meaning: hidden ? 'only your own processes are visible: leftovers of other users cannot be seen' : 'every process is visible (whose environments can be read: next line)',
  });
  out.push(environCheck(readEnvironTrial(), process.geteuid?.() ?? -1, hasCapSysPtrace()));
  const ps = read('/proc/sys/kernel/yama/ptrace_scope');
  out.push({
    id: 'ptrace-scope',
    title: 'ptrace scope (yama)',
    ok: ps === null ? null : true,
    detail: ps === null ? 'yama not present' : `kernel.yama.ptrace_scope = ${ps.trim()}`,
    // Yama restricts attaching (PTRACE_MODE_ATTACH) only; environ and fd are read-mode accesses.
    meaning: 'restricts only debuggers attaching; reaper never attaches, and reading environ and fd is not affected',
  });
  return out;
}

/** What trying to read other users' environments found. */
interface EnvironTrial {
  /** Processes of other users (not kernel threads, not zombies) whose environ was opened. */
  readonly tried: readonly { readonly pid: number; readonly uid: number; readonly readable: boolean }[];
}

const TRY_AT_MOST = 8;

/**
 * Opens /proc/<pid>/environ of a few live processes of other users (distinct uids first): the
 * kernel's answer (ptrace read access: same uid, or CAP_SYS_PTRACE, and a dumpable process) is
 * the truth, where /proc/1 alone says nothing about other users (it may be root's own
 * non-dumpable init, or in another user namespace).
 */
function readEnvironTrial(): EnvironTrial {
  const self = process.geteuid?.() ?? -1;
  const candidates: { pid: number; uid: number }[] = [];
  let names: string[] = [];
  try {
    names = readdirSync('/proc');
  } catch {
    return { tried: [] };
  }
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const status = read(`/proc/${name}/status`);
    if (status === null) continue;
    const uid = Number(/\nUid:\s*(\d+)/.exec(status)?.[1] ?? NaN);
    const state = /\nState:\s*(\S)/.exec(status)?.[1];
    // Kernel threads have no VmSize line and no environment; zombies have none either.
    if (!Number.isInteger(uid) || uid === self || state === 'Z' || state === 'X' || !/\nVmSize:/.test(status)) continue;
    candidates.push({ pid: Number(name), uid });
  }
  // One process per uid first (the answer can differ by owner), then more of the same uids.
  const seenUids = new Set<number>();
  const first = candidates.filter((c) => (seenUids.has(c.uid) ? false : (seenUids.add(c.uid), true)));
  const rest = candidates.filter((c) => !first.includes(c)).slice(0, TRY_AT_MOST);
  const picked = [...first, ...rest].slice(0, TRY_AT_MOST);
  const tried: { pid: number; uid: number; readable: boolean }[] = [];
  const one = Buffer.allocUnsafe(1);
  for (const c of picked) {
    let fd: number;
    try {
      fd = openSync(`/proc/${c.pid}/environ`, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') tried.push({ ...c, readable: false });
      continue; // gone meanwhile
    }
    try {
      readSync(fd, one, 0, 1, null);
      tried.push({ ...c, readable: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') tried.push({ ...c, readable: false });
    } finally {
      closeSync(fd);
    }
  }
  return { tried };
}

/** CAP_SYS_PTRACE (bit 19) in this process's effective set. */
function hasCapSysPtrace(): boolean {
  const hex = /\nCapEff:\s*([0-9a-f]+)/.exec(read('/proc/self/status') ?? '')?.[1];
  return hex !== undefined && (BigInt('0x' + hex) & (1n << 19n)) !== 0n;
}

/** Pure: the doctor line for a trial. */
function environCheck(trial: EnvironTrial, euid: number, capSysPtrace: boolean): DoctorCheck {
  const title = 'environments of other users readable';
  const ok = trial.tried.filter((t) => t.readable);
  const list = (xs: EnvironTrial['tried']): string => xs.map((t) => `${t.pid} (uid ${t.uid})`).join(', ');
  if (trial.tried.length === 0) {
    return {
      id: 'proc-environ',
      title,
      ok: null,
      detail: `no process of another user to try (uid ${euid}${capSysPtrace ? ', CAP_SYS_PTRACE' : ''})`,
      meaning: capSysPtrace
        ? 'with CAP_SYS_PTRACE the kernel lets you read them: run markers should be found on every process'
        : 'without CAP_SYS_PTRACE the kernel shows only environments of your own uid: run markers of other users may be missed',
    };
  }
  if (ok.length === trial.tried.length) {
    return { id: 'proc-environ', title, ok: true, detail: `yes: read ${list(ok)}`, meaning: 'run markers are found on every process' };
  }
  const denied = trial.tried.filter((t) => !t.readable);
  if (ok.length === 0) {
    return {
      id: 'proc-environ',
      title,
      ok: false,
      detail: `no: denied for ${list(denied)} (uid ${euid}${capSysPtrace ? ', CAP_SYS_PTRACE' : ', no CAP_SYS_PTRACE'})`,
      meaning: 'run markers are found on your own processes only (enough for your runs)',
    };
  }
  return {
    id: 'proc-environ',
    title,
    ok: null,
    detail: `some: read ${list(ok)}; denied for ${list(denied)}`,
    meaning: 'run markers of some other users\' processes (non-dumpable or in other user namespaces) cannot be read',
  };
}

function gpuCheck(gpu: GpuState): DoctorCheck {
  if (!gpu.ok) {
    return {
      id: 'gpu',
      title: 'GPU probe',
      ok: false,
      detail: gpu.error ? `${gpu.error.kind}: ${gpu.error.message}` : 'disabled',
      meaning: 'GPU columns are empty; processes holding /dev/nvidia* are still found from /proc; use --gpus sim:N for a demo',
    };
  }
  const pm = gpu.gpus.map((g) => (g.persistenceMode === null ? '?' : g.persistenceMode ? 'on' : 'off'));
  const allOn = gpu.gpus.length > 0 && gpu.gpus.every((g) => g.persistenceMode === true);
  return {
    id: 'gpu',
    title: 'GPU probe',
    ok: true,
    detail: `${gpu.source}: ${gpu.gpus.length} GPU(s) (${gpu.gpus.map((g) => `${g.index}: ${g.name}`).join(', ')}); persistence mode ${pm.join('/')}`,
    meaning: allOn || gpu.source === 'simulated' ? 'GPU memory and holders are shown' : 'persistence mode off: each nvidia-smi call may take seconds while the driver initialises',
  };
}

/** What asking this machine's Slurm found (see readSlurmProbe); slurmChecks turns it into lines. */
export interface SlurmProbe {
  /** Where the clients are on PATH; null when not found. */
  readonly squeue: string | null;
  readonly sbatch: string | null;
  /** `scontrol ping`; null when not asked (no client). */
  readonly ping: { readonly up: boolean; readonly error: string | null; readonly ms: number } | null;
  /** `scontrol show config`; null when not asked (the controller does not answer). */
  readonly config: { readonly proctrack: Proctrack; readonly error: string | null } | null;
}

const NOT_INSTALLED = 'not installed (only needed for backend: slurm)';

/**
 * Is Slurm usable here: no client at all is one line, not a failure; otherwise the client, the
 * controller (scontrol ping: the one client that does not retry a down controller for ~10 s) and
 * the proctrack type, asked only of a controller that answered.
 */
export async function readSlurmProbe(env: Readonly<Record<string, string | undefined>> = process.env): Promise<SlurmProbe> {
  const squeue = findOnPath('squeue', env.PATH);
  const sbatch = findOnPath('sbatch', env.PATH);
  if (!squeue && !sbatch) return { squeue, sbatch, ping: null, config: null };
  const t0 = Date.now();
  const p = await pingController({ deadlineMs: 3000, env });
  const ping = { up: p.up, error: p.error?.message ?? null, ms: Date.now() - t0 };
  if (!p.up) return { squeue, sbatch, ping, config: null };
  const out = await runSlurmCommand('scontrol', ['show', 'config'], { deadlineMs: 5000, env, maxBytes: 1024 * 1024 });
  const err = classifySlurmOutcome(out);
  return { squeue, sbatch, ping, config: { proctrack: parseProctrack(err ? '' : out.stdout), error: err?.message ?? null } };
}

/** The doctor lines for Slurm (pure). */
export function slurmChecks(p: SlurmProbe): DoctorCheck[] {
  if (!p.squeue && !p.sbatch) return [{ id: 'slurm', title: 'Slurm', ok: null, detail: NOT_INSTALLED, meaning: '', notApplicable: true }];
  const out: DoctorCheck[] = [];
  const missing = [p.squeue ? null : 'squeue', p.sbatch ? null : 'sbatch'].filter((x): x is string => x !== null);
  out.push({
    id: 'slurm-client',
    title: 'Slurm client',
    ok: missing.length === 0,
    detail: [p.squeue ? `squeue: ${p.squeue}` : null, p.sbatch ? `sbatch: ${p.sbatch}` : null, ...missing.map((m) => `${m}: not on PATH`)].filter(Boolean).join(', '),
    meaning: missing.length === 0 ? 'reaper run --backend slurm can submit and watch jobs' : `reaper run --backend slurm needs both squeue and sbatch on PATH`,
  });
  if (p.ping) {
    out.push({
      id: 'slurm-controller',
      title: 'Slurm controller',
      ok: p.ping.up,
      detail: p.ping.up ? `answers (scontrol ping, ${p.ping.ms} ms)` : (p.ping.error ?? 'does not answer'),
      meaning: p.ping.up ? 'jobs can be submitted, watched and cancelled' : 'Slurm runs can be neither started nor watched nor cancelled until it answers; every other client call waits ~10 s for it',
    });
  }
  out.push(proctrackCheck(p));
  return out;
}

function proctrackCheck(p: SlurmProbe): DoctorCheck {
  const base = { id: 'slurm-proctrack', title: 'Slurm process tracking' };
  if (!p.config) return { ...base, ok: null, detail: 'not asked: the controller does not answer', meaning: 'scancel ends every process of a job only with proctrack/cgroup' };
  const { proctrack, error } = p.config;
  if (error || proctrack.kind === null) return { ...base, ok: null, detail: error ?? 'ProctrackType not in scontrol show config', meaning: 'scancel ends every process of a job only with proctrack/cgroup' };
  switch (proctrack.kind) {
    case 'cgroup':
      return { ...base, ok: true, detail: proctrack.type!, meaning: "every process of a job, escapees included, is held in the job's cgroup: scancel and the job's end leave nothing" };
    case 'linuxproc':
      return {
        ...base,
        ok: false,
        detail: `${proctrack.type!} (warning)`,
        meaning:
          'warning: Slurm tracks a job by parent pid, so double-forked, setsid and SIGTERM-ignoring processes leak: measured, all 7 escapees of a job outlive its script, and 3 survive scancel; reaper still finds those that keep REAPER_RUN on this node. Ask for ProctrackType=proctrack/cgroup',
      };
    case 'pgid':
      return {
        ...base,
        ok: false,
        detail: `${proctrack.type!} (warning)`,
        meaning:
          "warning: Slurm tracks a job by process group, so setsid and double-forked (daemon) processes leave the job and survive scancel (measured), and SIGTERM-ignoring ones may; reaper still finds those that keep REAPER_RUN on this node. Ask for ProctrackType=proctrack/cgroup",
      };
    default:
      return { ...base, ok: null, detail: proctrack.type!, meaning: 'not a tracking reaper knows: whether scancel ends every process of a job is unknown' };
  }
}

export function readDoctorReport(gpu: GpuState, containmentValue?: string, extra: readonly DoctorCheck[] = []): DoctorReport {
  return { uid: process.getuid?.() ?? -1, layers: detectContainment(parseContainment(containmentValue)).layers, checks: [...procChecks(), gpuCheck(gpu), ...extra] };
}
