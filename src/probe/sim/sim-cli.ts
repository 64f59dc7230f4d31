/**
 * `reaper sim-nvidia-smi [args]`: an nvidia-smi stand-in that answers reaper's queries in
 * the real formats (see the shared samples): --query-gpu / --query-compute-apps with any
 * subset of the supported fields, --format=csv[,noheader][,nounits], -L, -i, -l / -lms loops,
 * --help-query-gpu / --help-query-compute-apps (minimal), and the real error text (exit 2)
 * for an unknown field. REAPER_SIM_GPUS sets the GPU count (default 2);
 * REAPER_SIM_FAIL=<kind> prints a real failure instead (no-devices, driver-not-reachable,
 * version-mismatch, gpu-lost, hang) for tests and demos of probe errors.
 */
import { SIM_COUNT_ENV, SIM_DEFAULT_COUNT, SIM_MAX_COUNT } from './sim-constants.js';
import {
  CLOCK_TICKS,
  buildSimGpus,
  lifetimeCpuPercent,
  readSimHolders,
  type NonHolderCache,
  readUptimeSec,
  type EnvCache,
  type SimGpu,
  type SimHolder,
} from './sim-state.js';

export interface SimIo {
  readonly env: NodeJS.ProcessEnv;
  write(text: string): void;
  /**
   * Where `--reaper-apps=FIELDS` writes its compute-apps rows (fd 3 of the command): reaper's
   * own screen reads both streams from one simulator process instead of two.
   */
  writeApps?(text: string): void;
  writeErr(text: string): void;
  /** Resolves when the consumer is gone (stdout closed): loop mode stops then. */
  readonly closed?: Promise<void>;
  readonly now?: () => Date;
}

type Unit = '%' | 'MiB' | 'W' | null;
interface FieldDef<T> {
  readonly canonical: string;
  readonly unit: Unit;
  readonly value: (x: T, ctx: Ctx) => string;
}
interface Ctx {
  readonly count: number;
  readonly stamp: string;
  readonly gpus: readonly SimGpu[];
}

const pct = (n: number): string => String(Math.round(n));

const GPU_FIELDS: Record<string, FieldDef<SimGpu>> = {};
const APP_FIELDS: Record<string, FieldDef<{ h: SimHolder; g: SimGpu }>> = {};

function defGpu(names: string[], unit: Unit, value: (g: SimGpu, ctx: Ctx) => string): void {
  for (const n of names) GPU_FIELDS[n] = { canonical: names[0]!, unit, value };
}
function defApp(names: string[], unit: Unit, value: (x: { h: SimHolder; g: SimGpu }, ctx: Ctx) => string): void {
  for (const n of names) APP_FIELDS[n] = { canonical: names[0]!, unit, value };
}

defGpu(['timestamp'], null, (_g, c) => c.stamp);
defGpu(['driver_version'], null, () => '590.48.01');
defGpu(['count'], null, (_g, c) => String(c.count));
defGpu(['name', 'gpu_name'], null, (g) => g.name);
defGpu(['serial', 'gpu_serial'], null, () => '[N/A]');
defGpu(['uuid', 'gpu_uuid'], null, (g) => g.uuid);
defGpu(['pci.bus_id', 'gpu_bus_id'], null, (g) => g.busId);
defGpu(['index'], null, (g) => String(g.index));
defGpu(['persistence_mode'], null, () => 'Enabled');
defGpu(['fan.speed'], '%', () => '[N/A]');
defGpu(['pstate'], null, (g) => g.pstate);
defGpu(['memory.total'], 'MiB', (g) => String(g.memoryTotalMiB));
defGpu(['memory.used'], 'MiB', (g) => String(g.memoryUsedMiB));
defGpu(['memory.free'], 'MiB', (g) => String(g.memoryTotalMiB - g.memoryUsedMiB));
defGpu(['compute_mode'], null, () => 'Default');
defGpu(['utilization.gpu'], '%', (g) => pct(g.utilizationGpu));
defGpu(['utilization.memory'], '%', (g) => pct(g.utilizationMemory));
defGpu(['temperature.gpu'], null, (g) => String(g.temperatureC));
defGpu(['power.draw'], 'W', (g) => g.powerDrawW.toFixed(2));
defGpu(['power.draw.instant', 'gpu.power.draw.instant'], 'W', (g) => g.powerDrawW.toFixed(2));
defGpu(['power.limit', 'gpu.power.requested_limit'], 'W', (g) => g.powerLimitW.toFixed(2));
defGpu(['mig.mode.current'], null, () => 'Disabled');

defApp(['timestamp'], null, (_x, c) => c.stamp);
defApp(['gpu_name'], null, (x) => x.g.name);
defApp(['gpu_bus_id'], null, (x) => x.g.busId);
defApp(['gpu_serial'], null, () => '[N/A]');
defApp(['gpu_uuid'], null, (x) => x.g.uuid);
defApp(['pid'], null, (x) => String(x.h.pid));
defApp(['process_name', 'name'], null, (x) => x.h.processName.replace(/[\u0000-\u001f\u007f]/g, '?'));
defApp(['used_gpu_memory', 'used_memory'], 'MiB', (x) => String(x.h.mib));

const INVALID_ARGS = "Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.\n";

interface Options {
  queryGpu: string[] | null;
  queryApps: string[] | null;
  format: { header: boolean; units: boolean } | null;
  list: boolean;
  loopMs: number | null;
  ids: string[] | null;
  help: 'gpu' | 'apps' | null;
  /** reaper-only: with --query-gpu in loop mode, also these compute-apps fields on each tick, to fd 3. */
  appsAlongside: string[] | null;
}

class ArgError extends Error {}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { queryGpu: null, queryApps: null, format: null, list: false, loopMs: null, ids: null, help: null, appsAlongside: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : null;
    const value = (): string => {
      if (inline !== null) return inline;
      const v = argv[++i];
      if (v === undefined) throw new ArgError(`ERROR: Option ${a} is missing its value. Please run 'nvidia-smi -h' for help.\n`);
      return v;
    };
    const seconds = (ms: number): number => {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < 1) throw new ArgError(INVALID_ARGS);
      return Number(v) * ms;
    };
    switch (name) {
      case '--query-gpu':
        o.queryGpu = value().split(',');
        break;
      case '--query-compute-apps':
        o.queryApps = value().split(',');
        break;
      case '--format': {
        const parts = value().split(',');
        if (parts[0] !== 'csv' || parts.slice(1).some((p) => p !== 'noheader' && p !== 'nounits')) throw new ArgError(INVALID_ARGS);
        o.format = { header: !parts.includes('noheader'), units: !parts.includes('nounits') };
        break;
      }
      case '-L':
      case '--list-gpus':
        o.list = true;
        break;
      case '-l':
      case '--loop':
        o.loopMs = seconds(1000);
        break;
      case '-lms':
      case '--loop-ms':
        o.loopMs = seconds(1);
        break;
      case '-i':
      case '--id':
        o.ids = value().split(',');
        break;
      case '--reaper-apps':
        o.appsAlongside = value().split(',');
        break;
      case '--help-query-gpu':
        o.help = 'gpu';
        break;
      case '--help-query-compute-apps':
        o.help = 'apps';
        break;
      default:
        throw new ArgError(INVALID_ARGS);
    }
  }
  if ((o.queryGpu || o.queryApps) && !o.format) throw new ArgError(INVALID_ARGS);
  if (o.queryGpu && o.queryApps) throw new ArgError(INVALID_ARGS);
  if (o.appsAlongside && (!o.queryGpu || o.loopMs === null)) throw new ArgError(INVALID_ARGS);
  return o;
}

function simCount(env: NodeJS.ProcessEnv): number {
  const v = env[SIM_COUNT_ENV];
  if (v === undefined || !/^\d+$/.test(v)) return SIM_DEFAULT_COUNT;
  return Math.max(0, Math.min(SIM_MAX_COUNT, Number(v)));
}

function stampOf(d: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function selectGpus(gpus: readonly SimGpu[], ids: string[] | null): SimGpu[] | null {
  if (!ids) return [...gpus];
  const out: SimGpu[] = [];
  for (const id of ids) {
    const g = gpus.find((x) => String(x.index) === id || x.uuid === id || x.busId.toLowerCase().endsWith(id.toLowerCase()));
    if (!g) return null;
    if (!out.includes(g)) out.push(g);
  }
  return out;
}

function renderRows<T>(defs: readonly FieldDef<T>[], items: readonly T[], ctx: Ctx, units: boolean): string {
  let s = '';
  for (const it of items) {
    s +=
      defs
        .map((d) => {
          const v = d.value(it, ctx);
          return units && d.unit && !v.startsWith('[') ? `${v} ${d.unit}` : v;
        })
        .join(', ') + '\n';
  }
  return s;
}

function renderHeader<T>(defs: readonly FieldDef<T>[]): string {
  return defs.map((d) => (d.unit ? `${d.canonical} [${d.unit}]` : d.canonical)).join(', ') + '\n';
}

const FAILS: Readonly<Record<string, { text: string; code: number }>> = {
  'no-devices': { text: 'No devices were found\n', code: 6 },
  'driver-not-reachable': {
    text: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n\n",
    code: 9,
  },
  'version-mismatch': { text: 'Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 535.161\n', code: 18 },
  'gpu-lost': { text: 'Unable to determine the device handle for GPU 0000:10:00.0: GPU is lost. Reboot the system to recover this GPU\n', code: 15 },
};

function helpText(kind: 'gpu' | 'apps'): string {
  const defs = kind === 'gpu' ? GPU_FIELDS : APP_FIELDS;
  const byCanon = new Map<string, string[]>();
  for (const [n, d] of Object.entries(defs)) byCanon.set(d.canonical, [...(byCanon.get(d.canonical) ?? []), n]);
  let s = `List of valid properties to query for the switch "${kind === 'gpu' ? '--query-gpu' : '--query-compute-apps'}":\n\n`;
  for (const names of byCanon.values()) s += `${names.map((n) => `"${n}"`).join(' or ')}\nSimulated by reaper.\n\n`;
  return s;
}

/** Runs the simulator; resolves with the exit code (loop mode: when the reader goes away). */
export async function runSimNvidiaSmi(argv: readonly string[], io: SimIo): Promise<number> {
  // Taken first: loop mode stops when the parent that started us is gone (re-parented).
  const parent = process.ppid;
  let o: Options;
  try {
    o = parseArgs(argv);
  } catch (e) {
    if (e instanceof ArgError) {
      io.write(e.message);
      return 2;
    }
    throw e;
  }
  if (o.help) {
    io.write(helpText(o.help));
    return 0;
  }
  // Unknown fields fail the whole call, on stdout, exit 2 (shared sample).
  const want = o.queryGpu ?? o.queryApps;
  const table = o.queryGpu ? GPU_FIELDS : APP_FIELDS;
  const checks: Array<[readonly string[] | null, Record<string, unknown>]> = [[want, table], [o.appsAlongside, APP_FIELDS]];
  for (const [fields, defs] of checks) {
    for (const f of fields ?? []) {
      if (!Object.prototype.hasOwnProperty.call(defs, f)) {
        io.write(`Field "${f}" is not a valid field to query.\n\n`);
        return 2;
      }
    }
  }
  const fail = io.env.REAPER_SIM_FAIL;
  if (fail === 'hang') {
    await new Promise<void>((resolve) => {
      const t = setInterval(() => undefined, 60_000);
      void io.closed?.then(() => {
        clearInterval(t);
        resolve();
      });
    });
    return 0;
  }
  if (fail && FAILS[fail]) {
    io.write(FAILS[fail].text);
    return FAILS[fail].code;
  }

  const count = simCount(io.env);
  if (count === 0) {
    io.write('No devices were found\n');
    return 6;
  }
  const now = io.now ?? (() => new Date());
  const cache: EnvCache = new Map();
  const nonHolders: NonHolderCache = { tick: 0, checkedAt: new Map() };
  let prev: Map<string, { ticks: number; at: number }> | null = null;

  const sample = async (loop: boolean): Promise<Ctx> => {
    const holders = await readSimHolders(count, loop ? { cache, nonHolders } : {});
    const uptime = await readUptimeSec();
    const nowMs = Date.now();
    let cpuOf: (h: SimHolder) => number = (h) => lifetimeCpuPercent(h, uptime);
    if (loop && prev) {
      const p = prev;
      cpuOf = (h) => {
        const before = p.get(`${h.pid}:${h.startTime}`);
        if (!before || nowMs <= before.at) return lifetimeCpuPercent(h, uptime);
        return (((h.cpuTicks - before.ticks) / CLOCK_TICKS) * 100000) / (nowMs - before.at);
      };
    }
    if (loop) prev = new Map(holders.map((h) => [`${h.pid}:${h.startTime}`, { ticks: h.cpuTicks, at: nowMs }]));
    return { count, stamp: stampOf(now()), gpus: buildSimGpus(count, holders, cpuOf) };
  };

  const render = (ctx: Ctx, first: boolean): string | null => {
    const gpus = selectGpus(ctx.gpus, o.ids);
    if (!gpus) return null;
    if (o.list) return gpus.map((g) => `GPU ${g.index}: ${g.name} (UUID: ${g.uuid})\n`).join('');
    const fmt = o.format ?? { header: true, units: true };
    if (o.queryGpu) {
      const defs = o.queryGpu.map((f) => GPU_FIELDS[f]!);
      return (first && fmt.header ? renderHeader(defs) : '') + renderRows(defs, gpus, ctx, fmt.units);
    }
    if (o.queryApps) {
      const defs = o.queryApps.map((f) => APP_FIELDS[f]!);
      const items = gpus.flatMap((g) => g.holders.map((h) => ({ h, g })));
      return (first && fmt.header ? renderHeader(defs) : '') + renderRows(defs, items, ctx, fmt.units);
    }
    return renderTable(ctx, gpus);
  };

  // --reaper-apps: the compute-apps rows of the same sample (same holders), nounits, noheader.
  const appsDefs = o.appsAlongside?.map((f) => APP_FIELDS[f]!) ?? null;
  const writeApps = (ctx: Ctx): void => {
    if (!appsDefs || !io.writeApps) return;
    const gpus = selectGpus(ctx.gpus, o.ids) ?? [];
    const text = renderRows(appsDefs, gpus.flatMap((g) => g.holders.map((h) => ({ h, g }))), ctx, false);
    if (text) io.writeApps(text); // an empty tick writes nothing, as nvidia-smi does
  };
  const firstCtx = await sample(o.loopMs !== null);
  const first = render(firstCtx, true);
  if (first === null) {
    io.write('No devices were found\n');
    return 6;
  }
  io.write(first);
  writeApps(firstCtx);
  const loopMs = o.loopMs;
  if (loopMs === null) return 0;

  // Loop mode: like nvidia-smi -l/-lms, until killed or the reader goes away. A parent
  // that dies leaves us re-parented: stop then too (an empty compute-apps tick writes nothing,
  // so EPIPE alone would not tell).
  return new Promise<number>((resolve) => {
    let busy = false;
    let done = false;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      clearInterval(timer);
      resolve(code);
    };
    const timer = setInterval(() => {
      if (process.ppid !== parent) return finish(0);
      if (busy) return; // a slow /proc scan skips a tick rather than piling up
      busy = true;
      sample(true)
        .then((ctx) => {
          const text = render(ctx, false);
          if (text) io.write(text);
          writeApps(ctx);
        })
        .catch(() => undefined)
        .finally(() => {
          busy = false;
        });
    }, loopMs);
    void io.closed?.then(() => finish(0));
  });
}

function renderTable(ctx: Ctx, gpus: readonly SimGpu[]): string {
  const line = '+-----------------------------------------------------------------------------------------+\n';
  let s = `${new Date().toString().slice(0, 24)}\n${line}`;
  s += '| NVIDIA-SMI 590.48.01 (simulated by reaper)    Driver Version: 590.48.01    CUDA Version: 13.1 |\n' + line;
  for (const g of gpus) {
    s += `| ${String(g.index).padStart(3)}  ${g.name.padEnd(26)} ${g.busId}  ${String(g.temperatureC).padStart(3)}C  ${g.pstate.padEnd(3)} ${String(Math.round(g.powerDrawW)).padStart(4)}W / ${g.powerLimitW}W  ${String(g.memoryUsedMiB).padStart(6)}MiB / ${g.memoryTotalMiB}MiB  ${String(g.utilizationGpu).padStart(3)}% |\n`;
  }
  s += line + '| Processes:                                                                              |\n';
  s += '|  GPU        PID   Type   Process name                                         GPU Memory |\n';
  const procs = gpus.flatMap((g) => g.holders.map((h) => ({ g, h })));
  if (procs.length === 0) s += '|  No running processes found                                                             |\n';
  for (const { g, h } of procs) {
    s += `| ${String(g.index).padStart(4)} ${String(h.pid).padStart(10)}      C   ${h.processName.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 48).padEnd(48)} ${String(h.mib).padStart(7)}MiB |\n`;
  }
  s += line;
  void ctx;
  return s;
}
