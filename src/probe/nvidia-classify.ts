/**
 * Failure classification for nvidia-smi (pure): exit status + stdout/stderr → one kind and
 * one line for the UI. nvidia-smi prints some errors on stdout (the invalid-field message,
 * exit 2), so both streams are searched. Texts are the ones seen in the shared samples.
 */
import type { GpuProbeError, GpuProbeErrorKind } from '../model/gpu.js';
import { sanitizeText } from '../model/sanitize.js';
import { looksLikeCsvHeader } from './nvidia-csv.js';

export interface RawOutcome {
  /** Exit code; null when killed by a signal or never started. */
  readonly exitCode: number | null;
  readonly signal?: string | null;
  readonly stdout: string;
  readonly stderr: string;
  /** errno code of a failed spawn ("ENOENT", "EACCES"). */
  readonly spawnError?: string | null;
  /** The binary we tried to run (for messages). */
  readonly binary?: string;
}

function err(kind: GpuProbeErrorKind, message: string): GpuProbeError {
  return { kind, message: sanitizeText(message).slice(0, 200) };
}

interface TextRule {
  readonly kind: GpuProbeErrorKind;
  readonly re: RegExp;
  readonly message: (m: RegExpExecArray) => string;
}

// Order matters: the more specific first.
const RULES: readonly TextRule[] = [
  {
    kind: 'invalid-field',
    re: /Field "([^"]*)" is not a valid field to query/,
    message: (m) => `nvidia-smi: field "${m[1]}" is not a valid field to query`,
  },
  {
    kind: 'version-mismatch',
    re: /Driver\/library version mismatch(?:[\s\S]*?NVML library version:\s*(\S+))?/i,
    message: (m) => `nvidia-smi: driver/library version mismatch${m[1] ? ` (NVML ${m[1]})` : ''}`,
  },
  {
    kind: 'driver-not-reachable',
    re: /couldn't communicate with the NVIDIA driver|Driver Not Loaded|Failed to initialize NVML: (?:Unknown Error|Driver Not Loaded)|couldn't find libnvidia-ml/i,
    message: () => 'nvidia-smi: driver not reachable',
  },
  {
    kind: 'no-devices',
    re: /No devices were found|No supported GPUs were found|Unable to determine the number of GPUs/i,
    message: () => 'nvidia-smi: no devices found',
  },
  {
    kind: 'gpu-lost',
    re: /Unable to determine the device handle for GPU\s*([0-9A-Fa-f:.]+):\s*GPU is lost/i,
    message: (m) => `nvidia-smi: GPU ${m[1]!.toLowerCase()} is lost (reboot needed)`,
  },
  {
    kind: 'gpu-lost',
    re: /Unable to determine the device handle for GPU\s*([0-9A-Fa-f:.]+):\s*(.+)/i,
    message: (m) => `nvidia-smi: GPU ${m[1]!.toLowerCase()} unreachable: ${m[2]!.trim()}`,
  },
  {
    kind: 'gpu-lost',
    re: /GPU is lost|requires reset|GPU requires reset/i,
    message: () => 'nvidia-smi: GPU lost or requires reset',
  },
];

/** Classifies error text alone (no exit status): null when no known failure text is found. */
export function classifyErrorText(text: string): GpuProbeError | null {
  for (const rule of RULES) {
    const m = rule.re.exec(text);
    if (m) return err(rule.kind, rule.message(m));
  }
  return null;
}

/** nvidia-smi's documented exit codes, used when the text says nothing we know. */
const EXIT_CODES: Readonly<Record<number, { kind: GpuProbeErrorKind; what: string }>> = {
  6: { kind: 'no-devices', what: 'no devices found' },
  9: { kind: 'driver-not-reachable', what: 'driver not reachable' },
  12: { kind: 'driver-not-reachable', what: 'NVML library not found' },
  15: { kind: 'gpu-lost', what: 'GPU is lost' },
  18: { kind: 'version-mismatch', what: 'driver/library version mismatch' },
};

/**
 * Classifies one finished (or failed) run. Returns null for success: exit 0 and no known
 * failure text on stderr. (Per-GPU failure lines inside a successful CSV answer are found
 * by the caller with classifyErrorText on the lines that were not rows.)
 */
export function classifyOutcome(o: RawOutcome): GpuProbeError | null {
  const bin = o.binary ?? 'nvidia-smi';
  if (o.spawnError) {
    if (o.spawnError === 'ENOENT') return err('not-installed', `nvidia-smi: not installed (${bin} not found)`);
    if (o.spawnError === 'EACCES') return err('not-installed', `nvidia-smi: ${bin} is not executable`);
    return err('unknown', `nvidia-smi: cannot start ${bin}: ${o.spawnError}`);
  }
  if (o.exitCode === 0) {
    const onStderr = o.stderr.trim() === '' ? null : classifyErrorText(o.stderr);
    return onStderr;
  }
  const text = `${o.stderr}\n${o.stdout}`;
  const byText = classifyErrorText(text);
  if (byText) return byText;
  // A shell wrapper (bin/nvidia-smi-sim, a site script) whose target is missing.
  if (o.exitCode === 127) return err('not-installed', `nvidia-smi: not installed (${bin}: command not found)`);
  if (o.exitCode !== null) {
    const known = EXIT_CODES[o.exitCode];
    if (known) return err(known.kind, `nvidia-smi: ${known.what} (exit ${o.exitCode})`);
  }
  const first = firstLine(text);
  const how = o.exitCode !== null ? `exit ${o.exitCode}` : `killed by ${o.signal ?? 'signal'}`;
  return err('unknown', `nvidia-smi: ${how}${first ? `: ${first}` : ''}`);
}

function firstLine(text: string): string {
  return (
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l !== '') ?? ''
  ).slice(0, 120);
}

export type NvidiaSmiTextKind =
  | 'csv-header'
  | 'csv-rows'
  | 'error'
  | 'list'
  | 'table'
  | 'query-text'
  | 'xml'
  | 'help'
  | 'version'
  | 'monitor'
  | 'information'
  | 'capability'
  | 'message'
  | 'empty'
  | 'unrecognised';

/**
 * What kind of nvidia-smi text this is, for tolerance checks over captured samples and for
 * diagnostics (`reaper doctor`). Never throws.
 */
export function identifyNvidiaSmiText(text: string): { kind: NvidiaSmiTextKind; error: GpuProbeError | null } {
  const t = text.replace(/^\uFEFF/, '');
  const nonBlank = t.split(/\r?\n/).filter((l) => l.trim() !== '');
  const first = nonBlank[0] ?? '';
  if (nonBlank.length === 0) return { kind: 'empty', error: null };
  if (/^\s*<\?xml|^\s*<nvidia_smi_log/.test(first)) return { kind: 'xml', error: null };
  if (/^List of valid properties to query/.test(first)) return { kind: 'help', error: null };
  if (/^NVIDIA-SMI version\s*:/.test(first)) return { kind: 'version', error: null };
  if (/^# gpu\s/.test(first)) return { kind: 'monitor', error: null };
  if (/=+NVSMI LOG=+/.test(t) || /^\s+\S.*\s:\s/.test(first)) return { kind: 'query-text', error: null };
  if (/^(Model|Device ?File ?Minor|DeviceFileMinor):/.test(first) || /^Bus Location:/m.test(t)) {
    return { kind: /^DeviceFile/.test(first) ? 'capability' : 'information', error: null };
  }
  if (/^GPU \d+: .*\(UUID: /.test(first)) return { kind: 'list', error: null };
  if (/^\+-+|^\|\s|^\[\.\.\.\]|^\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}/.test(first)) return { kind: 'table', error: null };
  // A header before the error texts: a row may legitimately hold "[GPU requires reset]".
  if (looksLikeCsvHeader(first)) return { kind: 'csv-header', error: null };
  const error = classifyErrorText(t);
  if (error) return { kind: 'error', error };
  if (first.includes(', ') || /^\s*[\w.[\]/-]+\s*$/.test(first)) return { kind: 'csv-rows', error: null };
  if (/^ERROR: |not supported/i.test(first)) return { kind: 'message', error: null };
  return { kind: 'unrecognised', error: null };
}
