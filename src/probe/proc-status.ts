/** /proc/<pid>/status: only the lines the snapshot needs (real uid, VmLck, VmRSS, TracerPid). */
import { readFileSync, readlinkSync } from 'node:fs';

export interface RawStatus {
  /** Real uid (first column of Uid:); null when the line is missing. */
  readonly uid: number | null;
  /** VmLck in KiB; 0 when absent (kernel threads, zombies). */
  readonly lockedKiB: number;
  /** 0 when not traced; null when the line is missing. */
  readonly tracerPid: number | null;
  /**
   * VmRSS in KiB (what ps -o rss, top and psutil print; 0 when absent: kernel threads, zombies).
   * Not stat's field 24: that is the kernel's approximate per-CPU counter, about 10 % low.
   */
  readonly rssKiB: number;
}

function numberAfter(text: string, key: string): number | null {
  const at = text.indexOf(key);
  if (at < 0) return null;
  const m = /^\s*(-?\d+)/.exec(text.slice(at + key.length, at + key.length + 32));
  return m ? Number(m[1]) : null;
}

/** Parse the text of /proc/<pid>/status. */
export function parseStatus(text: string): RawStatus {
  const t = '\n' + text;
  return {
    uid: numberAfter(t, '\nUid:'),
    lockedKiB: numberAfter(t, '\nVmLck:') ?? 0,
    tracerPid: numberAfter(t, '\nTracerPid:'),
    rssKiB: numberAfter(t, '\nVmRSS:') ?? 0,
  };
}

const UID = Buffer.from('\nUid:');
const VMLCK = Buffer.from('\nVmLck:');
const TRACER = Buffer.from('\nTracerPid:');
const VMRSS = Buffer.from('\nVmRSS:');

function numberAtBytes(buf: Buffer, len: number, needle: Buffer, from: number): { value: number; end: number } | null {
  const at = buf.indexOf(needle, from);
  if (at < 0 || at >= len) return null;
  let p = at + needle.length;
  while (p < len && (buf[p] === 0x20 || buf[p] === 0x09)) p++;
  return decimalAt(buf, len, p);
}

/** The unsigned decimal that starts at `p` (no allocation: the scanner's hot path); null when none. */
function decimalAt(buf: Buffer, len: number, p: number): { value: number; end: number } | null {
  const start = p;
  let v = 0;
  while (p < len) {
    const c = buf[p]!;
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    p++;
  }
  return p === start ? null : { value: v, end: p };
}

/** The same from bytes (scanner hot path). Lines appear in the order TracerPid, Uid, …, VmLck, …, VmRSS. */
export function parseStatusBytes(buf: Buffer, len: number): RawStatus {
  const view = buf.subarray(0, len);
  const tracer = numberAtBytes(view, len, TRACER, 0);
  const uid = numberAtBytes(view, len, UID, tracer ? tracer.end : 0);
  const lck = numberAtBytes(view, len, VMLCK, uid ? uid.end : 0);
  const rss = numberAtBytes(view, len, VMRSS, lck ? lck.end : uid ? uid.end : 0);
  return { uid: uid ? uid.value : null, lockedKiB: lck ? lck.value : 0, tracerPid: tracer ? tracer.value : null, rssKiB: rss ? rss.value : 0 };
}

/** Resident pages from /proc/<pid>/statm (field 2): the same counters as VmRSS, a cheaper file. */
export function parseStatmResidentPages(buf: Buffer, len: number): number | null {
  let p = 0;
  while (p < len && buf[p] !== 0x20) p++;
  return decimalAt(buf, len, p + 1)?.value ?? null;
}

/**
 * What SIGTERM does to a process, from status: a PID namespace's init (NSpid ends in 1, and
 * the process sits in a nested namespace) is shielded by the kernel from signals sent from
 * outside for which it has no handler, so a SIGTERM with the default action is dropped.
 */
export interface TermDisposition {
  /** First process of a nested PID namespace (NSpid: "<outer> … 1"). */
  readonly namespaceInit: boolean;
  /** SIGTERM is neither caught nor ignored: it would terminate the process. */
  readonly termDefault: boolean;
}

const SIGTERM_BIT = 1n << 14n; // signal 15, bit 15-1 of the SigCgt/SigIgn masks

function hexMaskAfter(text: string, key: string): bigint | null {
  const m = new RegExp(`\\n${key}:\\s*([0-9a-fA-F]+)`).exec(text);
  return m ? BigInt('0x' + m[1]) : null;
}

export function parseTermDisposition(text: string): TermDisposition | null {
  const t = '\n' + text;
  const nspid = /\nNSpid:\s*([\d\s]+?)\s*(?:\n|$)/.exec(t)?.[1]?.trim().split(/\s+/) ?? [];
  const cgt = hexMaskAfter(t, 'SigCgt');
  const ign = hexMaskAfter(t, 'SigIgn');
  if (cgt === null || ign === null) return null;
  return {
    namespaceInit: nspid.length >= 2 && nspid[nspid.length - 1] === '1',
    termDefault: (cgt & SIGTERM_BIT) === 0n && (ign & SIGTERM_BIT) === 0n,
  };
}

/** Thin reader for parseTermDisposition; null when the process is gone or unreadable. */
export function readTermDisposition(pid: number): TermDisposition | null {
  try {
    return parseTermDisposition(readFileSync(`/proc/${pid}/status`, 'latin1'));
  } catch {
    return null;
  }
}

/** The PID namespace a process lives in ("pid:[4026531836]"); null when unreadable. */
export function readPidNamespace(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}
