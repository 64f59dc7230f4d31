/**
 * The batch file: YAML, validated key by key. Every problem is one ReaperError('CONFIG',
 * '<file>:<line>: <key>: <problem>'); unknown keys are errors. `parseBatchConfig` is pure;
 * `readBatchFile` is the one way a batch file is read (by `reaper run` and the TUI alike).
 */
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Pair, type YAMLMap } from 'yaml';
import { ReaperError } from '../model/errors.js';
import { readBatchFile } from './batch-file.js';

export { readBatchFile } from './batch-file.js';

type GpuSpec = { readonly kind: 'all' } | { readonly kind: 'count'; readonly count: number } | { readonly kind: 'list'; readonly indices: readonly number[] };

type StageOrder = 'pipeline' | 'stage-by-stage';
export type Backend = 'local' | 'slurm';

/**
 * How a stage is submitted on `backend: slurm` (the batch's `slurm:` block, overridden key by key
 * by a stage's own). null: Slurm's (or the site's SBATCH_*) default.
 */
export interface SlurmOptions {
  readonly partition: string | null;
  readonly account: string | null;
  readonly qos: string | null;
  /** --gres; default gpu:1 (null: `gres: none`, no GPU asked). */
  readonly gres: string | null;
  readonly cpus: number | null;
  /** --mem as Slurm spells it (4G, 500M). */
  readonly mem: string | null;
  /** --time in ms; null: from the stage timeout. */
  readonly timeMs: number | null;
  /** Further sbatch arguments, passed as they are (after reaper's own). */
  readonly extra: readonly string[];
}

export const DEFAULT_SLURM: SlurmOptions = { partition: null, account: null, qos: null, gres: 'gpu:1', cpus: null, mem: null, timeMs: null, extra: [] };
type StuckAction = 'fail' | 'warn';

export interface StageConfig {
  readonly name: string;
  /** argv templates ({placeholders} not yet expanded). */
  readonly cmd: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number | null;
  readonly retries: number;
  readonly after: string | null;
  /** Working directory template, relative to the batch file's folder; null: that folder. */
  readonly cwd: string | null;
  /** 0 for the first stage of a task, 1 for a stage after it, … */
  readonly level: number;
  readonly line: number;
  /** Submission options on backend slurm (the batch's block merged with the stage's). */
  readonly slurm: SlurmOptions;
}

interface TaskConfig {
  readonly index: number;
  readonly vars: Readonly<Record<string, string>>;
  readonly line: number;
}

export interface BatchConfig {
  /** Absolute path of the batch file. */
  readonly file: string;
  readonly baseDir: string;
  readonly name: string;
  readonly gpus: GpuSpec;
  /** Line of the `gpus` key (GPU indices are checked against the machine at launch). */
  readonly gpusLine: number;
  /** Tasks at once per GPU. */
  readonly concurrency: number;
  readonly order: StageOrder;
  readonly graceMs: number;
  /** Where stages run: this machine, or Slurm jobs (then `gpus` is how many run at once). */
  readonly backend: Backend;
  /** Line of the `backend` key, or 1. */
  readonly backendLine: number;
  readonly stuck: { readonly afterMs: number; readonly action: StuckAction };
  readonly env: Readonly<Record<string, string>>;
  readonly tasks: readonly TaskConfig[];
  /** In dependency order. */
  readonly stages: readonly StageConfig[];
}

const BUILTIN_PLACEHOLDERS = ['gpu', 'task', 'run', 'out'] as const;

const TOP_KEYS = ['name', 'gpus', 'concurrency', 'order', 'grace', 'stuck', 'retries', 'timeout', 'env', 'tasks', 'stages', 'backend', 'slurm'] as const;
const STAGE_KEYS = ['cmd', 'timeout', 'env', 'retries', 'after', 'cwd', 'slurm'] as const;
const SLURM_KEYS = ['partition', 'account', 'qos', 'gres', 'cpus', 'mem', 'time', 'extra'] as const;
const STUCK_KEYS = ['after', 'action'] as const;

const PLACEHOLDER = /\{\{|\}\}|\{([^{}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * The longest timeout or stuck limit a batch may ask for. Longer is a typo (the launcher chains
 * timers, so any length would work; Node's own fire at once above 24.8 days).
 */
export const MAX_DURATION_MS = 365 * 86_400_000;
/** The longest grace between SIGTERM and SIGKILL. */
const MAX_GRACE_MS = 86_400_000;

/** "1h30m", "10s", "500ms", "2d", 2.5 (seconds) → ms. Null when not a duration; throws nothing. */
export function parseDuration(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.round(v * 1000) : null;
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (/^-?\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const neg = s.startsWith('-');
  const body = neg ? s.slice(1) : s;
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(body)) return null;
  let ms = 0;
  for (const m of body.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
    const n = Number(m[1]);
    const unit = m[2]!;
    ms += n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000);
  }
  return Math.round(neg ? -ms : ms);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  if (m < 60) return rest ? `${m}m${rest}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
}

/** Placeholder names used in a template ("{{" and "}}" are literal braces). */
export function placeholdersIn(template: string): string[] {
  const out: string[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) if (m[1] !== undefined) out.push(m[1]);
  return out;
}

export function expandTemplate(template: string, vars: Readonly<Record<string, string>>): string {
  return template.replace(PLACEHOLDER, (all, name: string | undefined) => {
    if (all === '{{') return '{';
    if (all === '}}') return '}';
    const v = vars[name ?? ''];
    if (v === undefined) throw new ReaperError('CONFIG', `unknown placeholder {${name ?? ''}}`);
    return v;
  });
}

/** `readBatchFile` + `parseBatchConfig`. */
export function loadBatchFile(file: string, opts: { requireOwn?: boolean } = {}): BatchConfig {
  return parseBatchConfig(readBatchFile(file, opts), file);
}


export function parseBatchConfig(text: string, file: string): BatchConfig {
  const shown = file;
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const lineOf = (node: unknown): number => {
    const r = (node as { range?: [number, number, number] } | null)?.range;
    return r ? lc.linePos(r[0]).line : 1;
  };
  const fail = (line: number, key: string, problem: string): never => {
    throw new ReaperError('CONFIG', `${shown}:${line}: ${key}: ${problem}`);
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line ?? lc.linePos(e.pos[0]).line;
    fail(line, 'yaml', e.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, ''));
  }
  const root = doc.contents;
  if (!isMap(root)) fail(lineOf(root), '(top)', 'the batch file must be a mapping with tasks and stages');
  const top = root as YAMLMap;

  const pairs = (map: YAMLMap, where: string, allowed: readonly string[] | null): Map<string, Pair> => {
    const out = new Map<string, Pair>();
    for (const item of map.items) {
      const k = item.key;
      const key = isScalar(k) ? String(k.value) : null;
      if (key === null) fail(lineOf(k), where || '(top)', 'keys must be plain names');
      const full = where ? `${where}.${key}` : key!;
      if (allowed && !allowed.includes(key!)) fail(lineOf(k), full, `unknown key (allowed: ${allowed.join(', ')})`);
      out.set(key!, item);
    }
    return out;
  };
  const valueLine = (p: Pair): number => lineOf(p.value ?? p.key);
  // A NUL cannot be passed to exec (argv, environment, paths are C strings): caught here, not at spawn.
  const noNul = (v: string, line: number, key: string): string => {
    if (v.includes('\0')) fail(line, key, 'contains a NUL character (\\0), which no program argument, environment value or path can hold');
    return v;
  };
  const scalar = (p: Pair): unknown => (isScalar(p.value) ? p.value.value : p.value === null ? null : undefined);

  const keys = pairs(top, '', TOP_KEYS);

  const str = (p: Pair | undefined, key: string, def: string): string => {
    if (!p) return def;
    const v = scalar(p);
    if (typeof v !== 'string' && typeof v !== 'number') fail(valueLine(p), key, 'expected a string');
    return noNul(String(v), valueLine(p), key);
  };
  const int = (p: Pair | undefined, key: string, def: number, min: number): number => {
    if (!p) return def;
    const v = scalar(p);
    if (typeof v !== 'number' || !Number.isInteger(v)) fail(valueLine(p), key, `expected an integer, got ${JSON.stringify(v ?? null)}`);
    if ((v as number) < min) fail(valueLine(p), key, `must be >= ${min}, got ${v as number}`);
    return v as number;
  };
  const duration = (p: Pair | undefined, key: string, def: number | null, allowZero: boolean, maxMs = MAX_DURATION_MS): number | null => {
    if (!p) return def;
    const v = scalar(p);
    if (v === null && allowZero) return null;
    const ms = parseDuration(v);
    if (ms === null) fail(valueLine(p), key, `expected a duration like 30s, 10m, 1h, 2d or a number of seconds, got ${JSON.stringify(v ?? null)}`);
    if ((ms as number) < 0) fail(valueLine(p), key, `must not be negative, got ${String(v)}`);
    if ((ms as number) > maxMs) fail(valueLine(p), key, `at most ${formatDuration(maxMs)}, got ${String(v)}`);
    if (ms === 0 && !allowZero) fail(valueLine(p), key, 'must be greater than zero');
    return ms === 0 ? null : ms;
  };
  const envMap = (p: Pair | undefined, key: string): Record<string, string> => {
    if (!p) return {};
    if (!isMap(p.value)) fail(valueLine(p), key, 'expected a mapping of NAME: value');
    const out: Record<string, string> = {};
    for (const [k, item] of pairs(p.value as YAMLMap, key, null)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) fail(lineOf(item.key), `${key}.${k}`, 'not a valid environment variable name');
      if (k.startsWith('REAPER_RUN') || k === 'REAPER_TASK') fail(lineOf(item.key), `${key}.${k}`, 'is set by reaper itself');
      const v = scalar(item);
      if (v === null || v === undefined || typeof v === 'object') fail(valueLine(item), `${key}.${k}`, 'expected a string, number or boolean');
      out[k] = noNul(String(v), valueLine(item), `${key}.${k}`);
    }
    return out;
  };

  const name = str(keys.get('name'), 'name', path.basename(file).replace(/\.ya?ml$/i, ''));

  const bp = keys.get('backend');
  const backendRaw = str(bp, 'backend', 'local');
  if (backendRaw !== 'local' && backendRaw !== 'slurm') fail(valueLine(bp!), 'backend', `expected local or slurm, got "${backendRaw}"`);
  const backendLine = bp ? valueLine(bp) : 1;
  // Slurm's own names: letters, digits and a few marks; anything else is a typo (and never an option).
  const slurmName = (p: Pair, key: string, re: RegExp, what: string): string => {
    const v = str(p, key, '');
    if (!re.test(v)) fail(valueLine(p), key, `expected ${what}, got ${JSON.stringify(v)}`);
    return v;
  };
  const slurmBlock = (p: Pair | undefined, key: string, base: SlurmOptions): SlurmOptions => {
    if (!p) return base;
    if (!isMap(p.value)) fail(valueLine(p), key, `expected a mapping (keys: ${SLURM_KEYS.join(', ')})`);
    const k = pairs(p.value as YAMLMap, key, SLURM_KEYS);
    const o: { -readonly [K in keyof SlurmOptions]: SlurmOptions[K] } = { ...base };
    const NAME_RE = /^[A-Za-z0-9_.+-]+(,[A-Za-z0-9_.+-]+)*$/;
    if (k.has('partition')) o.partition = slurmName(k.get('partition')!, `${key}.partition`, NAME_RE, 'a partition name (or a comma list)');
    if (k.has('account')) o.account = slurmName(k.get('account')!, `${key}.account`, NAME_RE, 'an account name');
    if (k.has('qos')) o.qos = slurmName(k.get('qos')!, `${key}.qos`, NAME_RE, 'a QOS name');
    if (k.has('gres')) {
      const g = slurmName(k.get('gres')!, `${key}.gres`, /^[A-Za-z0-9_:.,=-]+$/, 'a gres like gpu:1, gpu:a100:2, or none');
      o.gres = g === 'none' ? null : g;
    }
    if (k.has('cpus')) o.cpus = int(k.get('cpus'), `${key}.cpus`, 1, 1);
    if (k.has('mem')) o.mem = slurmName(k.get('mem')!, `${key}.mem`, /^\d+[KMGT]?$/i, 'a size like 4G or 500M');
    if (k.has('time')) o.timeMs = duration(k.get('time'), `${key}.time`, null, false);
    const xp = k.get('extra');
    if (xp) {
      if (!isSeq(xp.value)) fail(valueLine(xp), `${key}.extra`, 'expected a list of sbatch arguments, e.g. [--constraint=a100]');
      const extra: string[] = [];
      for (const a of (xp.value as { items: unknown[] }).items) {
        const v = isScalar(a) ? a.value : undefined;
        if (typeof v !== 'string' && typeof v !== 'number') fail(lineOf(a), `${key}.extra`, 'every argument must be a string');
        const arg = noNul(String(v), lineOf(a), `${key}.extra`);
        // -Jname and -J=name are -J too.
        const flag = arg.startsWith('--') ? arg.split('=')[0]! : arg.slice(0, 2);
        if (RESERVED_SBATCH.includes(flag)) fail(lineOf(a), `${key}.extra`, `${flag} is set by reaper itself (it names, logs, places and tracks the job)`);
        extra.push(arg);
      }
      o.extra = [...base.extra, ...extra];
    }
    return o;
  };
  const batchSlurm = slurmBlock(keys.get('slurm'), 'slurm', DEFAULT_SLURM);

  // gpus
  let gpus: GpuSpec = { kind: 'all' };
  const gp = keys.get('gpus');
  const gpusLine = gp ? valueLine(gp) : 1;
  if (gp) {
    if (isSeq(gp.value)) {
      const indices: number[] = [];
      for (const it of gp.value.items) {
        const v = isScalar(it) ? it.value : undefined;
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(lineOf(it), 'gpus', `expected GPU indices (0, 1, …), got ${JSON.stringify(v ?? null)}`);
        if (indices.includes(v as number)) fail(lineOf(it), 'gpus', `GPU ${v as number} is listed twice`);
        indices.push(v as number);
      }
      if (indices.length === 0) fail(gpusLine, 'gpus', 'the list is empty');
      gpus = { kind: 'list', indices };
    } else {
      const v = scalar(gp);
      if (v === 'all') gpus = { kind: 'all' };
      else if (typeof v === 'number' && Number.isInteger(v) && v >= 1) gpus = { kind: 'count', count: v };
      else fail(gpusLine, 'gpus', `expected "all", a count (>= 1) or a list of indices, got ${JSON.stringify(v ?? null)}`);
    }
  }

  const concurrency = int(keys.get('concurrency'), 'concurrency', 1, 1);
  const orderRaw = str(keys.get('order'), 'order', 'pipeline');
  if (orderRaw !== 'pipeline' && orderRaw !== 'stage-by-stage') fail(valueLine(keys.get('order')!), 'order', `expected pipeline or stage-by-stage, got "${orderRaw}"`);
  const graceMs = duration(keys.get('grace'), 'grace', 5000, true, MAX_GRACE_MS) ?? 0;
  const retries = int(keys.get('retries'), 'retries', 0, 0);
  const defaultTimeout = duration(keys.get('timeout'), 'timeout', null, true);
  const env = envMap(keys.get('env'), 'env');

  let stuck = { afterMs: 10_000, action: 'fail' as StuckAction };
  const sp = keys.get('stuck');
  if (sp) {
    if (!isMap(sp.value)) fail(valueLine(sp), 'stuck', 'expected a mapping with after and action');
    const sk = pairs(sp.value as YAMLMap, 'stuck', STUCK_KEYS);
    const afterMs = duration(sk.get('after'), 'stuck.after', 10_000, false)!;
    const action = str(sk.get('action'), 'stuck.action', 'fail');
    if (action !== 'fail' && action !== 'warn') fail(valueLine(sk.get('action')!), 'stuck.action', `expected fail or warn, got "${action}"`);
    stuck = { afterMs, action: action as StuckAction };
  }

  // tasks
  const tp = keys.get('tasks');
  if (!tp) fail(1, 'tasks', 'missing (a list with one entry per task)');
  if (!isSeq(tp!.value)) fail(valueLine(tp!), 'tasks', 'expected a list with one entry per task');
  const tasks: TaskConfig[] = [];
  (tp!.value as { items: unknown[] }).items.forEach((it, index) => {
    const line = lineOf(it);
    const vars: Record<string, string> = {};
    if (isMap(it)) {
      for (const [k, item] of pairs(it, `tasks[${index}]`, null)) {
        if (!NAME.test(k)) fail(lineOf(item.key), `tasks[${index}].${k}`, 'placeholder names are letters, digits, _ and -');
        if ((BUILTIN_PLACEHOLDERS as readonly string[]).includes(k)) fail(lineOf(item.key), `tasks[${index}].${k}`, `{${k}} is a built-in placeholder`);
        const v = scalar(item);
        if (v === null || v === undefined || typeof v === 'object') fail(valueLine(item), `tasks[${index}].${k}`, 'expected a string, number or boolean');
        vars[k] = noNul(String(v), valueLine(item), `tasks[${index}].${k}`);
      }
    } else if (!(isScalar(it) && it.value === null)) {
      fail(line, `tasks[${index}]`, 'expected a mapping of placeholder: value (or {} for none)');
    }
    tasks.push({ index, vars, line });
  });
  if (tasks.length === 0) fail(valueLine(tp!), 'tasks', 'the list is empty');

  // stages
  const stp = keys.get('stages');
  if (!stp) fail(1, 'stages', 'missing (a mapping of stage name: {cmd: [...]})');
  if (!isMap(stp!.value)) fail(valueLine(stp!), 'stages', 'expected a mapping of stage name: {cmd: [...]}');
  const raw: Array<Omit<StageConfig, 'level'>> = [];
  for (const [sname, item] of pairs(stp!.value as YAMLMap, 'stages', null)) {
    const where = `stages.${sname}`;
    if (!NAME.test(sname)) fail(lineOf(item.key), where, 'stage names are letters, digits, _ and -');
    if (!isMap(item.value)) fail(valueLine(item), where, 'expected a mapping with cmd');
    const sk = pairs(item.value as YAMLMap, where, STAGE_KEYS);
    const cp = sk.get('cmd');
    if (!cp) fail(lineOf(item.key), `${where}.cmd`, 'missing (an argv list, e.g. [python3, script.py, --ckpt, "{ckpt}"])');
    if (!isSeq(cp!.value)) fail(valueLine(cp!), `${where}.cmd`, 'expected an argv list (commands run without a shell)');
    const cmd: string[] = [];
    for (const a of (cp!.value as { items: unknown[] }).items) {
      const v = isScalar(a) ? a.value : undefined;
      if (v === null || v === undefined || typeof v === 'object') fail(lineOf(a), `${where}.cmd`, 'every argument must be a string or number');
      cmd.push(noNul(String(v), lineOf(a), `${where}.cmd`));
    }
    if (cmd.length === 0 || cmd[0] === '') fail(valueLine(cp!), `${where}.cmd`, 'the argv list is empty');
    const ap = sk.get('after');
    const after = ap ? str(ap, `${where}.after`, '') : null;
    raw.push({
      name: sname,
      cmd,
      env: envMap(sk.get('env'), `${where}.env`),
      timeoutMs: sk.has('timeout') ? duration(sk.get('timeout'), `${where}.timeout`, null, true) : defaultTimeout,
      retries: int(sk.get('retries'), `${where}.retries`, retries, 0),
      after,
      cwd: sk.has('cwd') ? str(sk.get('cwd'), `${where}.cwd`, '') : null,
      line: lineOf(item.key),
      slurm: slurmBlock(sk.get('slurm'), `${where}.slurm`, batchSlurm),
    });
  }
  if (raw.length === 0) fail(valueLine(stp!), 'stages', 'no stages defined');

  // dependency order
  const byName = new Map(raw.map((s) => [s.name, s]));
  const levels = new Map<string, number>();
  const levelOf = (s: Omit<StageConfig, 'level'>, seen: string[]): number => {
    const known = levels.get(s.name);
    if (known !== undefined) return known;
    if (seen.includes(s.name)) fail(s.line, `stages.${s.name}.after`, `cycle: ${[...seen, s.name].join(' → ')}`);
    let lv = 0;
    if (s.after !== null) {
      const dep = byName.get(s.after);
      if (!dep) fail(s.line, `stages.${s.name}.after`, `no stage named "${s.after}" (stages: ${[...byName.keys()].join(', ')})`);
      lv = levelOf(dep!, [...seen, s.name]) + 1;
    }
    levels.set(s.name, lv);
    return lv;
  };
  const stages: StageConfig[] = raw.map((s) => ({ ...s, level: levelOf(s, []) }));
  stages.sort((a, b) => a.level - b.level || a.line - b.line);

  // placeholders: every one is a built-in or given by every task
  const checkTemplate = (tpl: string, line: number, key: string): void => {
    for (const ph of placeholdersIn(tpl)) {
      if ((BUILTIN_PLACEHOLDERS as readonly string[]).includes(ph)) continue;
      if (!tasks.some((t) => ph in t.vars)) {
        fail(line, key, `unknown placeholder {${ph}} (built-ins: ${BUILTIN_PLACEHOLDERS.map((b) => `{${b}}`).join(', ')}; task keys: ${[...new Set(tasks.flatMap((t) => Object.keys(t.vars)))].join(', ') || 'none'})`);
      }
      const missing = tasks.find((t) => !(ph in t.vars));
      if (missing) fail(missing.line, `tasks[${missing.index}]`, `missing ${ph} (used by ${key})`);
    }
  };
  for (const s of stages) {
    const stageNode = (stp!.value as YAMLMap).items.find((p) => isScalar(p.key) && p.key.value === s.name)!;
    const sk = pairs(stageNode.value as YAMLMap, `stages.${s.name}`, STAGE_KEYS);
    const cmdItems = (sk.get('cmd')!.value as { items: unknown[] }).items;
    s.cmd.forEach((a, i) => checkTemplate(a, lineOf(cmdItems[i]), `stages.${s.name}.cmd`));
    for (const [k, v] of Object.entries(s.env)) checkTemplate(v, s.line, `stages.${s.name}.env.${k}`);
    if (s.cwd !== null) checkTemplate(s.cwd, valueLine(sk.get('cwd')!), `stages.${s.name}.cwd`);
  }
  for (const [k, v] of Object.entries(env)) checkTemplate(v, lineOf(keys.get('env')!.key), `env.${k}`);

  const abs = path.resolve(file);
  const config: BatchConfig = {
    file: abs,
    baseDir: path.dirname(abs),
    name,
    gpus,
    gpusLine,
    backend: backendRaw as Backend,
    backendLine,
    concurrency,
    order: orderRaw as StageOrder,
    graceMs,
    stuck,
    env,
    tasks,
    stages,
  };
  if (config.backend === 'slurm') withBackend(config, 'slurm', shown);
  return config;
}

/** sbatch options reaper sets itself: a batch's `extra` may not change them. */
const RESERVED_SBATCH = ['-J', '--job-name', '-o', '--output', '-e', '--error', '--comment', '--export', '-D', '--chdir', '--parsable', '--wrap', '-a', '--array', '-d', '--dependency', '--kill-on-invalid-dep', '-i', '--input', '--gres', '-t', '--time'];

/**
 * The batch on another backend (`--backend` overriding the file). On Slurm the job is submitted
 * before Slurm picks its GPU, so {gpu} has nothing to expand to: it is an error that points to
 * $CUDA_VISIBLE_DEVICES, which Slurm sets inside the job.
 */
export function withBackend(config: BatchConfig, backend: Backend, shown = config.file): BatchConfig {
  if (backend === 'slurm') {
    const uses = (t: string): boolean => placeholdersIn(t).includes('gpu');
    for (const s of config.stages) {
      if (s.cmd.some(uses) || Object.values(s.env).some(uses) || (s.cwd !== null && uses(s.cwd))) {
        throw new ReaperError('CONFIG', `${shown}:${s.line}: stages.${s.name}: {gpu} is not available with backend slurm (Slurm picks the GPU after submission; read $CUDA_VISIBLE_DEVICES inside the job)`);
      }
    }
    if (Object.values(config.env).some(uses)) throw new ReaperError('CONFIG', `${shown}:1: env: {gpu} is not available with backend slurm (Slurm picks the GPU after submission; read $CUDA_VISIBLE_DEVICES inside the job)`);
  }
  return backend === config.backend ? config : { ...config, backend };
}

/**
 * The slots of a Slurm run: `gpus: N` (or a list of N) is how many of its tasks are submitted at
 * once; `all` (the default) submits every task and lets Slurm queue them.
 */
export function slurmSlots(config: BatchConfig): number[] {
  const n = config.gpus.kind === 'count' ? config.gpus.count : config.gpus.kind === 'list' ? config.gpus.indices.length : config.tasks.length;
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * The GPU indices a batch uses, given the indices the machine (or simulator) has.
 * Throws CONFIG naming the gpus line when the batch asks for a GPU that does not exist.
 */
export function resolveBatchGpus(config: BatchConfig, available: readonly number[]): number[] {
  const where = `${config.file}:${config.gpusLine}: gpus`;
  if (available.length === 0) throw new ReaperError('CONFIG', `${where}: no GPUs found on this machine (use --gpus sim:N for simulated GPUs)`);
  switch (config.gpus.kind) {
    case 'all':
      return [...available];
    case 'count':
      if (config.gpus.count > available.length) throw new ReaperError('CONFIG', `${where}: asks for ${config.gpus.count} GPUs, this machine has ${available.length} (${available.join(', ')})`);
      return available.slice(0, config.gpus.count);
    case 'list':
      for (const i of config.gpus.indices) {
        if (!available.includes(i)) throw new ReaperError('CONFIG', `${where}: GPU ${i} does not exist (available: ${available.join(', ')})`);
      }
      return [...config.gpus.indices];
  }
}

/** Names of the scripts a batch runs (for leftover patterns): basenames of cmd arguments that look like programs. */
export function batchPatterns(config: BatchConfig): string[] {
  const out = new Set<string>();
  for (const s of config.stages) {
    for (const a of s.cmd) {
      if (placeholdersIn(a).length > 0) continue;
      if (/\.(py|sh|pl|rb|js|mjs)$/.test(a)) out.add(path.basename(a));
    }
  }
  return [...out];
}

/** Names a driver run after its script (`python3 batch_eval.py` → batch_eval), else its program. */
function driverName(cmd: readonly string[]): string {
  const script = cmd.slice(1).find((a) => !a.startsWith('-') && /\.(py|sh|pl|rb|js|mjs|bash|lua|R|jl)$/.test(a));
  const base = path.basename(script ?? cmd[0] ?? 'driver').replace(/\.[A-Za-z]+$/, '');
  return base || 'driver';
}

/**
 * `reaper run -- CMD ARGS`: an existing driver contained as it is, as a one-task, one-stage batch
 * (stage "driver"), so everything a batch gets (session, marker, cgroup, PID namespace, guardian,
 * journal, teardown) applies unchanged. The arguments are literal: braces are not placeholders.
 * No timeout unless given; a stopped member is reported, never failed (the driver owns its tree).
 */
export function driverBatch(cmd: readonly string[], cwd: string, opts: { timeoutMs?: number | null; graceMs?: number } = {}): BatchConfig {
  if (cmd.length === 0 || cmd[0] === '') throw new ReaperError('USAGE', 'run --: missing the command to run (reaper run -- python3 driver.py ARGS)');
  cmd.forEach((a, i) => {
    // Bytes that are not UTF-8 reach Node as U+FFFD: the driver would get other bytes than typed.
    if (a.includes('\uFFFD')) throw new ReaperError('USAGE', `run --: argument ${i} is not valid UTF-8`);
    if (a.includes('\0')) throw new ReaperError('USAGE', `run --: argument ${i} contains a NUL character`);
  });
  const literal = cmd.map((a) => a.replace(/[{}]/g, (c) => c + c));
  const dir = path.resolve(cwd);
  return {
    file: path.join(dir, '(command line)'),
    baseDir: dir,
    name: driverName(cmd),
    gpus: { kind: 'all' },
    gpusLine: 1,
    concurrency: 1,
    order: 'pipeline',
    graceMs: opts.graceMs ?? 5000,
    backend: 'local',
    backendLine: 1,
    stuck: { afterMs: 10_000, action: 'warn' },
    env: {},
    tasks: [{ index: 0, vars: {}, line: 1 }],
    stages: [{ name: 'driver', cmd: literal, env: {}, timeoutMs: opts.timeoutMs ?? null, retries: 0, after: null, cwd: null, level: 0, line: 1, slurm: DEFAULT_SLURM }],
  };
}
