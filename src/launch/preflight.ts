/**
 * Checks before a run starts, so that a batch that cannot run fails with one line and starts
 * nothing: every program and working folder exists, and the state folder can take the run.
 */
import { accessSync, closeSync, constants, mkdirSync, openSync, statfsSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ReaperError } from '../model/errors.js';
import { expandTemplate, placeholdersIn, type BatchConfig } from './config.js';
import { errText } from './fs-error.js';
import { runsDir } from './paths.js';

/**
 * What a task needs from the file system, checked before anything starts: its working folder
 * exists and is a folder, its program resolves like execvp would to an executable regular file
 * (a folder is "executable" for access(2), but exec fails). Templates are expanded with each
 * task's own values; one that uses {gpu}, {run} or {out} is only known at launch and is skipped.
 */
export function checkPrograms(config: BatchConfig, env: NodeJS.ProcessEnv): void {
  const PATH = (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').filter(Boolean);
  const late = (tpl: string): boolean => placeholdersIn(tpl).some((p) => p === 'gpu' || p === 'run' || p === 'out');
  const isExecFile = (c: string): 'ok' | 'folder' | null => {
    try {
      const st = statSync(c);
      if (st.isDirectory()) return 'folder';
      if (!st.isFile()) return null;
      accessSync(c, constants.X_OK);
      return 'ok';
    } catch {
      return null;
    }
  };
  const seen = new Set<string>();
  for (const s of config.stages) {
    for (const t of config.tasks) {
      const vars = { ...t.vars, task: String(t.index) };
      const where = (key: string): string => `${config.file}:${s.line}: stages.${s.name}.${key}`;
      const forTask = (tpl: string): string => (placeholdersIn(tpl).length > 0 ? ` (task ${t.index})` : '');
      let cwd = config.baseDir;
      if (s.cwd !== null && !late(s.cwd)) {
        cwd = path.resolve(config.baseDir, expandTemplate(s.cwd, vars));
        if (!seen.has(`cwd\0${cwd}`)) {
          seen.add(`cwd\0${cwd}`);
          let st;
          try {
            st = statSync(cwd);
          } catch (e) {
            throw new ReaperError('CONFIG', `${where('cwd')}: no such folder${forTask(s.cwd)}: ${cwd} (${(e as NodeJS.ErrnoException).code ?? 'cannot stat'})`);
          }
          if (!st.isDirectory()) throw new ReaperError('CONFIG', `${where('cwd')}: not a folder${forTask(s.cwd)}: ${cwd}`);
          try {
            accessSync(cwd, constants.X_OK);
          } catch {
            throw new ReaperError('CONFIG', `${where('cwd')}: folder not accessible${forTask(s.cwd)}: ${cwd}`);
          }
        }
      }
      const tpl = s.cmd[0]!;
      if (late(tpl)) continue;
      const prog = expandTemplate(tpl, vars);
      // A relative path under a folder known only at launch cannot be checked now.
      if (s.cwd !== null && late(s.cwd) && prog.includes('/') && !path.isAbsolute(prog)) continue;
      const key = `prog\0${cwd}\0${prog}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (prog === '') throw new ReaperError('CONFIG', `${where('cmd')}: the program is empty${forTask(tpl)}`);
      const candidates = prog.includes('/') ? [path.resolve(cwd, prog)] : PATH.map((d) => path.resolve(cwd, d, prog));
      const found = candidates.map(isExecFile);
      if (found.includes('ok')) continue;
      if (found.includes('folder') && prog.includes('/')) throw new ReaperError('CONFIG', `${where('cmd')}: the program is a folder${forTask(tpl)}: ${prog}`);
      throw new ReaperError('CONFIG', `${where('cmd')}: program not found or not executable${forTask(tpl)}: ${prog}`);
    }
  }
}

/** Free space the state folder needs before a run starts (journal, logs, the guardian's log). */
const MIN_STATE_FREE_BYTES = 4 * 1024 * 1024;

/**
 * Before anything starts: the state folder exists (0700), is writable and has room. A run that
 * cannot record itself must not start (its journal is what `stop`, `ls` and the guardian read).
 */
export function checkStateFolder(state: string): void {
  const dir = runsDir(state);
  const fail = (what: string): never => {
    throw new ReaperError('INTERNAL', `state folder ${dir}: ${what}; nothing was started (free space there, or point XDG_STATE_HOME elsewhere)`);
  };
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    fail(`cannot create it (${errText(e)})`);
  }
  try {
    const st = statfsSync(dir);
    const free = st.bavail * st.bsize;
    if (free < MIN_STATE_FREE_BYTES) fail(`full (${Math.floor(free / 1024)} KiB free; a run needs ${MIN_STATE_FREE_BYTES / 1024 / 1024} MiB for its journal and logs)`);
    if (st.files > 0 && st.ffree < 64) fail(`no free inodes (${st.ffree} left)`);
  } catch (e) {
    if (e instanceof ReaperError) throw e;
    /* statfs unsupported: the probe below still tells */
  }
  // statfs sees neither quotas nor a read-only bind mount: write a probe and remove it.
  const probe = path.join(dir, `.probe-${process.pid}`);
  try {
    const fd = openSync(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, Buffer.alloc(64 * 1024));
    } finally {
      closeSync(fd);
      unlinkSync(probe);
    }
  } catch (e) {
    try {
      unlinkSync(probe);
    } catch {
      /* not created */
    }
    fail(`not writable (${errText(e)})`);
  }
}
