/**
 * Rows of nvidia-smi's CSV → GpuInfo / GpuApp (pure). Unknown values are null with the
 * reason in `missing`, never 0.
 */
import type { GpuApp, GpuInfo } from '../model/gpu.js';
import { sanitizeText } from '../model/sanitize.js';
import { missingReason, parseCsvNoHeader, parseCsvWithHeader, type CsvRecord } from './nvidia-csv.js';

/**
 * Fields reaper queries. All are listed by `--help-query-gpu` on the sampled drivers
 * (590, 610): `power.draw` is still a valid name there next to power.draw.instant/average.
 * `mig.mode.current` is newer (MIG arrived with driver 450) and optional: when a driver
 * rejects it ("Field ... is not a valid field to query") the probe retries without it.
 */
export const GPU_BASE_FIELDS = [
  'index',
  'uuid',
  'name',
  'pci.bus_id',
  'utilization.gpu',
  'memory.used',
  'memory.total',
  'temperature.gpu',
  'power.draw',
  'power.limit',
  'pstate',
  'persistence_mode',
] as const;
export const GPU_OPTIONAL_FIELDS = ['mig.mode.current'] as const;
export const APP_FIELDS = ['gpu_uuid', 'pid', 'process_name', 'used_gpu_memory'] as const;
export const CSV_FORMAT = '--format=csv,noheader,nounits';

export function gpuQueryArgs(withOptional: boolean): string[] {
  const fields = withOptional ? [...GPU_BASE_FIELDS, ...GPU_OPTIONAL_FIELDS] : [...GPU_BASE_FIELDS];
  return [`--query-gpu=${fields.join(',')}`, CSV_FORMAT];
}

export function appQueryArgs(): string[] {
  return [`--query-compute-apps=${APP_FIELDS.join(',')}`, CSV_FORMAT];
}

/**
 * nvidia-smi prints "00000000:65:00.0" (8-hex-digit domain, upper case); /proc and sysfs
 * print "0000:65:00.0". Normalised form: lower case, domain as /proc prints it (%04x, so
 * wider only when the domain itself is wider). Accepts "65:00.0" (no domain) too.
 */
export function normalizeBusId(raw: string): string | null {
  const s = raw.trim().toLowerCase();
  const m = /^(?:([0-9a-f]{1,8}):)?([0-9a-f]{1,2}):([0-9a-f]{1,2})\.([0-7])$/.exec(s);
  if (!m) return null;
  const domain = parseInt(m[1] ?? '0', 16).toString(16).padStart(4, '0');
  return `${domain}:${m[2]!.padStart(2, '0')}:${m[3]!.padStart(2, '0')}.${m[4]}`;
}

/** Tokens that say a whole GPU is broken: its 0 readings are not to be believed either. */
const BROKEN = /^\[(GPU requires reset|GPU is lost)\]$/i;

class FieldReader {
  readonly missing: Record<string, string> = {};
  readonly broken: string | null;
  constructor(private readonly rec: CsvRecord) {
    this.broken = Object.values(rec).find((v) => BROKEN.test(v.trim())) ?? null;
  }

  raw(field: string): string | null {
    const v = this.rec[field];
    if (v === undefined) {
      this.missing[field] = '[not queried]';
      return null;
    }
    const why = missingReason(v);
    if (why !== null) {
      this.missing[field] = why;
      return null;
    }
    return v.trim();
  }

  num(field: string): number | null {
    const v = this.raw(field);
    if (v === null) return null;
    const n = Number(v);
    if (v === '' || !Number.isFinite(n)) {
      this.missing[field] = `[unparseable: ${sanitizeText(v).slice(0, 40)}]`;
      return null;
    }
    // A GPU that needs a reset still reads "0 MiB" for memory.used (shared sample): a
    // zero next to a broken-GPU token is not a measurement.
    if (n === 0 && this.broken !== null) {
      this.missing[field] = this.broken;
      return null;
    }
    return n;
  }

  int(field: string): number | null {
    const n = this.num(field);
    if (n === null) return null;
    if (!Number.isInteger(n)) {
      this.missing[field] = `[unparseable: ${n}]`;
      return null;
    }
    return n;
  }

  bool(field: string): boolean | null {
    const v = this.raw(field);
    if (v === null) return null;
    if (/^enabled$/i.test(v)) return true;
    if (/^disabled$/i.test(v)) return false;
    this.missing[field] = `[unparseable: ${sanitizeText(v).slice(0, 40)}]`;
    return null;
  }
}

/**
 * One --query-gpu record → GpuInfo. `index` and `uuid` are required for a usable row; a
 * record without a uuid gets "" (the caller decides whether to drop it).
 */
function buildGpuInfo(rec: CsvRecord): GpuInfo {
  const r = new FieldReader(rec);
  const index = r.int('index');
  const uuid = r.raw('uuid');
  const bus = r.raw('pci.bus_id');
  const busId = bus === null ? null : normalizeBusId(bus);
  if (bus !== null && busId === null) r.missing['pci.bus_id'] = `[unparseable: ${sanitizeText(bus).slice(0, 40)}]`;
  const name = r.raw('name');
  return {
    index: index ?? -1,
    uuid: uuid === null ? '' : sanitizeText(uuid),
    name: name === null ? '' : sanitizeText(name),
    busId,
    utilizationGpu: r.num('utilization.gpu'),
    memoryUsedMiB: r.num('memory.used'),
    memoryTotalMiB: r.num('memory.total'),
    temperatureC: r.num('temperature.gpu'),
    powerDrawW: r.num('power.draw') ?? numFrom(rec, 'power.draw.instant', r),
    powerLimitW: r.num('power.limit'),
    pstate: ((v) => (v === null ? null : sanitizeText(v)))(r.raw('pstate')),
    persistenceMode: r.bool('persistence_mode'),
    migMode: ((v) => (v === null ? null : sanitizeText(v)))(r.raw('mig.mode.current')),
    minor: null,
    missing: Object.freeze({ ...r.missing }),
  };
}

// power.draw.instant as a fallback when a caller's header carries it instead of power.draw.
function numFrom(rec: CsvRecord, field: string, r: FieldReader): number | null {
  if (rec[field] === undefined) return null;
  const n = r.num(field);
  if (n !== null) delete r.missing['power.draw'];
  return n;
}

/** One --query-compute-apps record → GpuApp; null when it has no usable pid. */
function buildGpuApp(rec: CsvRecord): GpuApp | null {
  const r = new FieldReader(rec);
  const pid = r.int('pid');
  if (pid === null || pid <= 0) return null;
  const uuid = r.raw('gpu_uuid');
  const name = r.raw('process_name');
  return {
    gpuUuid: uuid === null ? '' : sanitizeText(uuid),
    pid,
    processName: name === null ? '' : sanitizeText(name),
    usedMemoryMiB: r.num('used_gpu_memory'),
  };
}

export interface ParsedGpus {
  readonly gpus: readonly GpuInfo[];
  /** Lines that were not rows (driver event lines, truncated rows). */
  readonly skipped: readonly string[];
}

/** Output of `--query-gpu=<fields> --format=csv,noheader,nounits`. Rows without a uuid are skipped. */
export function parseQueryGpu(text: string, fields: readonly string[]): ParsedGpus {
  const parsed = parseCsvNoHeader(text, 'gpu', fields);
  return toGpus(parsed.rows, parsed.skipped);
}

/** Output of `--query-gpu=... --format=csv[,nounits]` (with a header). */
export function parseQueryGpuWithHeader(text: string): ParsedGpus {
  const parsed = parseCsvWithHeader(text, 'gpu');
  return toGpus(parsed.rows, parsed.skipped);
}

function toGpus(rows: readonly CsvRecord[], skipped: readonly string[]): ParsedGpus {
  const gpus: GpuInfo[] = [];
  const skip = [...skipped];
  for (const rec of rows) {
    const g = buildGpuInfo(rec);
    if (g.uuid === '' && rec['uuid'] !== undefined) {
      skip.push(Object.values(rec).join(', '));
      continue;
    }
    gpus.push(g);
  }
  return { gpus, skipped: skip };
}

export interface ParsedApps {
  readonly apps: readonly GpuApp[];
  readonly skipped: readonly string[];
}

export function parseComputeApps(text: string, fields: readonly string[] = APP_FIELDS): ParsedApps {
  const parsed = parseCsvNoHeader(text, 'compute-apps', fields);
  return toApps(parsed.rows, parsed.skipped);
}

export function parseComputeAppsWithHeader(text: string): ParsedApps {
  const parsed = parseCsvWithHeader(text, 'compute-apps');
  return toApps(parsed.rows, parsed.skipped);
}

function toApps(rows: readonly CsvRecord[], skipped: readonly string[]): ParsedApps {
  const apps: GpuApp[] = [];
  const skip = [...skipped];
  for (const rec of rows) {
    const a = buildGpuApp(rec);
    if (a) apps.push(a);
    else skip.push(Object.values(rec).join(', '));
  }
  return { apps, skipped: skip };
}

export interface ListedGpu {
  readonly index: number;
  readonly name: string;
  readonly uuid: string;
  readonly mig: ReadonlyArray<{ readonly profile: string; readonly device: number; readonly uuid: string }>;
}

/** `nvidia-smi -L`: "GPU 0: NAME (UUID: GPU-…)" plus indented "MIG 1g.10gb Device 0: (UUID: MIG-…)". */
export function parseListGpus(text: string): ListedGpu[] {
  const out: Array<{ index: number; name: string; uuid: string; mig: Array<{ profile: string; device: number; uuid: string }> }> = [];
  for (const line of text.split(/\r?\n/)) {
    const g = /^GPU (\d+): (.*) \(UUID: ([^)]+)\)\s*$/.exec(line);
    if (g) {
      out.push({ index: Number(g[1]), name: sanitizeText(g[2]!), uuid: g[3]!, mig: [] });
      continue;
    }
    const m = /^\s+MIG (\S+)\s+Device\s+(\d+): \(UUID: ([^)]+)\)\s*$/.exec(line);
    if (m && out.length > 0) out[out.length - 1]!.mig.push({ profile: m[1]!, device: Number(m[2]), uuid: m[3]! });
  }
  return out;
}
