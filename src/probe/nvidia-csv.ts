/**
 * nvidia-smi's CSV, as it really is (pure; no I/O):
 * - the separator is ", " and nothing is quoted, so a GPU or process name that contains
 *   ", " (a whole command line on Windows, a crafted argv[0]) adds columns: the fixed columns
 *   are split off from both ends and the one free-text column takes what is left;
 * - `--format=csv` prints a header whose names carry units ("memory.used [MiB]") and values
 *   with units ("2296 MiB"); `nounits` drops the units from values (not always from the header);
 * - aliases come back under their canonical name (`gpu_name` → `name`, `clocks.sm` →
 *   `clocks.current.sm`, `name` → `process_name` in --query-compute-apps);
 * - missing values are bracketed: `[N/A]`, `[Not Supported]`, `[Unknown Error]`,
 *   `[GPU requires reset]`, `[Function Not Found]`, `[Insufficient Permissions]` …
 */

/** A raw row: canonical field name → value with its unit stripped. */
export type CsvRecord = Readonly<Record<string, string>>;

export interface CsvParseResult {
  /** Canonical field names in column order. */
  readonly fields: readonly string[];
  readonly rows: readonly CsvRecord[];
  /** Lines that were not rows of this shape (driver event lines, a truncated line …). */
  readonly skipped: readonly string[];
}

/** Aliases that `--help-query-gpu` / `--help-query-compute-apps` list, mapped to the name printed in headers. */
const GPU_ALIASES: Readonly<Record<string, string>> = {
  gpu_name: 'name',
  gpu_serial: 'serial',
  gpu_uuid: 'uuid',
  gpu_bus_id: 'pci.bus_id',
  'clocks.gr': 'clocks.current.graphics',
  'clocks.sm': 'clocks.current.sm',
  'clocks.mem': 'clocks.current.memory',
  'clocks.video': 'clocks.current.video',
  'gpu.power.draw.instant': 'power.draw.instant',
  'gpu.power.draw.average': 'power.draw.average',
  'gpu.power.requested_limit': 'power.limit',
  'gpu.power.current_limit': 'enforced.power.limit',
  'gpu.power.default_limit': 'power.default_limit',
  'inforom.image': 'inforom.img',
  'inforom.power': 'inforom.pwr',
};

const APP_ALIASES: Readonly<Record<string, string>> = {
  name: 'process_name',
  used_memory: 'used_gpu_memory',
};

export type QueryKind = 'gpu' | 'compute-apps';

function canonicalField(kind: QueryKind, field: string): string {
  const f = field.trim();
  return (kind === 'gpu' ? GPU_ALIASES[f] : APP_ALIASES[f]) ?? f;
}

/** Free-text columns, in order of preference, that may absorb extra ", " pieces. */
const FREE_TEXT = ['process_name', 'name', 'gpu_name'];

const MISSING_BRACKETED = /^\[[^\]]*\]$/;

/**
 * Why a value is missing, or null when it is a real value. Bracketed tokens are
 * nvidia-smi's way of saying "no value" ([N/A], [Not Supported], [GPU requires reset] …);
 * the -q text format and some old drivers print a bare "N/A".
 */
export function missingReason(value: string): string | null {
  const v = value.trim();
  if (MISSING_BRACKETED.test(v)) return v;
  if (v === 'N/A' || v === 'ERR!' || v === '') return v === '' ? '[empty]' : `[${v}]`;
  return null;
}

/** Splits one line on ", ", merging surplus pieces back into column `freeIndex`. Null if too few. */
export function splitRow(line: string, columns: number, freeIndex: number): string[] | null {
  const parts = line.split(', ');
  if (parts.length === columns) return parts;
  if (parts.length < columns || freeIndex < 0) return null;
  const head = parts.slice(0, freeIndex);
  const tailCount = columns - freeIndex - 1;
  const tail = tailCount > 0 ? parts.slice(parts.length - tailCount) : [];
  const middle = parts.slice(freeIndex, parts.length - tailCount).join(', ');
  return [...head, middle, ...tail];
}

/** "memory.used [MiB]" → { name: "memory.used", unit: "MiB" }. */
export function parseHeaderCell(cell: string): { name: string; unit: string | null } {
  const m = /^(.*?)\s*\[([^\]]*)\]\s*$/.exec(cell.trim());
  if (m) return { name: m[1]!, unit: m[2]! };
  return { name: cell.trim(), unit: null };
}

function stripUnit(value: string, unit: string | null): string {
  const v = value.trim();
  if (unit && v.endsWith(' ' + unit)) return v.slice(0, -(unit.length + 1));
  // nounits output, or a value printed without its unit: keep as is.
  return v;
}

function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '');
}

function freeIndexOf(fields: readonly string[]): number {
  for (const f of FREE_TEXT) {
    const i = fields.indexOf(f);
    if (i >= 0) return i;
  }
  return -1;
}

/**
 * `--format=csv,noheader[,nounits]`: the caller knows the fields it asked for.
 * `units`: whether values may carry units (plain `csv,noheader`); they are stripped by a
 * per-field table of the units nvidia-smi prints.
 */
export function parseCsvNoHeader(text: string, kind: QueryKind, requested: readonly string[]): CsvParseResult {
  const fields = requested.map((f) => canonicalField(kind, f));
  const free = freeIndexOf(fields);
  return parseRows(lines(text), fields, free, (f) => KNOWN_UNITS[f] ?? null);
}

/** Rows → records by field name, units stripped; lines that are not rows are kept aside. */
function parseRows(rowLines: Iterable<string>, fields: readonly string[], free: number, unitAt: (field: string, i: number) => string | null): CsvParseResult {
  const rows: CsvRecord[] = [];
  const skipped: string[] = [];
  for (const line of rowLines) {
    const parts = splitRow(line, fields.length, free);
    if (!parts) {
      skipped.push(line);
      continue;
    }
    const rec: Record<string, string> = {};
    fields.forEach((f, i) => {
      rec[f] = stripUnit(parts[i]!, unitAt(f, i));
    });
    rows.push(rec);
  }
  return { fields, rows, skipped };
}

/** Units nvidia-smi appends to values without `nounits`, for the fields reaper reads. */
const KNOWN_UNITS: Readonly<Record<string, string>> = {
  'utilization.gpu': '%',
  'utilization.memory': '%',
  'fan.speed': '%',
  'memory.used': 'MiB',
  'memory.total': 'MiB',
  'memory.free': 'MiB',
  'memory.reserved': 'MiB',
  'power.draw': 'W',
  'power.draw.instant': 'W',
  'power.draw.average': 'W',
  'power.limit': 'W',
  used_gpu_memory: 'MiB',
};

/**
 * `--format=csv[,nounits]` with a header: columns are mapped by header name, which is
 * robust to aliases, reordering and extra columns. The first non-blank line is the header;
 * a header repeated later (never by nvidia-smi itself, but by concatenated captures) is skipped.
 */
export function parseCsvWithHeader(text: string, kind: QueryKind): CsvParseResult {
  const all = lines(text);
  const headerLine = all[0];
  if (headerLine === undefined) return { fields: [], rows: [], skipped: [] };
  const header = headerLine.split(', ').map(parseHeaderCell);
  const fields = header.map((h) => canonicalField(kind, h.name));
  const free = freeIndexOf(fields);
  // A repeated header line is not a row.
  return parseRows(all.slice(1).filter((line) => line !== headerLine), fields, free, (_f, i) => header[i]!.unit);
}

/** True when a line looks like a CSV header of field names (with optional "[unit]"). */
export function looksLikeCsvHeader(line: string): boolean {
  const cells = line.split(', ');
  return cells.length > 0 && cells.every((c) => /^[A-Za-z_][A-Za-z0-9_.]*( \[[^\]]+\])?$/.test(c.trim()));
}
