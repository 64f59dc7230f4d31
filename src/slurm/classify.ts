/**
 * Failure classification for Slurm clients (pure): outcome → one kind and one line, like
 * nvidia-classify.ts for nvidia-smi. Texts are the ones captured from Slurm 22.05 in the lab
 * (test/fixtures/slurm/errors/), plus the documented accounting texts a lab without slurmdbd
 * cannot produce (errors/handwritten.json).
 */
import { sanitizeText } from '../model/sanitize.js';
import type { SlurmError, SlurmErrorKind, SlurmOutcome } from './types.js';

interface Rule {
  readonly kind: SlurmErrorKind;
  readonly re: RegExp;
  readonly what: (m: RegExpExecArray) => string;
}

// Order matters: "Kill job error on job id 5: Unable to contact slurm controller" is about the
// controller, not the job.
const RULES: readonly Rule[] = [
  {
    kind: 'controller-unreachable',
    re: /Unable to contact slurm controller|Slurmctld\(primary\) at (\S+) is DOWN|Socket timed out on send\/recv|Zero Bytes were transmitted or received|Communication connection failure/i,
    what: (m) => (m[1] ? `controller at ${m[1]} is down` : 'controller unreachable'),
  },
  {
    kind: 'auth',
    re: /Munge (?:encode|decode) failed|Protocol authentication error|authentication error|Invalid authentication credential/i,
    what: () => 'authentication failed (is munged running?)',
  },
  {
    kind: 'permission',
    re: /Access\/permission denied|Invalid user id|User not authorized|Permission denied/i,
    what: () => 'permission denied',
  },
  {
    kind: 'invalid-partition',
    re: /invalid partition (?:specified: (\S+)|name specified)/i,
    what: (m) => `invalid partition${m[1] ? ` "${m[1]}"` : ''}`,
  },
  {
    kind: 'invalid-account',
    re: /Invalid account or account\/partition combination|Invalid account specified|account not found/i,
    what: () => 'invalid account or account/partition combination',
  },
  { kind: 'invalid-qos', re: /Invalid qos specification/i, what: () => 'invalid QOS' },
  { kind: 'invalid-job', re: /Invalid job id specified/i, what: () => 'no such job' },
  { kind: 'accounting-disabled', re: /accounting storage is disabled/i, what: () => 'accounting storage is disabled' },
  {
    kind: 'invalid-request',
    re: /Batch job submission failed: (.+)|Job violates accounting\/QOS policy|Invalid generic resource|Invalid Trackable RESource|Requested time limit is invalid/i,
    what: (m) => (m[1] ? `submission refused: ${m[1].trim()}` : 'request refused'),
  },
  { kind: 'usage', re: /unrecognized option|invalid option|Try "\S+ --help"/i, what: () => 'bad arguments (reaper bug)' },
];

function commandName(argv: readonly string[]): string {
  const bin = argv[0] ?? 'slurm';
  return bin.slice(bin.lastIndexOf('/') + 1) || 'slurm';
}

function firstLine(text: string): string {
  return (text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '') ?? '').slice(0, 160);
}

function make(cmd: string, kind: SlurmErrorKind, what: string, detail?: string): SlurmError {
  const line = detail && detail !== what ? `${cmd}: ${what} (${detail})` : `${cmd}: ${what}`;
  return { kind, message: sanitizeText(line.replace(/\s+/g, ' ')).slice(0, 240) };
}

/** Known failure text in stderr/stdout, or null. */
function classifySlurmText(text: string, cmd = 'slurm'): SlurmError | null {
  for (const rule of RULES) {
    const m = rule.re.exec(text);
    if (m) return make(cmd, rule.kind, rule.what(m), firstLine(text.slice(m.index).split('\n')[0] ?? ''));
  }
  return null;
}

/**
 * null for success: exit 0 and no known failure text. Note that squeue -p with an unknown
 * partition and scancel of an unknown job both succeed silently on 22.05: "no error" is not
 * "the job is gone"; confirm with squeue.
 */
export function classifySlurmOutcome(o: SlurmOutcome): SlurmError | null {
  const cmd = commandName(o.argv);
  if (o.spawnError) {
    if (o.spawnError === 'ENOENT') return make(cmd, 'not-installed', 'not installed (not found in PATH)');
    if (o.spawnError === 'EACCES') return make(cmd, 'not-installed', 'not executable');
    return make(cmd, 'unknown', `cannot start: ${o.spawnError}`);
  }
  if (o.timedOut) return make(cmd, 'timeout', `no answer within ${(o.ms / 1000).toFixed(1)} s`);
  if (o.truncated) return make(cmd, 'output-too-large', 'output over the size limit');
  const text = `${o.stderr}\n${o.stdout}`;
  if (o.exitCode === 0) return o.stderr.trim() === '' ? null : classifySlurmText(o.stderr, cmd);
  const known = classifySlurmText(text, cmd);
  if (known) return known;
  const how = o.exitCode !== null ? `exit ${o.exitCode}` : `killed by ${o.signal ?? 'a signal'}`;
  const first = firstLine(text);
  return make(cmd, 'unknown', first ? `${how}: ${first}` : how);
}
