/** Pure text helpers for fixed-width terminal columns. No I/O, no clock. */

/** Cut or pad to exactly `width` cells (ASCII assumption; wide glyphs are not used by reaper). */
export function fit(s: string, width: number): string {
  if (width <= 0) return '';
  if (s.length > width) return width === 1 ? '…' : s.slice(0, width - 1) + '…';
  return s.padEnd(width);
}

export function fitLeft(s: string, width: number): string {
  if (width <= 0) return '';
  if (s.length > width) return s.slice(0, width);
  return s.padStart(width);
}

/** Cut to at most `width` cells, no padding. */
export function clip(s: string, width: number): string {
  if (width <= 0) return '';
  return s.length > width ? (width === 1 ? '…' : s.slice(0, width - 1) + '…') : s;
}

/** `[#####     ]` style bar; `fraction` in 0..1, null renders an empty "n/a" bar. */
export function bar(fraction: number | null, width: number): string {
  if (width < 3) return '';
  const inner = width - 2;
  if (fraction === null || !Number.isFinite(fraction)) return '[' + fit('n/a', inner) + ']';
  const f = Math.max(0, Math.min(1, fraction));
  const n = Math.round(f * inner);
  return '[' + '|'.repeat(n) + ' '.repeat(inner - n) + ']';
}

/** Seconds as ps's ELAPSED-ish compact form: 59s, 12:03, 3:04:05, 2d03h. */
export function formatElapsed(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec)) return 'n/a';
  const s = Math.max(0, Math.floor(sec));
  if (s < 60) return `${s}s`;
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (d > 0) return `${d}d${String(h).padStart(2, '0')}h`;
  if (h > 0) return `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}`;
  return `${m}:${String(r).padStart(2, '0')}`;
}

/** Uptime as "3d 4h", "4h 12m", "12m". */
export function formatUptime(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec)) return 'n/a';
  const s = Math.max(0, Math.floor(sec));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return `${m}m`;
}

/** KiB to a short human size: 812K, 12.3M, 1.2G. */
export function formatKiB(kib: number | null): string {
  if (kib === null || !Number.isFinite(kib)) return 'n/a';
  if (kib < 1024) return `${Math.round(kib)}K`;
  const mib = kib / 1024;
  if (mib < 1024) return mib < 10 ? `${mib.toFixed(1)}M` : `${Math.round(mib)}M`;
  const gib = mib / 1024;
  return gib < 10 ? `${gib.toFixed(1)}G` : `${Math.round(gib)}G`;
}

export function formatMiB(mib: number | null): string {
  if (mib === null || !Number.isFinite(mib)) return 'n/a';
  return formatKiB(mib * 1024);
}

export function formatPercent(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return 'n/a';
  return p >= 100 ? String(Math.round(p)) : p.toFixed(1);
}

/**
 * 2081 → "2,081". Not toLocaleString: its first call loads ICU's number formatting, 18 ms of
 * the screen's first frame on a 2-core VM.
 */
export function groupThousands(n: number): string {
  const sign = n < 0 ? '-' : '';
  const digits = String(Math.trunc(Math.abs(n)));
  let out = '';
  for (let i = digits.length; i > 0; i -= 3) out = digits.slice(Math.max(0, i - 3), i) + (out === '' ? '' : ',' + out);
  return sign + out;
}
