/**
 * Journals for a live screen, read again every refresh: the run summaries (the journal parsed
 * again only when it grew) and one run's history for the details pane (kept while an ended run's
 * journal stays the same). The same trust rules as stop and reap: a folder others can write, a
 * symlink or a foreign journal is left out or shown as unreadable with the reason. A broken
 * record never breaks the screen.
 */
import { readdirSync, statSync } from 'node:fs';
import type { RunSummary } from '../model/run.js';
import type { Snapshot } from '../model/snapshot.js';
import { readRunHistory, type RunHistoryEntry } from './history.js';
import { parseJournal, summarizeRun } from './journal.js';
import { RUN_ID_RE, runPaths, runsDir } from './paths.js';
import { inspectRunFolder, inspectStateDir, readTrustedText } from './run-trust.js';
import { errorLine } from '../model/errors.js';

export type RunsReader = (snapshot: Snapshot) => RunSummary[];

/** Liveness is derived against every new snapshot; a journal is parsed again only when its size or mtime moved. */
export function createRunsReader(state: string): RunsReader {
  const cache = new Map<string, { ino: number; size: number; mtimeMs: number; events: ReturnType<typeof parseJournal> }>();
  return (snapshot) => {
    if (inspectStateDir(state) !== null) return [];
    let ids: string[];
    try {
      ids = readdirSync(runsDir(state))
        .filter((n) => RUN_ID_RE.test(n))
        .sort();
    } catch {
      return [];
    }
    const out: RunSummary[] = [];
    const seen = new Set<string>();
    for (const id of ids) {
      try {
        const t = inspectRunFolder(state, id);
        if (!t.ok) continue;
        const st = statSync(t.run.journal);
        let c = cache.get(id);
        if (!c || c.ino !== t.run.ino || c.size !== st.size || c.mtimeMs !== st.mtimeMs) {
          c = { ino: t.run.ino, size: st.size, mtimeMs: st.mtimeMs, events: parseJournal(readTrustedText(t.run)) };
          cache.set(id, c);
        }
        seen.add(id);
        const s = summarizeRun(t.run.dir, c.events, snapshot);
        if (s) out.push(s);
      } catch {
        // unreadable or torn beyond repair: skip it this time
      }
    }
    for (const id of cache.keys()) if (!seen.has(id)) cache.delete(id);
    return out;
  };
}

/** Lines of stderr the details pane shows per failed stage. */
export const PANE_TAIL_LINES = 5;

/**
 * `reaper show`'s reader (journal and stderr tails read defensively) behind the same trust checks
 * as the jobs list. An ended run's entry is kept while its journal stays the same (a live run's
 * durations move, so it is read again).
 */
export function createHistoryReader(state: string, tailLines = PANE_TAIL_LINES): (runId: string) => RunHistoryEntry {
  const cache = new Map<string, { ino: number; size: number; mtimeMs: number; entry: RunHistoryEntry }>();
  return (runId) => {
    const unreadable = (reason: string): RunHistoryEntry => ({ kind: 'unreadable', id: runId, dir: RUN_ID_RE.test(runId) ? runPaths(state, runId).dir : '-', reason });
    const sd = inspectStateDir(state);
    if (sd !== null) return unreadable(sd);
    const t = inspectRunFolder(state, runId);
    if (!t.ok) return unreadable(t.why);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(t.run.journal);
    } catch (e) {
      return unreadable(errorLine(e));
    }
    const c = cache.get(runId);
    if (c && c.ino === st.ino && c.size === st.size && c.mtimeMs === st.mtimeMs) return c.entry;
    const entry = readRunHistory(state, runId, { tailLines });
    if (entry.kind === 'run' && entry.state !== 'running') cache.set(runId, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, entry });
    else cache.delete(runId);
    return entry;
  };
}
