/**
 * Field-by-field checks for JSON a remote reaper printed: it is untrusted. A wrong type, a
 * number out of range or a list over its cap rejects the whole document (with the path of the
 * first bad field); a string is sanitised and cut to its cap (a long command line is normal).
 */
import { sanitizeText } from '../../model/sanitize.js';

export class BadField extends Error {}

export type Obj = Record<string, unknown>;

export function fail(path: string, what: string): never {
  throw new BadField(`${path}: ${what}`);
}

export function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'not an object');
  return v as Obj;
}

export function list(v: unknown, max: number, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, 'not a list');
  if (v.length > max) fail(path, `${v.length} entries, more than ${max}`);
  return v;
}

export function int(v: unknown, min: number, max: number, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) fail(path, `not an integer in ${min}..${max}`);
  return v;
}

export function intOrNull(v: unknown, min: number, max: number, path: string): number | null {
  return v === null ? null : int(v, min, max, path);
}

export function num(v: unknown, min: number, max: number, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) fail(path, `not a number in ${min}..${max}`);
  return v;
}

export function numOrNull(v: unknown, min: number, max: number, path: string): number | null {
  return v === null ? null : num(v, min, max, path);
}

export function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'not a boolean');
  return v;
}

/** Sanitised, then cut to `cap` characters (ending in … when cut). */
export function str(v: unknown, cap: number, path: string): string {
  if (typeof v !== 'string') fail(path, 'not a string');
  const s = sanitizeText(v.length > cap * 4 ? v.slice(0, cap * 4) : v);
  return s.length <= cap ? s : `${s.slice(0, cap - 1)}…`;
}

export function strOrNull(v: unknown, cap: number, path: string): string | null {
  return v === null ? null : str(v, cap, path);
}

export function oneOf<T extends string>(v: unknown, choices: readonly T[], path: string): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) fail(path, `not one of ${choices.join('|')}`);
  return v as T;
}

/** JSON text → value, within a byte cap; the error is one short line. */
export function parseJsonText(text: string, maxBytes: number): { ok: true; value: unknown } | { ok: false; why: string } {
  if (Buffer.byteLength(text) > maxBytes) return { ok: false, why: `more than ${maxBytes} bytes` };
  const t = text.trim();
  if (t === '') return { ok: false, why: 'an empty answer' };
  try {
    return { ok: true, value: JSON.parse(t) };
  } catch {
    const first = t.split('\n')[0] ?? '';
    return { ok: false, why: `not JSON: "${sanitizeText(first.slice(0, 60))}${first.length > 60 ? '…' : ''}"` };
  }
}

export const MAX_PID = 4_194_304;
export const UID_MAX = 0xffffffff;
export const BIG = Number.MAX_SAFE_INTEGER;
