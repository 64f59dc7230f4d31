/** uid → user name from /etc/passwd, cached; re-read only when the file changes. */
import { readFileSync, statSync } from 'node:fs';

/** Pure: passwd text → uid → name (first entry wins, like getpwuid). */
export function parsePasswd(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const parts = line.split(':');
    if (parts.length < 3) continue;
    const uid = Number(parts[2]);
    if (!Number.isInteger(uid) || uid < 0) continue;
    if (!out.has(uid)) out.set(uid, parts[0]!);
  }
  return out;
}

export interface UserDb {
  /** Name for a uid; null when unknown (ps would print the number). */
  nameOf(uid: number | null): string | null;
  /** Re-reads /etc/passwd if its mtime or size changed (then returns true). Cheap: one stat. */
  refresh(): boolean;
}

export function createUserDb(path = '/etc/passwd'): UserDb {
  let map = new Map<number, string>();
  let stamp = '';
  const refresh = (): boolean => {
    try {
      const st = statSync(path);
      const s = `${st.mtimeMs}:${st.size}:${st.ino}`;
      if (s === stamp) return false;
      map = parsePasswd(readFileSync(path, 'utf8'));
      stamp = s;
      return true;
    } catch {
      if (stamp === 'missing') return false;
      map = new Map();
      stamp = 'missing';
      return true;
    }
  };
  refresh();
  return {
    nameOf: (uid) => (uid === null ? null : (map.get(uid) ?? null)),
    refresh,
  };
}
