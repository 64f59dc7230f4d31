/**
 * The JSON documents of `reaper runs --json` and `reaper show --json`: the history objects as
 * they are, with ISO times next to the millisecond ones. Pure; stringify with toSafeJson.
 */
import type { RunHistory, RunHistoryEntry } from '../../launch/index.js';

const iso = (ms: number | null): string | null => (ms === null || !Number.isFinite(ms) ? null : new Date(ms).toISOString());

/** One run of `reaper runs --json`: the summary, without per-stage detail. */
export function runListItem(e: RunHistoryEntry): Record<string, unknown> {
  if (e.kind === 'unreadable') return { id: e.id, dir: e.dir, readable: false, unreadable: e.reason };
  return {
    id: e.id,
    dir: e.dir,
    readable: true,
    name: e.name,
    state: e.state,
    host: e.host,
    startedAtMs: e.startedAtMs,
    startedAt: iso(e.startedAtMs),
    endedAtMs: e.endedAtMs,
    durationMs: e.durationMs,
    exitCode: e.exitCode,
    endedBy: e.endedBy,
    tasks: e.counts,
    warnings: e.warnings,
  };
}

export function buildRunsDocument(entries: readonly RunHistoryEntry[], more: number): Record<string, unknown> {
  return { runs: entries.map(runListItem), more };
}

/** `reaper show --json`: the whole history. */
export function buildShowDocument(h: RunHistory): Record<string, unknown> {
  const { kind: _kind, ...rest } = h;
  return { ...rest, readable: true, startedAt: iso(h.startedAtMs), endedAt: iso(h.endedAtMs) };
}
