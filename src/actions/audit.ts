/**
 * The audit log: every signal reaper sends is recorded before it goes out ("intent") and
 * completed after ("outcome"), as JSON lines with the same entry id. The log is append-only:
 * one JSON object per line, one write() on an O_APPEND fd, never rewritten, rotated by size.
 *
 *   user:   $XDG_STATE_HOME/reaper/audit.jsonl (default ~/.local/state/reaper), 0600, folder 0700
 *   root:   also /var/log/reaper/audit.jsonl (REAPER_AUDIT_SYSTEM overrides), 0640, folder 0750,
 *           and each finished entry to syslog through `logger -t reaper` where logger exists
 *
 * Files are opened without following links (O_NOFOLLOW) in a folder that must be the user's own
 * and not writable by group or others. Logging never stands between a confirmed kill and its
 * signal: a log that cannot be opened or written is reported once on stderr (and in `problems`),
 * and the signals go out all the same. Who asked is passed in (AuditContext), never global.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sanitizeText } from '../model/sanitize.js';
import { createUserDb, type UserDb } from '../probe/users.js';

const AUDIT_FILE = 'audit.jsonl';
const AUDIT_SYSTEM_DEFAULT = '/var/log/reaper/audit.jsonl';
/** Past this size the log moves to audit.jsonl.1 (replacing the older one) and starts afresh. */
export const AUDIT_ROTATE_BYTES = 10 * 1024 * 1024;
/** No line longer than this is written, nor believed when read. */
export const AUDIT_LINE_MAX = 8192;
export const AUDIT_CMD_MAX = 512;
const TEXT_MAX = 300;
const SYSLOG_DEADLINE_MS = 5000;

/** What became of a process: `skipped` and `not-permitted` carry the why in `detail`. */
export const AUDIT_OUTCOMES = ['gone', 'survived', 'kill-pending', 'resumed', 'not-stopped', 'skipped', 'not-permitted'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export interface AuditUser {
  readonly uid: number | null;
  readonly user: string | null;
}

/** Who ran reaper: the real uid, and who they were before sudo. */
export interface AuditInvoker extends AuditUser {
  readonly sudoUser?: string;
  readonly sudoUid?: number;
}

/** One line of audit.jsonl (version 1). An outcome line repeats the intent's fields. */
export interface AuditRecord {
  readonly v: 1;
  readonly id: string;
  readonly phase: 'intent' | 'outcome';
  /** ISO time of this line. */
  readonly t: string;
  readonly host: string;
  readonly by: AuditInvoker;
  /** What asked: "reap --leftovers", "key K", "stop RUN", "teardown of run X task 1 train: timeout 2 s". */
  readonly asked: string;
  readonly run?: string;
  readonly task?: string;
  /** null for a Slurm job (then `job` names it). */
  readonly pid: number | null;
  /** Start time (clock ticks after boot): with the pid, the process's identity; null for a job. */
  readonly start: number | null;
  /** A Slurm job's id (scancel'd: no pid of it is signalled by reaper itself); `cmd` is its name. */
  readonly job?: string;
  readonly owner: AuditUser;
  readonly cmd: string;
  /** Reason codes (leftover reasons) or the selector that made it a target. */
  readonly reasons: readonly string[];
  /** The signal the action means (SIGKILL, SIGTERM, SIGCONT). */
  readonly signal: string;
  /** How it was delivered when not by kill(2) from reaper: "cgroup.kill /sys/fs/cgroup/…". */
  readonly via?: string;
  readonly outcome?: AuditOutcome;
  readonly detail?: string;
  /** Signals actually sent, in order (SIGSTOP, SIGKILL …); [] when none was. */
  readonly sent?: readonly string[];
}

/** Where audit lines go; one per command (or per run), opened lazily. */
export interface AuditLog {
  readonly by: AuditInvoker;
  readonly host: string;
  append(r: AuditRecord): void;
  /** Why a log could not be written (each reported once on stderr); empty when all went well. */
  readonly problems: readonly string[];
  /** Hands finished entries to syslog (root), detached, with a deadline; never waits. */
  flushSyslog(): void;
  /** uid → name, for owners found while acting. */
  nameOf(uid: number | null): string | null;
}

/** Who asked for the signals, passed down explicitly from the command, key or teardown. */
export interface AuditContext {
  readonly asked: string;
  readonly run?: string;
  readonly task?: string;
  /** Why the targets were chosen when they carry no reasons of their own (selector, run member). */
  readonly reasons?: readonly string[];
  readonly log: AuditLog;
}

/** $XDG_STATE_HOME/reaper/audit.jsonl, else ~/.local/state/reaper/audit.jsonl (as stateDir). */
export function auditUserPath(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_STATE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'reaper', AUDIT_FILE);
  const home = env.HOME && env.HOME !== '' ? env.HOME : os.homedir();
  return path.join(home, '.local', 'state', 'reaper', AUDIT_FILE);
}

/** The system-wide log (root only): REAPER_AUDIT_SYSTEM when absolute, else /var/log/reaper/audit.jsonl. */
export function auditSystemPath(env: NodeJS.ProcessEnv): string {
  const p = env.REAPER_AUDIT_SYSTEM;
  return p && path.isAbsolute(p) ? p : AUDIT_SYSTEM_DEFAULT;
}

function clip(s: string, max = TEXT_MAX): string {
  const t = sanitizeText(s);
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function clipName(name: string | null | undefined): string | null {
  return name ? clip(name, 64) : null;
}

function readInvoker(env: NodeJS.ProcessEnv, users: UserDb): AuditInvoker {
  const uid = process.getuid?.() ?? null;
  const by: { -readonly [K in keyof AuditInvoker]: AuditInvoker[K] } = { uid, user: clipName(users.nameOf(uid)) };
  if (by.user === null) {
    try {
      by.user = clipName(os.userInfo().username);
    } catch {
      /* no passwd entry: the uid says it */
    }
  }
  if (env.SUDO_USER) by.sudoUser = clip(env.SUDO_USER, 64);
  if (env.SUDO_UID && /^\d{1,10}$/.test(env.SUDO_UID)) by.sudoUid = Number(env.SUDO_UID);
  return by;
}

/** Checks (and creates) a log folder: a real folder, ours, not writable by group or others. */
function checkFolder(dir: string, mode: number, euid: number): void {
  mkdirSync(dir, { recursive: true, mode });
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) throw new Error(`${dir} is a symbolic link`);
  if (!st.isDirectory()) throw new Error(`${dir} is not a folder`);
  if (st.uid !== euid) throw new Error(`${dir} belongs to uid ${st.uid}, not ${euid}`);
  if ((st.mode & 0o022) !== 0) throw new Error(`${dir} is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`);
}

/** Opens a log file for appending, never through a link; only a plain file of ours with one name. */
function openLogFile(file: string, mode: number, euid: number): number {
  const fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`${file} is not a plain file`);
    if (st.uid !== euid) throw new Error(`${file} belongs to uid ${st.uid}, not ${euid}`);
    if (st.nlink !== 1) throw new Error(`${file} has ${st.nlink} names (a hard link)`);
    if ((st.mode & 0o777) !== mode) fchmodSync(fd, mode);
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function errWhy(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return 'it is a symbolic link: not followed';
  if (code === 'ENOSPC') return 'no space left on the device';
  if (code === 'EISDIR') return 'it is a folder';
  const msg = (e as Error).message;
  return code && !msg.startsWith(code) ? `${code}: ${msg}` : msg;
}

interface Sink {
  readonly file: string;
  readonly mode: number;
  readonly dirMode: number;
  fd: number | null;
  broken: boolean;
}

/** Finds `logger` on PATH (as root only); null when there is none. */
function findLogger(env: NodeJS.ProcessEnv): string | null {
  for (const d of (env.PATH ?? '/usr/bin:/bin').split(':')) {
    if (!d || !path.isAbsolute(d)) continue;
    const p = path.join(d, 'logger');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

export interface OpenAuditOptions {
  /** Where problems are reported once (default: process.stderr). */
  readonly warn?: (line: string) => void;
}

/** The audit log of this process's user (and, as root, the system log and syslog). Opens nothing until the first line. */
export function openAuditLog(env: NodeJS.ProcessEnv = process.env, opts: OpenAuditOptions = {}): AuditLog {
  const euid = process.geteuid?.() ?? -1;
  const users = createUserDb();
  const by = readInvoker(env, users);
  const host = clip(os.hostname(), 255);
  const warn =
    opts.warn ??
    ((line: string): void => {
      try {
        process.stderr.write(line + '\n');
      } catch {
        /* no stderr */
      }
    });
  const sinks: Sink[] = [{ file: auditUserPath(env), mode: 0o600, dirMode: 0o700, fd: null, broken: false }];
  if (euid === 0) sinks.push({ file: auditSystemPath(env), mode: 0o640, dirMode: 0o750, fd: null, broken: false });
  const problems: string[] = [];
  const syslogLines: string[] = [];
  const fail = (s: Sink, e: unknown): void => {
    s.broken = true;
    if (s.fd !== null) {
      try {
        closeSync(s.fd);
      } catch {
        /* closed */
      }
      s.fd = null;
    }
    const p = `audit log ${sanitizeText(s.file)}: ${sanitizeText(errWhy(e))}`;
    problems.push(p);
    warn(`reaper: cannot write the ${p}; signals are sent all the same, unrecorded there`);
  };
  const open = (s: Sink): number => {
    checkFolder(path.dirname(s.file), s.dirMode, euid);
    return openLogFile(s.file, s.mode, euid);
  };
  const write = (s: Sink, buf: Buffer): void => {
    if (s.broken) return;
    try {
      s.fd ??= open(s);
      const st = fstatSync(s.fd);
      if (st.ino !== lstatSync(s.file).ino) {
        // Another reaper rotated the log under us: append to the new file, not the old one.
        closeSync(s.fd);
        s.fd = null;
        s.fd = open(s);
      } else if (st.size + buf.length > AUDIT_ROTATE_BYTES) {
        // Keep one older file; a reaper writing concurrently through its old fd ends up in .1.
        renameSync(s.file, `${s.file}.1`);
        closeSync(s.fd);
        s.fd = null;
        s.fd = open(s);
      }
      const n = writeSync(s.fd, buf);
      if (n !== buf.length) throw Object.assign(new Error(`short write (${n} of ${buf.length} bytes)`), { code: 'ENOSPC' });
    } catch (e) {
      fail(s, e);
    }
  };
  return {
    by,
    host,
    problems,
    nameOf: (uid) => users.nameOf(uid),
    append(r) {
      let line = JSON.stringify(r);
      if (line.length + 1 > AUDIT_LINE_MAX) line = JSON.stringify({ ...r, cmd: r.cmd.slice(0, 80), reasons: r.reasons.slice(0, 4), detail: r.detail?.slice(0, 200) });
      const buf = Buffer.from(line + '\n', 'utf8');
      for (const s of sinks) write(s, buf);
      if (euid === 0 && r.phase === 'outcome') syslogLines.push(syslogText(r));
    },
    flushSyslog() {
      if (syslogLines.length === 0) return;
      const lines = syslogLines.splice(0);
      const logger = findLogger(env);
      if (!logger) return;
      try {
        const child = spawn(logger, ['-t', 'reaper', '-p', 'authpriv.notice'], { stdio: ['pipe', 'ignore', 'ignore'], detached: true, env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
        child.on('error', () => undefined);
        child.stdin?.on('error', () => undefined);
        // A syslog that hangs never holds reaper up: killed after the deadline if reaper is still here.
        const timer = setTimeout(() => child.kill('SIGKILL'), SYSLOG_DEADLINE_MS);
        timer.unref();
        child.once('exit', () => clearTimeout(timer));
        child.stdin?.end(lines.join('\n') + '\n');
        child.unref();
      } catch (e) {
        problems.push(`syslog (${logger}): ${sanitizeText(errWhy(e))}`);
      }
    },
  };
}

/** One syslog message per finished entry: who, what asked, which process, signal, outcome, why. */
function syslogText(r: AuditRecord): string {
  const who = `${r.by.user ?? `uid ${r.by.uid ?? '?'}`}${r.by.sudoUser ? ` (sudo from ${r.by.sudoUser})` : ''}`;
  const owner = r.owner.user ?? (r.owner.uid !== null ? `uid ${r.owner.uid}` : '?');
  const outcome = r.detail && (r.outcome === 'skipped' || r.outcome === 'not-permitted' || r.outcome === 'survived') ? `${r.outcome}: ${r.detail}` : (r.outcome ?? '?');
  const target = r.job !== undefined ? `slurm job ${r.job}` : `pid ${r.pid}`;
  const text = `${who} [${r.asked}] ${r.signal}${r.via ? ` (${r.via})` : ''} ${target}(${owner}) ${r.cmd.slice(0, 120)}: ${outcome}; reasons: ${r.reasons.join(',') || '-'}; id=${r.id}`;
  return sanitizeText(text).slice(0, 900);
}

/** What one audited process is (or, with `job`, one Slurm job: pid and startTime null). */
export interface AuditTarget {
  readonly pid: number | null;
  readonly startTime: number | null;
  readonly job?: string;
  readonly uid: number | null;
  readonly user?: string | null;
  readonly cmd: string;
  readonly reasons?: readonly string[];
}

/** An open entry: written as intent, closed by `outcome`. */
export interface AuditEntry {
  readonly id: string;
  /** Signals sent so far (the caller adds to it). */
  readonly sent: string[];
  readonly base: Omit<AuditRecord, 'phase' | 't' | 'outcome' | 'detail' | 'sent'>;
  closed: boolean;
}

/** Builds entries for one command's signals; `ctx` says who asked. */
export class AuditTrail {
  constructor(readonly ctx: AuditContext) {}

  private base(t: AuditTarget, signal: string, via?: string): AuditEntry['base'] {
    const { log } = this.ctx;
    const reasons = (t.reasons && t.reasons.length > 0 ? t.reasons : (this.ctx.reasons ?? [])).slice(0, 16).map((x) => clip(x, 120));
    return {
      v: 1,
      id: randomBytes(8).toString('hex'),
      host: log.host,
      by: log.by,
      asked: clip(this.ctx.asked),
      ...(this.ctx.run !== undefined ? { run: clip(this.ctx.run, 64) } : {}),
      ...(this.ctx.task !== undefined ? { task: clip(this.ctx.task, 120) } : {}),
      pid: t.pid,
      start: t.startTime,
      ...(t.job !== undefined ? { job: t.job } : {}),
      owner: { uid: t.uid, user: clipName(t.user ?? log.nameOf(t.uid)) },
      cmd: clip(t.cmd.trim(), AUDIT_CMD_MAX), // a rewritten process title can end in padding
      reasons,
      signal,
      ...(via !== undefined ? { via: clip(via) } : {}),
    };
  }

  /** Appends the intent line; call right before the first signal to `t`. */
  intent(t: AuditTarget, signal: string, via?: string): AuditEntry {
    const base = this.base(t, signal, via);
    const e: AuditEntry = { id: base.id, sent: [], base, closed: false };
    this.ctx.log.append({ ...base, phase: 'intent', t: new Date().toISOString() });
    return e;
  }

  /** Appends the outcome line of an open entry (once). */
  outcome(e: AuditEntry, outcome: AuditOutcome, detail: string | null): void {
    if (e.closed) return;
    e.closed = true;
    this.ctx.log.append({ ...e.base, phase: 'outcome', t: new Date().toISOString(), outcome, ...(detail ? { detail: clip(detail) } : {}), sent: [...e.sent] });
  }

  /** A decision without a signal (a planned target left alone, already gone): one outcome line. */
  unsignalled(t: AuditTarget, signal: string, outcome: AuditOutcome, detail: string | null): void {
    const base = this.base(t, signal);
    this.outcome({ id: base.id, sent: [], base, closed: false }, outcome, detail);
  }
}

/** The signal an action means, for the log. */
export function actionSignal(action: 'kill' | 'term' | 'cont'): string {
  return action === 'kill' ? 'SIGKILL' : action === 'term' ? 'SIGTERM' : 'SIGCONT';
}

/** A context for callers that name nobody (a library user): the log still gets every signal. */
export function defaultAuditContext(asked = `reaper (pid ${process.pid})`): AuditContext {
  return { asked, log: openAuditLog(process.env) };
}
