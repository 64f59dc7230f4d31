/**
 * meow accepts `--json=1` for a boolean flag and ignores the value, so `reaper runs --json=1`
 * would print text to a script that asked for JSON. A boolean flag takes no value: USAGE.
 * (A candidate for flags.ts's parseFlags, which every command shares.)
 */
import { ReaperError } from '../model/errors.js';
import { kebab, type FlagSpec } from './flags.js';

export function assertNoBooleanValues(argv: readonly string[], spec: FlagSpec): void {
  const booleans = new Set(Object.entries(spec).flatMap(([name, s]) => (s.type === 'boolean' ? [`--${kebab(name)}`, `--no-${kebab(name)}`] : [])));
  booleans.add('--help');
  for (const a of argv) {
    if (a === '--') break;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0 && booleans.has(a.slice(0, eq))) throw new ReaperError('USAGE', `${a.slice(0, eq)} takes no value, got "${a}"`);
  }
}
