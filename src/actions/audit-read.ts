/**
 * Reading the audit log back (for `reaper log` and the screen's log overlay): a file read without
 * following links, only from a plain file of the expected owner (readAuditFile, readAuditLogs),
 * then, pure: audit.jsonl text → checked records → one entry per signalled process or Slurm job
 * (intent and outcome lines joined by id, the same entry from two logs counted once) → filters.
 *
 * A log line is believed only when it has exactly the shape reaper writes: a line that is too
 * long, not JSON, of another shape, or carries control characters (reaper writes every string
 * sanitised) is skipped with one warning naming its file and line, and used for nothing.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { sanitizeText } from '../model/sanitize.js';
import { AUDIT_CMD_MAX, AUDIT_LINE_MAX, AUDIT_OUTCOMES, auditSystemPath, auditUserPath, type AuditInvoker, type AuditOutcome, type AuditRecord, type AuditUser } from './audit.js';

/** One signalled (or deliberately spared) process: what the log says about it. */
export interface LogEntry {
  readonly id: string;
  /** Intent time (outcome time when only the outcome was logged), ms since the epoch. */
  readonly atMs: number;
  readonly endedAtMs: number | null;
  readonly host: string;
  readonly by: AuditInvoker;
  readonly asked: string;
  readonly run: string | null;
  readonly task: string | null;
  /** null for a Slurm job (`job` names it). */
  readonly pid: number | null;
  readonly start: number | null;
  readonly job: string | null;
  readonly owner: AuditUser;
  readonly cmd: string;
  readonly reasons: readonly string[];
  readonly signal: string;
  readonly via: string | null;
  /** null: an intent without an outcome (reaper was killed while acting, or the log failed then). */
  readonly outcome: AuditOutcome | null;
  readonly detail: string | null;
  readonly sent: readonly string[];
}

export interface ParsedLog {
  readonly records: AuditRecord[];
  /** "FILE:LINE: skipped: why", one per skipped line. */
  readonly warnings: string[];
}

// What reaper never writes inside a string: C0, DEL, C1, bidi controls, line separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
const KEYS = new Set(['v', 'id', 'phase', 't', 'host', 'by', 'asked', 'run', 'task', 'pid', 'start', 'job', 'owner', 'cmd', 'reasons', 'signal', 'via', 'outcome', 'detail', 'sent']);

type Check = string | null;

function str(v: unknown, name: string, max: number, optional = false): Check {
  if (v === undefined && optional) return null;
  if (typeof v !== 'string') return `${name} is not a string`;
  if (v.length > max) return `${name} is longer than ${max}`;
  if (CONTROL.test(v)) return `${name} has control characters`;
  return null;
}

function uint(v: unknown, name: string, nullable = false): Check {
  if (v === null && nullable) return null;
  return Number.isSafeInteger(v) && (v as number) >= 0 ? null : `${name} is not a whole number`;
}

function user(v: unknown, name: string): Check {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${name} is not an object`;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['uid', 'user', 'sudoUser', 'sudoUid'].includes(k)) return `${name} has an unknown field`;
  return (
    uint(o.uid, `${name}.uid`, true) ??
    (o.user === null ? null : str(o.user, `${name}.user`, 64)) ??
    str(o.sudoUser, `${name}.sudoUser`, 64, true) ??
    (o.sudoUid === undefined ? null : uint(o.sudoUid, `${name}.sudoUid`))
  );
}

function strList(v: unknown, name: string, maxItems: number, maxLen: number, optional = false): Check {
  if (v === undefined && optional) return null;
  if (!Array.isArray(v) || v.length > maxItems) return `${name} is not a list of at most ${maxItems}`;
  for (const x of v) {
    const c = str(x, name, maxLen);
    if (c) return c;
  }
  return null;
}

/** Why a parsed line is not an audit record as reaper writes it, or null when it is one. */
export function auditRecordProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) return `unknown field "${sanitizeText(k.slice(0, 30))}"`;
  if (o.v !== 1) return 'unknown version';
  if (typeof o.id !== 'string' || !/^[0-9a-f]{16}$/.test(o.id)) return 'bad id';
  if (o.phase !== 'intent' && o.phase !== 'outcome') return 'bad phase';
  if (typeof o.t !== 'string' || !ISO.test(o.t) || !Number.isFinite(Date.parse(o.t))) return 'bad time';
  const c =
    str(o.host, 'host', 255) ??
    user(o.by, 'by') ??
    str(o.asked, 'asked', 300) ??
    str(o.run, 'run', 64, true) ??
    str(o.task, 'task', 120, true) ??
    // A process (pid > 1 and its start time) or a Slurm job (its id; no pid, no start): never both.
    (o.job === undefined
      ? (Number.isSafeInteger(o.pid) && (o.pid as number) > 1 ? null : 'bad pid') ?? uint(o.start, 'start')
      : typeof o.job === 'string' && /^\d{1,20}$/.test(o.job) && o.pid === null && o.start === null ? null : 'bad job') ??
    user(o.owner, 'owner') ??
    str(o.cmd, 'cmd', AUDIT_CMD_MAX) ??
    strList(o.reasons, 'reasons', 16, 120) ??
    (typeof o.signal === 'string' && /^SIG[A-Z0-9]{2,8}$/.test(o.signal) ? null : 'bad signal') ??
    str(o.via, 'via', 300, true) ??
    str(o.detail, 'detail', 300, true) ??
    strList(o.sent, 'sent', 32, 80, true);
  if (c) return c;
  if (o.phase === 'outcome' && !(AUDIT_OUTCOMES as readonly unknown[]).includes(o.outcome)) return 'bad outcome';
  if (o.phase === 'intent' && (o.outcome !== undefined || o.detail !== undefined || o.sent !== undefined)) return 'an intent with an outcome';
  return null;
}

/** One log file's text → its records; every other line is skipped with a warning. */
export function parseAuditText(text: string, file: string): ParsedLog {
  const records: AuditRecord[] = [];
  const warnings: string[] = [];
  const label = sanitizeText(file);
  const lines = text.split('\n');
  // A last line without its newline is a write cut short (or one under way): not a record yet.
  if (lines.length > 0 && lines[lines.length - 1] !== '') {
    warnings.push(`${label}:${lines.length}: skipped: incomplete last line`);
  }
  lines.pop();
  lines.forEach((line, i) => {
    const skip = (why: string): void => void warnings.push(`${label}:${i + 1}: skipped: ${why}`);
    if (line.length === 0) return skip('empty line');
    if (line.length > AUDIT_LINE_MAX) return skip(`longer than ${AUDIT_LINE_MAX} characters`);
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      return skip('not JSON');
    }
    const why = auditRecordProblem(v);
    if (why) return skip(why);
    records.push(v as AuditRecord);
  });
  return { records, warnings };
}

/** The fields both lines of one entry must agree on. */
function sameProcess(a: AuditRecord, b: AuditRecord): boolean {
  return a.pid === b.pid && a.start === b.start && a.job === b.job && a.signal === b.signal && a.asked === b.asked && a.by.uid === b.by.uid && a.host === b.host;
}

/**
 * Records (from one or more logs) → entries, oldest first. The same line in two logs (root's own
 * and the system log) counts once; a line that contradicts the other line of its id is skipped.
 */
export function buildLogEntries(records: readonly AuditRecord[]): { entries: LogEntry[]; warnings: string[] } {
  const byId = new Map<string, { intent?: AuditRecord; outcome?: AuditRecord }>();
  const warnings: string[] = [];
  for (const r of records) {
    let e = byId.get(r.id);
    if (!e) byId.set(r.id, (e = {}));
    const other = r.phase === 'intent' ? e.outcome : e.intent;
    const same = e[r.phase];
    if (same) {
      if (JSON.stringify(same) !== JSON.stringify(r)) warnings.push(`entry ${r.id}: two different ${r.phase} lines: the later one is skipped`);
      continue;
    }
    if (other && !sameProcess(other, r)) {
      warnings.push(`entry ${r.id}: its ${r.phase} line names another process or caller than its ${other.phase} line: skipped`);
      continue;
    }
    e[r.phase] = r;
  }
  const entries: LogEntry[] = [];
  for (const [id, { intent, outcome }] of byId) {
    const r = (outcome ?? intent)!;
    entries.push({
      id,
      atMs: Date.parse((intent ?? r).t),
      endedAtMs: outcome ? Date.parse(outcome.t) : null,
      host: r.host,
      by: r.by,
      asked: r.asked,
      run: r.run ?? null,
      task: r.task ?? null,
      pid: r.pid,
      start: r.start,
      job: r.job ?? null,
      owner: r.owner,
      cmd: r.cmd,
      reasons: r.reasons,
      signal: r.signal,
      via: r.via ?? null,
      outcome: outcome?.outcome ?? null,
      detail: outcome?.detail ?? null,
      sent: outcome?.sent ?? [],
    });
  }
  entries.sort((a, b) => a.atMs - b.atMs || (a.pid ?? 0) - (b.pid ?? 0) || (a.job ?? '').localeCompare(b.job ?? ''));
  return { entries, warnings };
}

export interface LogFilter {
  readonly sinceMs?: number;
  /** A user name or uid: the process's owner, or who asked (directly or through sudo). */
  readonly user?: string;
  readonly pid?: number;
  /** Any of these pids (the screen: the processes of its last action). */
  readonly pids?: readonly number[];
  readonly run?: string;
  /** The newest N (after the other filters). */
  readonly limit?: number;
}

function userMatches(u: string, e: LogEntry): boolean {
  const asUid = /^\d+$/.test(u) ? Number(u) : null;
  const names = [e.owner.user, e.by.user, e.by.sudoUser ?? null];
  const uids = [e.owner.uid, e.by.uid, e.by.sudoUid ?? null];
  return names.includes(u) || (asUid !== null && uids.includes(asUid));
}

export function filterLogEntries(entries: readonly LogEntry[], f: LogFilter): LogEntry[] {
  const out = entries.filter(
    (e) =>
      (f.sinceMs === undefined || (e.endedAtMs ?? e.atMs) >= f.sinceMs) &&
      (f.user === undefined || userMatches(f.user, e)) &&
      (f.pid === undefined || e.pid === f.pid) &&
      (f.pids === undefined || (e.pid !== null && f.pids.includes(e.pid))) &&
      (f.run === undefined || e.run === f.run),
  );
  return f.limit !== undefined && out.length > f.limit ? out.slice(out.length - f.limit) : out;
}

/** "1h", "30m", "2d", "45s", "1w" or an ISO date/time → ms since the epoch; null when it is neither. */
export function parseSince(text: string, nowMs: number): number | null {
  const m = /^(\d{1,9})([smhdw])$/.exec(text);
  if (m) return nowMs - Number(m[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) return null;
  const t = Date.parse(text.replace(' ', 'T'));
  return Number.isFinite(t) ? t : null;
}

/** "alice", "root via sudo alice": who asked. */
export function whoText(e: Pick<LogEntry, 'by'>): string {
  const me = e.by.user ?? `uid ${e.by.uid ?? '?'}`;
  return e.by.sudoUser ? `${me} via sudo ${e.by.sudoUser}` : me;
}

/** The owner of the process or job: its name, else its uid. */
function ownerText(e: Pick<LogEntry, 'owner'>): string {
  return e.owner.user ?? (e.owner.uid !== null ? String(e.owner.uid) : '?');
}

/** "pid 4711(alice)" or "job 123(alice)". */
export function targetText(e: Pick<LogEntry, 'pid' | 'job' | 'owner'>): string {
  return `${e.job !== null ? `job ${e.job}` : `pid ${e.pid ?? '?'}`}(${ownerText(e)})`;
}

/** "gone", "survived: still in D state", "not permitted", "no outcome recorded …". */
export function outcomeText(e: Pick<LogEntry, 'outcome' | 'detail'>): string {
  if (e.outcome === null) return 'no outcome recorded (reaper was stopped while acting, or could not log it)';
  const words = e.outcome === 'not-permitted' ? 'not permitted' : e.outcome === 'kill-pending' ? 'kill pending' : e.outcome === 'not-stopped' ? 'not stopped' : e.outcome;
  if (!e.detail || e.outcome === 'gone' || e.outcome === 'resumed') return words;
  return e.detail.startsWith(words) ? e.detail : `${words}: ${e.detail}`;
}

/** The most read from one file (a log rotates at 10 MB; a bigger one is read from its end). */
const READ_MAX = 64 * 1024 * 1024;

/**
 * One log file's text, read without following a link, only from a plain file owned by `uid`
 * (a log someone else could have written is no record of ours). null when it does not exist.
 */
function readAuditFile(file: string, uid: number, warn: (line: string) => void): string | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') warn(`reaper: ${sanitizeText(file)}: not read (${code === 'ELOOP' ? 'a symbolic link' : (code ?? (e as Error).message)})`);
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return (warn(`reaper: ${sanitizeText(file)}: not read (not a plain file)`), null);
    if (st.uid !== uid) return (warn(`reaper: ${sanitizeText(file)}: not read (belongs to uid ${st.uid}, not ${uid})`), null);
    const len = Math.min(st.size, READ_MAX);
    const buf = Buffer.alloc(len);
    let got = 0;
    while (got < len) {
      const n = readSync(fd, buf, got, len - got, st.size - len + got);
      if (n === 0) break;
      got += n;
    }
    let text = buf.subarray(0, got).toString('utf8');
    // Read from the middle of a big file: the first, partial line is not a line.
    if (st.size > len) text = text.slice(text.indexOf('\n') + 1);
    return text;
  } finally {
    closeSync(fd);
  }
}

export interface AuditLogsRead {
  /** Every entry of the logs read, oldest first. */
  readonly entries: LogEntry[];
  /** The files read (older file first). */
  readonly sources: string[];
  /** Lines skipped as not reaper's own shape. */
  readonly skipped: number;
}

/**
 * The user's own log (and, as root, the system-wide one) with their older files, merged: what
 * `reaper log` and the screen's log overlay read. `warn` gets one line per file not read and per
 * line skipped.
 */
export function readAuditLogs(env: NodeJS.ProcessEnv, euid: number, warn: (line: string) => void): AuditLogsRead {
  const logs: Array<{ file: string; uid: number }> = [{ file: auditUserPath(env), uid: euid }];
  if (euid === 0) {
    const system = auditSystemPath(env);
    if (system !== logs[0]!.file) logs.push({ file: system, uid: 0 });
  }
  const records: AuditRecord[] = [];
  const sources: string[] = [];
  let skipped = 0;
  for (const { file, uid } of logs) {
    for (const f of [`${file}.1`, file]) {
      const text = readAuditFile(f, uid, warn);
      if (text === null) continue;
      sources.push(f);
      const parsed = parseAuditText(text, f);
      records.push(...parsed.records);
      skipped += parsed.warnings.length;
      for (const w of parsed.warnings) warn(`reaper: ${w}`);
    }
  }
  const built = buildLogEntries(records);
  for (const w of built.warnings) warn(`reaper: ${sanitizeText(w)}`);
  return { entries: built.entries, sources, skipped };
}
