/** `reaper doctor`: what this machine allows, and which containment layers `reaper run` will use. */
import { readDoctorReport } from '../../launch/index.js';
import { readSlurmProbe, slurmChecks } from '../../launch/doctor.js';
import { createGpuProbe, resolveGpuProbeConfig } from '../../probe/gpu-probe.js';
import { sanitizeText, toSafeJson } from '../../model/sanitize.js';
import { parseFlags, parseGpusFlag } from '../flags.js';

const HELP = `Usage
  reaper doctor [--json] [--gpus auto|none|sim:N] [--containment MODE]

Prints what this machine allows (cgroup v2, PID namespaces, setpriv, /proc visibility, ptrace
scope, nvidia-smi), which containment layers "reaper run" will use here, and whether Slurm is
usable (client, controller, process tracking) for backend: slurm.`;

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseFlags(
    argv,
    { json: { type: 'boolean' }, gpus: { type: 'string' }, containment: { type: 'string' }, help: { type: 'boolean' } },
    HELP,
    { command: 'doctor', args: 0 },
  );
  if (flags.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const sel = parseGpusFlag(flags.gpus);
  const probe = createGpuProbe(resolveGpuProbeConfig(sel, process.env));
  // The GPU probe and the Slurm questions (each with its own deadline) run side by side.
  const slurmP = readSlurmProbe(process.env);
  const gpu = await probe.read();
  probe.close();
  const slurm = slurmChecks(await slurmP);
  const rep = readDoctorReport(gpu, (flags.containment as string | undefined) ?? process.env.REAPER_CONTAINMENT, slurm);
  if (flags.json) {
    process.stdout.write(toSafeJson(rep) + '\n');
    return 0;
  }
  const mark = (ok: boolean | null): string => (ok === null ? ' ? ' : ok ? 'yes' : ' no');
  const lines = [`reaper doctor (uid ${rep.uid})`, '', 'Containment layers for "reaper run":'];
  for (const l of rep.layers) {
    lines.push(`  [${l.active ? 'on ' : 'off'}] ${l.title.padEnd(26)} ${l.detail}`);
    lines.push(`        ${l.active ? '' : 'without it: not guaranteed that '}${l.meaning}`);
  }
  const on = rep.layers.filter((l) => l.active).map((l) => l.id);
  lines.push('', `  active: ${on.join(', ')}; teardown: stop → rescan → TERM+CONT → grace → KILL → confirm (always)`);
  lines.push('', 'Machine:');
  const line = (c: (typeof rep.checks)[number]): void => {
    lines.push(`  [${c.notApplicable ? ' - ' : mark(c.ok)}] ${c.title.padEnd(38)} ${c.detail}`);
    if (c.meaning) lines.push(`        ${c.meaning}`);
  };
  for (const c of rep.checks) if (!c.id.startsWith('slurm')) line(c);
  lines.push('', 'Slurm (backend: slurm):');
  for (const c of rep.checks) if (c.id.startsWith('slurm')) line(c);
  // GPU names, probe errors and paths come from outside: every line goes through the sanitiser.
  process.stdout.write(lines.map(sanitizeText).join('\n') + '\n');
  return 0;
}
