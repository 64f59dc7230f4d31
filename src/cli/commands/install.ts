/** `reaper install --host H [--file PATH]`: the single-file executable to ~/.local/bin/reaper on H. */
import { ReaperError } from '../../model/errors.js';
import { parseFlags, parseSecondsFlag, type FlagSpec } from '../flags.js';

const HELP = `Usage
  reaper install --host H [--file PATH] [--host-timeout SECONDS]

Copies reaper's single-file executable (npm run package builds build/reaper; a running
single-file reaper copies itself) to ~/.local/bin/reaper on ssh destination H, for servers
without Node.js. H's "uname -sm" must match the executable's OS and architecture (read from
its ELF header), else nothing is copied. The copy lands in a temporary file, is checked
(size, and sha256 where H has sha256sum), made executable and renamed into place.
  --host H            the ssh destination
  --file PATH         the executable to copy (default: this one, else build/reaper)
  --host-timeout S    seconds for each step besides the transfer itself (default 60)
Exit: 0 installed, 1 refused (another OS or architecture) or the copy failed its check,
2 bad input or no executable, 3 the host could not be reached.`;

const SPEC: FlagSpec = { host: { type: 'string' }, file: { type: 'string' }, hostTimeout: { type: 'string' } };

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const { flags } = parseFlags(argv, SPEC, HELP, { command: 'install', args: 0 });
  if (flags.host === undefined) throw new ReaperError('USAGE', 'install: --host H is required');
  const timeout = parseSecondsFlag('hostTimeout', flags.hostTimeout, { min: 1, max: 3600 }) ?? 60;
  const { openHostTransport, resolveOneHost } = await import('../hosts/fanout.js');
  const { runInstallHost } = await import('../hosts/install-host.js');
  const host = resolveOneHost(String(flags.host), process.env);
  return runInstallHost(
    host,
    { file: flags.file === undefined ? null : String(flags.file), deadlineMs: Math.round(timeout * 1000) },
    openHostTransport(process.env),
    { out: process.stdout, err: process.stderr },
  );
}
