/**
 * One edge for command-line parsing. meow 14 throws plain Errors for `choices` and repeated
 * flags and turns a bad number into null (facts.md), so numbers and choices are declared as
 * strings here and checked by hand; every problem becomes one USAGE error (exit 2).
 */
import meow from 'meow';
import { ReaperError } from '../model/errors.js';

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; shortFlag?: string; isMultiple?: boolean; default?: string | boolean }>;

export interface Parsed {
  readonly input: string[];
  readonly flags: Record<string, unknown>;
}

export function parseFlags(argv: string[], spec: FlagSpec, help: string): Parsed {
  assertKnownFlags(argv, spec);
  let cli;
  try {
    cli = meow(help, {
      importMeta: import.meta,
      argv,
      flags: spec as never,
      allowUnknownFlags: false,
      autoHelp: false,
      autoVersion: false,
      // meow would call process.exit on unknown flags; we want one line and exit 2 from main.
      booleanDefault: undefined,
    });
  } catch (e) {
    throw new ReaperError('USAGE', (e as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  return { input: cli.input, flags: cli.flags as Record<string, unknown> };
}

/** Unknown-flag check that does not depend on meow's process.exit path. */
export function assertKnownFlags(argv: string[], spec: FlagSpec): void {
  const known = new Set<string>();
  for (const [name, s] of Object.entries(spec)) {
    known.add('--' + kebab(name));
    if (s.type === 'boolean') known.add('--no-' + kebab(name));
    if (s.shortFlag) known.add('-' + s.shortFlag);
  }
  known.add('--help');
  for (const a of argv) {
    if (a === '--') break;
    if (!a.startsWith('-') || a === '-') continue;
    const name = a.split('=')[0]!;
    if (!known.has(name)) throw new ReaperError('USAGE', `unknown flag ${name}`);
  }
}

export function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

export function parseIntFlag(name: string, value: unknown, opts: { min?: number; max?: number } = {}): number | undefined {
  if (value === undefined || value === null) return undefined;
  const s = String(value);
  if (!/^-?\d+$/.test(s)) throw new ReaperError('USAGE', `--${kebab(name)} expects an integer, got "${s}"`);
  const n = Number(s);
  if (opts.min !== undefined && n < opts.min) throw new ReaperError('USAGE', `--${kebab(name)} must be >= ${opts.min}, got ${n}`);
  if (opts.max !== undefined && n > opts.max) throw new ReaperError('USAGE', `--${kebab(name)} must be <= ${opts.max}, got ${n}`);
  return n;
}

export function parseSecondsFlag(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const s = String(value);
  if (!/^\d+(\.\d+)?$/.test(s)) throw new ReaperError('USAGE', `--${kebab(name)} expects seconds (e.g. 5 or 0.5), got "${s}"`);
  return Number(s);
}

export function parseChoiceFlag<T extends string>(name: string, value: unknown, choices: readonly T[]): T | undefined {
  if (value === undefined || value === null) return undefined;
  const s = String(value);
  if (!(choices as readonly string[]).includes(s)) throw new ReaperError('USAGE', `--${kebab(name)} must be one of ${choices.join(', ')}; got "${s}"`);
  return s as T;
}

/** `--gpus`: "auto" (default: nvidia-smi if present), "none", or "sim:N" (simulated). */
export type GpuSelection = { kind: 'auto' } | { kind: 'none' } | { kind: 'sim'; count: number };

export function parseGpusFlag(value: unknown): GpuSelection {
  if (value === undefined || value === null || value === 'auto') return { kind: 'auto' };
  const s = String(value);
  if (s === 'none') return { kind: 'none' };
  const m = /^sim:(\d{1,2})$/.exec(s);
  if (m && Number(m[1]) >= 1 && Number(m[1]) <= 64) return { kind: 'sim', count: Number(m[1]) };
  throw new ReaperError('USAGE', `--gpus expects auto, none or sim:N (1-64), got "${s}"`);
}
