/**
 * Command-line patterns of the batch this tool exists for (postmortem.md). A process whose
 * argv matches one, while no live run owns it and its tree lost its launcher, is a leftover.
 * `reaper run`'s batch config and `--match` add more.
 */
export const DEFAULT_BATCH_PATTERNS: readonly RegExp[] = Object.freeze([
  /(^|[\s/])sample_diffusion\.py(\s|$)/,
  /(^|[\s/])evaluate_pt_with_correct_reconstruct\.py(\s|$)/,
  /(^|[\s/])batch_sampleandeval_parallel\.py(\s|$)/,
]);

/** The text a pattern is matched against: raw argv joined by spaces, else comm. */
export function matchText(p: { argv: readonly string[] | null; comm: string }): string {
  return p.argv && p.argv.length > 0 ? p.argv.join(' ') : p.comm;
}

/** The pattern for a script name from a batch config ("sample.py" → matches …/sample.py as a word). */
export function patternForScript(name: string): RegExp {
  return new RegExp(`(^|[\\s/])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`);
}
