/**
 * `scontrol show config` (pure): "Key = value" lines, read defensively. The text has a header
 * ("Configuration data as of …"), sub-sections ("Cgroup Support Configuration:"), keys with
 * brackets (`SlurmctldHost[0]`), padding of any width and a trailing ping line; versions add and
 * drop keys. The first spelling of a key wins; anything else is ignored, never guessed at.
 */

const LINE = /^([A-Za-z][A-Za-z0-9_]*(?:\[\d+\])?)\s*=\s?(.*)$/;

export function parseScontrolConfig(text: string): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const m = LINE.exec(raw.trim());
    if (!m || out.has(m[1]!)) continue;
    out.set(m[1]!, m[2]!.trim());
  }
  return out;
}

/** How Slurm tracks a job's processes, as far as reaper cares. */
type ProctrackKind = 'cgroup' | 'linuxproc' | 'pgid' | 'other';

export interface Proctrack {
  /** The value as Slurm printed it ("proctrack/cgroup"); null when the key is missing or empty. */
  readonly type: string | null;
  readonly kind: ProctrackKind | null;
}

/** ProctrackType from `scontrol show config` text. */
export function parseProctrack(text: string): Proctrack {
  const v = parseScontrolConfig(text).get('ProctrackType') ?? '';
  if (v === '' || v === '(null)') return { type: null, kind: null };
  const m = /^proctrack\/([a-z0-9_]+)$/i.exec(v);
  const name = m ? m[1]!.toLowerCase() : '';
  const kind: ProctrackKind = name === 'cgroup' || name === 'linuxproc' || name === 'pgid' ? name : 'other';
  return { type: v, kind };
}
