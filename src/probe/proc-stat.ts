/**
 * /proc/<pid>/stat: parse (pure) and read (sync, one reused buffer).
 *
 * The comm field is free text up to 15 bytes and may itself contain ") (" or spaces, so the
 * fixed fields are parsed after the LAST ')' (htop, procps and bottom do the same).
 */
import type { StateLetter } from '../model/proc.js';
import { DENIED, GONE, readSmall } from './proc-read.js';
import { parseStatusBytes } from './proc-status.js';

export interface RawStat {
  readonly pid: number;
  /** Raw kernel comm (not sanitised). */
  readonly comm: string;
  readonly state: StateLetter;
  readonly ppid: number;
  readonly pgid: number;
  readonly sid: number;
  readonly ttyNr: number;
  readonly tpgid: number;
  /** PF_* flags (field 9). */
  readonly flags: number;
  readonly utime: number;
  readonly stime: number;
  readonly priority: number;
  readonly nice: number;
  readonly numThreads: number;
  /** Field 22: clock ticks since boot. */
  readonly startTime: number;
  readonly vsizeBytes: number;
  readonly rssPages: number;
  /** Fields 26 and 28: where the text segment and the stack start. They change on exec (ASLR);
   * the kernel shows 0 to readers without ptrace access. */
  readonly startCode: number;
  readonly startStack: number;
}

/** PF_KTHREAD in include/linux/sched.h. */
export const PF_KTHREAD = 0x00200000;

const STATES = new Set<string>(['R', 'S', 'D', 'T', 't', 'Z', 'X', 'x', 'I', 'P', 'W', 'K']);

function toState(c: string): StateLetter | null {
  if (!STATES.has(c)) return null;
  // 'x' (dead, very old kernels) is shown by ps as is; the model has only 'X'.
  return (c === 'x' ? 'X' : c) as StateLetter;
}

/** Parse the text of /proc/<pid>/stat. Returns null when it is not a stat line. */
export function parseStat(text: string): RawStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 1 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  if (!Number.isInteger(pid) || pid < 0) return null;
  const rest = text.slice(close + 2).trim().split(' ');
  // rest[0] is field 3 (state); field N is rest[N - 3]. We need up to field 28 (startstack).
  if (rest.length < 26) return null;
  const state = toState(rest[0]!);
  if (state === null) return null;
  const n = (field: number): number => Number(rest[field - 3]);
  const out: RawStat = {
    pid,
    comm: text.slice(open + 1, close),
    state,
    ppid: n(4),
    pgid: n(5),
    sid: n(6),
    ttyNr: n(7),
    tpgid: n(8),
    flags: n(9),
    utime: n(14),
    stime: n(15),
    priority: n(18),
    nice: n(19),
    numThreads: n(20),
    startTime: n(22),
    vsizeBytes: n(23),
    rssPages: n(24),
    startCode: n(26),
    startStack: n(28),
  };
  for (const v of Object.values(out)) if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return out;
}

/** Mutable twin of RawStat filled by the byte parser (no per-field allocation). */
export type MutableRawStat = { -readonly [K in keyof RawStat]: RawStat[K] };

export function emptyRawStat(): MutableRawStat {
  return {
    pid: 0, comm: '', state: 'S', ppid: 0, pgid: 0, sid: 0, ttyNr: 0, tpgid: 0, flags: 0, utime: 0, stime: 0,
    priority: 0, nice: 0, numThreads: 0, startTime: 0, vsizeBytes: 0, rssPages: 0, startCode: 0, startStack: 0,
  };
}

/**
 * The same parse straight from the bytes read (the scanner's hot path): no string for the
 * whole line, only for comm. Fills `out` and returns true, or false when malformed.
 */
export function parseStatBytes(buf: Buffer, len: number, out: MutableRawStat): boolean {
  let i = 0;
  let pid = 0;
  while (i < len) {
    const c = buf[i]!;
    if (c < 48 || c > 57) break;
    pid = pid * 10 + (c - 48);
    i++;
  }
  if (i === 0 || buf[i] !== 0x20 || buf[i + 1] !== 0x28) return false;
  const open = i + 1;
  const close = buf.lastIndexOf(0x29, len - 1);
  if (close < open) return false;
  let p = close + 2;
  if (p >= len) return false;
  const st = toState(String.fromCharCode(buf[p]!));
  if (st === null) return false;
  out.pid = pid;
  out.comm = buf.toString('utf8', open + 1, close);
  out.state = st;
  p += 2;
  // Walk fields 4..28 in order.
  for (let field = 4; field <= 28; field++) {
    let neg = false;
    let v = 0;
    if (buf[p] === 0x2d) {
      neg = true;
      p++;
    }
    const start = p;
    while (p < len) {
      const c = buf[p]!;
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      p++;
    }
    if (p === start) return false;
    if (neg) v = -v;
    switch (field) {
      case 4: out.ppid = v; break;
      case 5: out.pgid = v; break;
      case 6: out.sid = v; break;
      case 7: out.ttyNr = v; break;
      case 8: out.tpgid = v; break;
      case 9: out.flags = v; break;
      case 14: out.utime = v; break;
      case 15: out.stime = v; break;
      case 18: out.priority = v; break;
      case 19: out.nice = v; break;
      case 20: out.numThreads = v; break;
      case 22: out.startTime = v; break;
      case 23: out.vsizeBytes = v; break;
      case 24: out.rssPages = v; break;
      case 26: out.startCode = v; break;
      case 28: out.startStack = v; break;
      default: break;
    }
    p++; // the space
  }
  return true;
}

/** Inputs of `ps -o stat`. */
export interface StatFlagsInput {
  readonly state: string;
  readonly nice: number;
  /** VmLck from status, KiB (0 or absent: no 'L'). */
  readonly lockedKiB: number;
  readonly pid: number;
  readonly sid: number;
  readonly threads: number;
  readonly pgid: number;
  readonly tpgid: number;
}

/**
 * The STAT column exactly as procps-ng's pr_stat() composes it: state letter, then
 * '<' (nice < 0) or 'N' (nice > 0), 'L' (locked pages), 's' (session leader),
 * 'l' (multithreaded), '+' (in the foreground process group of its terminal).
 */
export function formatStat(s: StatFlagsInput): string {
  let out = s.state;
  if (s.nice < 0) out += '<';
  if (s.nice > 0) out += 'N';
  if (s.lockedKiB > 0) out += 'L';
  if (s.sid === s.pid) out += 's';
  if (s.threads > 1) out += 'l';
  if (s.pgid === s.tpgid) out += '+';
  return out;
}

export function isKernelThreadStat(s: Pick<RawStat, 'pid' | 'ppid' | 'flags'>): boolean {
  return (s.flags & PF_KTHREAD) !== 0 || s.pid === 2 || s.ppid === 2;
}

const statBuf = Buffer.allocUnsafe(4096);
const statusBuf = Buffer.allocUnsafe(8192);

/** Read and parse /proc/<pid>/stat now; null when the process is gone or unreadable. */
export function readStatSync(pid: number): RawStat | null {
  const n = readSmall(`/proc/${pid}/stat`, statBuf);
  if (n === GONE || n === DENIED || n <= 0) return null;
  const out = emptyRawStat();
  return parseStatBytes(statBuf, n, out) ? out : null;
}

export interface ProcIdentity {
  readonly pid: number;
  readonly startTime: number;
  readonly state: StateLetter;
  readonly ppid: number;
  readonly pgid: number;
  /** Real uid from status; null when unreadable. */
  readonly uid: number | null;
}

/**
 * What the reap code re-checks right before each signal: the identity (pid + start time),
 * its state, parent, group and owner. Null when the process is gone.
 */
export function readProcIdentity(pid: number): ProcIdentity | null {
  const st = readStatSync(pid);
  if (!st) return null;
  let uid: number | null = null;
  const n = readSmall(`/proc/${pid}/status`, statusBuf);
  if (n === GONE) return null;
  if (n > 0) uid = parseStatusBytes(statusBuf, n).uid;
  return { pid: st.pid, startTime: st.startTime, state: st.state, ppid: st.ppid, pgid: st.pgid, uid };
}
