/** Hidden: `reaper __guardian --run ID --state DIR`, started by the launcher (src/launch/guardian.ts). */
import { ReaperError } from '../../model/errors.js';
import { runGuardian, RUN_ID_RE } from '../../launch/index.js';
import { parseFlags } from '../flags.js';

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, { run: { type: 'string' }, state: { type: 'string' } }, 'reaper __guardian --run ID --state DIR (internal)');
  const runId = flags.run as string | undefined;
  const state = flags.state as string | undefined;
  if (!runId || !RUN_ID_RE.test(runId) || !state) throw new ReaperError('USAGE', '__guardian: --run ID and --state DIR are required (internal command)');
  return runGuardian({ runId, state });
}
