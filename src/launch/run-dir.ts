/**
 * A run's own folder, made exclusively. Apart from paths.ts because it checks the state folder
 * with run-trust.ts, which itself names run folders through paths.ts.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import { ReaperError } from '../model/errors.js';
import { ensureStateDir, privateDir, runPaths, type RunPaths } from './paths.js';
import { inspectStateDir } from './run-trust.js';

/**
 * Creates a run's folder, exclusively: a run id already in use is refused (two runs sharing an id
 * would share a marker and a cgroup, and stopping one would kill the other's tasks). `adopt`
 * accepts a folder this user made moments ago for the same run (the detached launcher's parent
 * creates it for launcher.log) as long as no journal exists in it yet.
 */
export function createRunDir(state: string, runId: string, opts: { adopt?: boolean } = {}): RunPaths {
  const p = runPaths(state, runId);
  ensureStateDir(state);
  // A run under a folder others could change would be refused by its own guardian and by stop.
  const unsafe = inspectStateDir(state);
  if (unsafe) throw new ReaperError('USAGE', `refusing to start: ${unsafe}`);
  try {
    mkdirSync(p.dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    let journalExists = true;
    try {
      lstatSync(p.journal);
    } catch {
      journalExists = false;
    }
    if (!opts.adopt || journalExists) throw new ReaperError('USAGE', `run id ${runId} is already in use (${p.dir}); choose another --run-id`);
    privateDir(p.dir);
    const st = lstatSync(p.dir);
    if (st.uid !== (process.getuid?.() ?? st.uid)) throw new ReaperError('USAGE', `run folder ${p.dir} belongs to uid ${st.uid}, not you: refusing it`);
  }
  for (const sub of [p.logs, p.out]) {
    try {
      mkdirSync(sub, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  return p;
}
