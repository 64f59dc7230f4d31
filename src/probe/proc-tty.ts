/** tty_nr (stat field 7) → the name ps prints ("pts/3", "tty1", "ttyS0"). */
import { readdirSync, statSync } from 'node:fs';

export function ttyMajor(ttyNr: number): number {
  return (ttyNr >>> 8) & 0xfff;
}

export function ttyMinor(ttyNr: number): number {
  return (ttyNr & 0xff) | ((ttyNr >>> 12) & 0xfff00);
}

/** Pure mapping of the well-known majors; null when none (0) or not one of them. */
export function parseTtyName(ttyNr: number): string | null {
  if (ttyNr === 0) return null;
  const major = ttyMajor(ttyNr);
  const minor = ttyMinor(ttyNr);
  if (major >= 136 && major <= 143) return `pts/${(major - 136) * 256 + minor}`;
  if (major === 4) return minor < 64 ? `tty${minor}` : `ttyS${minor - 64}`;
  if (major === 5) return minor === 0 ? 'tty' : minor === 1 ? 'console' : minor === 2 ? 'ptmx' : null;
  return null;
}

let devMap: Map<number, string> | null = null;

function linuxDevT(major: number, minor: number): number {
  // The encoding the kernel uses for tty_nr (new_encode_dev).
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/** Lazily built map from device number to /dev name, for the unusual drivers only. */
function lookupDev(ttyNr: number): string | null {
  if (!devMap) {
    devMap = new Map();
    for (const dir of ['/dev', '/dev/pts']) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        try {
          const st = statSync(`${dir}/${name}`);
          if (!st.isCharacterDevice()) continue;
          const rdev = st.rdev;
          const major = Math.floor(rdev / 256) & 0xfff;
          const minor = (rdev & 0xff) | (Math.floor(rdev / 1048576) & 0xfff00);
          const key = linuxDevT(major, minor);
          const rel = dir === '/dev' ? name : `pts/${name}`;
          if (!devMap.has(key)) devMap.set(key, rel);
        } catch {
          // vanished or unreadable device node
        }
      }
    }
  }
  return devMap.get(ttyNr >>> 0) ?? null;
}

/** Name for a process's controlling terminal; null when none or unknown. */
export function ttyName(ttyNr: number): string | null {
  if (ttyNr === 0) return null;
  return parseTtyName(ttyNr) ?? lookupDev(ttyNr);
}
