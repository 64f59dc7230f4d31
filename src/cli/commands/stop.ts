/** `reaper stop RUN|last`: tear a run down (through its launcher when alive, directly otherwise). */
import { ReaperError } from '../../model/errors.js';
import { sanitizeText, toSafeJson } from '../../model/sanitize.js';
import { resolveRunId, stateDir, stopRun } from '../../launch/index.js';
import { parseFlags, parseSecondsFlag } from '../flags.js';

const HELP = `Usage
  reaper stop RUN|last [--kill] [--wait SECONDS] [--json]

RUN is the whole run id, a unique prefix of 8 or more characters, or "last".
Signals the run's launcher (resuming it first if it is stopped), which tears every task down
(TERM, grace, KILL) and records the end. When the launcher is gone, the guardian or this command
tears the run down from its journal. A run folder that someone else could write is refused, and
only processes that belong to the run by evidence (its marker or cgroup, its user) are signalled.
  --kill          no grace period: kill at once
  --wait SECONDS  how long to wait for the launcher before acting directly
  --host H        stop the run on ssh destination H: runs "reaper stop RUN" there and prints its
                  output (sanitised); H's exit status is this command's
Exit: 0 nothing of the run is left, 1 some processes survived, 2 unknown run, 3 the host could not be asked.`;

export async function run(argv: string[]): Promise<number> {
  const { input, flags } = parseFlags(argv, { kill: { type: 'boolean' }, wait: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' }, host: { type: 'string' } }, HELP);
  if (flags.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (input.length !== 1) throw new ReaperError('USAGE', 'stop: expected one run id (or "last")');
  const wait = parseSecondsFlag('wait', flags.wait);
  if (flags.host !== undefined) {
    const { resolveOneHost, openHostTransport } = await import('../hosts/fanout.js');
    const host = resolveOneHost(String(flags.host), process.env);
    if (!host.local) {
      const { runStopHost } = await import('../hosts/stop-host.js');
      const runId = input[0]!;
      if (runId.length > 256 || /[\u0000-\u001f\u007f]/.test(runId)) throw new ReaperError('USAGE', 'stop: that is not a run id');
      return runStopHost(host, { runId, kill: !!flags.kill, waitS: wait, json: !!flags.json }, openHostTransport(process.env), { out: process.stdout, err: process.stderr });
    }
  }
  const state = stateDir(process.env);
  const runId = resolveRunId(state, input[0]!);
  const json = !!flags.json;
  const r = await stopRun(state, runId, {
    kill: !!flags.kill,
    ...(wait !== undefined ? { waitMs: wait * 1000 } : {}),
    onNote: (l) => {
      if (!json) process.stdout.write(sanitizeText(l) + '\n');
    },
  });
  if (json) process.stdout.write(toSafeJson(r) + '\n');
  else if (r.by === 'none') process.stdout.write(`run ${runId} had already ended; nothing of it is alive\n`);
  else process.stdout.write(`run ${runId} stopped (by ${r.by}); processes left alive: ${r.survivors}${r.detail ? `\n  ${sanitizeText(r.detail)}` : ''}\n`);
  return r.survivors === 0 ? 0 : 1;
}
