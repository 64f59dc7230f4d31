/** `reaper doctor`: what this machine allows, and which containment layers `reaper run` will use. */
import { readDoctorReport } from '../../launch/index.js';
import { createGpuProbe, resolveGpuProbeConfig } from '../../probe/gpu-probe.js';
import { sanitizeText, toSafeJson } from '../../model/sanitize.js';
import { parseFlags, parseGpusFlag } from '../flags.js';

const HELP = `Usage
  reaper doctor [--json] [--gpus auto|none|sim:N] [--containment MODE]

Prints what this machine allows (cgroup v2, PID namespaces, setpriv, /proc visibility, ptrace
scope, nvidia-smi) and which containment layers "reaper run" will use here.`;

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
  const gpu = await probe.read();
  probe.close();
  const rep = readDoctorReport(gpu, (flags.containment as string | undefined) ?? process.env.REAPER_CONTAINMENT);
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
  for (const c of rep.checks) {
    lines.push(`  [${mark(c.ok)}] ${c.title.padEnd(38)} ${c.detail}`);
    lines.push(`        ${c.meaning}`);
  }
  // GPU names, probe errors and paths come from outside: every line goes through the sanitiser.
  process.stdout.write(lines.map(sanitizeText).join('\n') + '\n');
  return 0;
}
