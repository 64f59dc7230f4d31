/** What this machine allows, for `reaper doctor` (and what each finding means for the guarantees). */
import { readFileSync } from 'node:fs';
import type { GpuState } from '../model/gpu.js';
import { detectContainment, parseContainment, type LayerInfo } from './containment.js';

export interface DoctorCheck {
  readonly id: string;
  readonly title: string;
  readonly ok: boolean | null;
  readonly detail: string;
  readonly meaning: string;
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

export function procChecks(): DoctorCheck[] {
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
    meaning: hidden ? 'only your own processes are visible: leftovers of other users cannot be seen' : 'every process is visible; environments (run markers) of other users only to root',
  });
  const uid = process.getuid?.() ?? -1;
  const env1 = read('/proc/1/environ');
  out.push({
    id: 'proc-environ',
    title: 'environments of other users readable',
    ok: env1 !== null,
    detail: env1 !== null ? 'yes (root or CAP_SYS_PTRACE)' : `no (uid ${uid})`,
    meaning: env1 !== null ? 'run markers are found on every process' : 'run markers are found on your own processes only (enough for your runs)',
  });
  const ps = read('/proc/sys/kernel/yama/ptrace_scope');
  out.push({
    id: 'ptrace-scope',
    title: 'ptrace scope (yama)',
    ok: ps === null ? null : Number(ps.trim()) <= 1,
    detail: ps === null ? 'yama not present' : `kernel.yama.ptrace_scope = ${ps.trim()}`,
    meaning: ps !== null && Number(ps.trim()) >= 2 ? 'environ and fd of processes may be unreadable: run markers and GPU device files can be missed' : 'environ and fd of your own processes are readable',
  });
  return out;
}

export function gpuCheck(gpu: GpuState): DoctorCheck {
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

export function readDoctorReport(gpu: GpuState, containmentValue?: string): DoctorReport {
  return { uid: process.getuid?.() ?? -1, layers: detectContainment(parseContainment(containmentValue)).layers, checks: [...procChecks(), gpuCheck(gpu)] };
}
