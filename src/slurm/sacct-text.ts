/**
 * sacct -X -P -n output (pure): one allocation per line, "|" between fields, in the order of
 * SACCT_FIELDS. JobName is left out for the reason given in squeue-text.ts. Without slurmdbd,
 * plain sacct fails with "accounting storage is disabled"; `sacct -c` reads a jobcomp/filetxt file
 * instead, and one job name with a newline corrupts that file for every later reader (captured:
 * sacct-c-22.05.txt), so its odd lines are reported as bad, not guessed at.
 */
import { parseExitCodeText } from './exit-status.js';
import { classifyState, parseSlurmDuration } from './state.js';
import type { SlurmJob } from './types.js';
import type { ParsedJobs } from './squeue-text.js';

export const SACCT_FIELDS = ['JobID', 'State', 'ExitCode', 'Elapsed', 'NodeList', 'User', 'Partition'] as const;

const JOB_ID = /^\d+(?:_(?:\d+|\[[0-9,\-%]+\]))?(?:\+\d+)?$/;

/** fields: the --format list the text was made with (default SACCT_FIELDS). */
export function parseSacctText(text: string, fields: readonly string[] = SACCT_FIELDS): ParsedJobs {
  const jobs: SlurmJob[] = [];
  const bad: string[] = [];
  const at = (name: string): number => fields.findIndex((f) => f.toLowerCase() === name.toLowerCase());
  const [iId, iState, iExit, iElapsed, iNodes, iUser, iPart] = ['JobID', 'State', 'ExitCode', 'Elapsed', 'NodeList', 'User', 'Partition'].map(at);
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const f = line.split('|');
    const get = (i: number | undefined): string | null => {
      const v = i === undefined || i < 0 ? undefined : f[i];
      return v === undefined || v === '' || v === '(null)' || v === 'None assigned' ? null : v;
    };
    const id = get(iId);
    const stateText = get(iState);
    if (f.length !== fields.length || !id || !JOB_ID.test(id) || !stateText || !/^[A-Z_]+(?: by \d+)?$/.test(stateText)) {
      bad.push(line);
      continue;
    }
    const [state, , by] = stateText.split(' ');
    const exitText = get(iExit);
    const elapsed = get(iElapsed);
    jobs.push({
      jobId: id,
      state: state!,
      stateFlags: by ? [`by uid ${by}`] : [],
      stateClass: classifyState(state!),
      reason: null,
      user: get(iUser),
      partition: get(iPart),
      nodes: get(iNodes),
      elapsedS: elapsed ? parseSlurmDuration(elapsed) : null,
      name: null,
      exit: exitText ? parseExitCodeText(exitText) : null,
    });
  }
  return { jobs, bad };
}
