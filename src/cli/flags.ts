/**
 * One edge for command-line parsing, on Node's own util.parseArgs (meow cost a one-shot
 * `reaper ls` ~40-90 ms of module loading). Numbers and choices are declared as strings and
 * checked by hand; every problem becomes one USAGE error (exit 2), with the operator's text
 * sanitised. The rules, for every command:
 *  - a boolean flag takes no value (`--json=1` is an error, not a silent false);
 *  - a string flag needs a non-empty value (`--pid --json` is an error, not pid "");
 *  - numbers are plain decimal (no 1e29, 0x10, Infinity), finite and within their range;
 *  - a flag is given once (`--pid 1 --pid 2` is an error, not a silent choice);
 *  - a command takes at most the positional arguments it declares (`doctor extra` is an error).
 */
import { parseArgs } from 'node:util';
import { ReaperError } from '../model/errors.js';
import { sanitizeText } from '../model/sanitize.js';
import type { GpuSelection } from '../probe/gpu-state.js';

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; shortFlag?: string; isMultiple?: boolean; default?: string | boolean }>;

export interface Parsed {
  readonly input: string[];
  readonly flags: Record<string, unknown>;
}

export interface PositionalRule {
  /** Command name for the message ("doctor takes no arguments"). */
  readonly command: string;
  /** The most positional arguments the command takes. */
  readonly args: number;
}

function usage(message: string): ReaperError {
  return new ReaperError('USAGE', sanitizeText(message));
}

export function parseFlags(argv: string[], spec: FlagSpec, help: string, positional?: PositionalRule): Parsed {
  void help; // the caller prints it for --help
  assertKnownFlags(argv, spec);
  const byKebab = new Map<string, string>();
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string | boolean }> = {};
  for (const [name, s] of Object.entries(spec)) {
    byKebab.set(kebab(name), name);
    options[kebab(name)] = { type: s.type, ...(s.shortFlag ? { short: s.shortFlag } : {}), ...(s.isMultiple ? { multiple: true } : {}), ...(s.default !== undefined ? { default: s.default } : {}) };
  }
  if (!options.help) options.help = { type: 'boolean' };
  // "--pid 5" becomes "--pid=5"; "--pid" before another flag or at the end becomes "--pid=" (needs a value).
  const args: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i));
      break;
    }
    if (!a.startsWith('--')) {
      args.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const key = (eq < 0 ? a : a.slice(0, eq)).slice(2);
    const base = key.startsWith('no-') && options[key] === undefined ? key.slice(3) : key;
    const name = byKebab.get(base);
    if (name !== undefined && !spec[name]!.isMultiple) {
      if (seen.has(base)) throw usage(`--${base} given more than once`);
      seen.add(base);
    }
    if (options[key]?.type === 'string' && eq < 0) {
      const next = argv[i + 1];
      const isValue = next !== undefined && (!next.startsWith('-') || next === '-' || /^-\d/.test(next));
      args.push(`${a}=${isValue ? next : ''}`);
      if (isValue) i++;
      continue;
    }
    args.push(a);
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true, allowNegative: true });
  } catch (e) {
    throw usage((e as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  const flags: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parsed.values)) flags[byKebab.get(k) ?? k] = v;
  for (const [name, s] of Object.entries(spec)) {
    if (s.type !== 'string') continue;
    const v = flags[name];
    const values = Array.isArray(v) ? v : [v];
    if (values.some((x) => x === '')) throw usage(`--${kebab(name)} needs a value`);
  }
  const input = parsed.positionals;
  if (positional && input.length > positional.args) {
    const extra = input[positional.args]!;
    throw usage(positional.args === 0 ? `${positional.command} takes no arguments, got "${extra}"` : `${positional.command}: unexpected argument "${extra}"`);
  }
  return { input, flags };
}

/** Unknown flags, and values given to boolean flags, checked before parsing. */
function assertKnownFlags(argv: string[], spec: FlagSpec): void {
  const known = new Map<string, 'string' | 'boolean'>();
  for (const [name, s] of Object.entries(spec)) {
    known.set('--' + kebab(name), s.type);
    if (s.type === 'boolean') known.set('--no-' + kebab(name), 'boolean');
    if (s.shortFlag) known.set('-' + s.shortFlag, s.type);
  }
  if (!known.has('--help')) known.set('--help', 'boolean');
  for (const a of argv) {
    if (a === '--') break;
    if (!a.startsWith('-') || a === '-') continue;
    const eq = a.indexOf('=');
    const name = eq < 0 ? a : a.slice(0, eq);
    const type = known.get(name);
    if (type === undefined) throw usage(`unknown flag ${name}`);
    if (type === 'boolean' && eq >= 0) throw usage(`${name} takes no value, got "${a}"`);
  }
}

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** Integers: plain decimal, at most 10 digits, within [min, max] (default: a 32-bit int). */
export function parseIntFlag(name: string, value: unknown, opts: { min?: number; max?: number } = {}): number | undefined {
  if (value === undefined || value === null) return undefined;
  const s = String(value);
  if (!/^-?\d{1,10}$/.test(s)) throw usage(`--${kebab(name)} expects an integer, got "${s}"`);
  const n = Number(s);
  const min = opts.min ?? -(2 ** 31);
  const max = opts.max ?? 2 ** 31 - 1;
  if (n < min) throw usage(`--${kebab(name)} must be >= ${min}, got ${n}`);
  if (n > max) throw usage(`--${kebab(name)} must be <= ${max}, got ${n}`);
  return n;
}

/** Longest duration any flag takes: a day (Node timers overflow above 24.8 days anyway). */
const MAX_FLAG_SECONDS = 86_400;

/** Seconds: plain decimal (5, 0.5; no exponent), within [min, max] (default 0 to a day). */
export function parseSecondsFlag(name: string, value: unknown, opts: { min?: number; max?: number } = {}): number | undefined {
  if (value === undefined || value === null) return undefined;
  const s = String(value);
  if (!/^\d{1,9}(\.\d{1,9})?$/.test(s)) throw usage(`--${kebab(name)} expects seconds (e.g. 5 or 0.5), got "${s}"`);
  const n = Number(s);
  const min = opts.min ?? 0;
  const max = opts.max ?? MAX_FLAG_SECONDS;
  if (!Number.isFinite(n) || n < min || n > max) throw usage(`--${kebab(name)} must be between ${min} and ${max} seconds, got ${s}`);
  return n;
}

export function parseChoiceFlag<T extends string>(name: string, value: unknown, choices: readonly T[]): T | undefined {
  if (value === undefined || value === null) return undefined;
  const s = String(value);
  if (!(choices as readonly string[]).includes(s)) throw usage(`--${kebab(name)} must be one of ${choices.join(', ')}; got "${s}"`);
  return s as T;
}

/** `--gpus`: "auto" (default: nvidia-smi if present), "none", or "sim:N" (simulated); the probe's own type. */
export type { GpuSelection };

export function parseGpusFlag(value: unknown): GpuSelection {
  if (value === undefined || value === null || value === 'auto') return { kind: 'auto' };
  const s = String(value);
  if (s === 'none') return { kind: 'none' };
  const m = /^sim:(\d{1,2})$/.exec(s);
  if (m && Number(m[1]) >= 1 && Number(m[1]) <= 64) return { kind: 'sim', count: Number(m[1]) };
  throw usage(`--gpus expects auto, none or sim:N (1-64), got "${s}"`);
}
