/**
 * `ls --hosts`: every host's checked document merged into one. Each process, GPU and run carries
 * its `host`; `hosts[]` says per host whether it answered, why not, how long it took and which
 * reaper answered. Pure.
 */
import type { LsDocument, LsJsonProcess } from '../render/ls-json.js';
import type { LsRun } from '../render/ls-runs.js';
import type { HostError } from './fanout.js';
import type { HostLsDocument } from './ls-validate.js';
import { LS_SCHEMA } from './version.js';

/** One host's answer (or failure) as the fan-out got it. */
export interface HostLsResult {
  readonly name: string;
  readonly latencyMs: number;
  readonly doc: HostLsDocument | null;
  readonly error: HostError | null;
}

interface HostStatus {
  readonly name: string;
  readonly ok: boolean;
  readonly error: HostError | null;
  readonly latencyMs: number;
  /** The reaper that answered (from its document); null when none did. */
  readonly reaperVersion: string | null;
  readonly gpuProbe: LsDocument['gpuProbe'] | null;
  readonly slurm: HostLsDocument['slurm'];
}

export interface MergedLsDocument {
  readonly reaperVersion: string;
  readonly lsSchema: number;
  readonly hosts: HostStatus[];
  readonly gpus: Array<{ host: string } & LsDocument['gpus'][number]>;
  readonly processes: Array<{ host: string } & LsJsonProcess>;
  readonly runs: Array<{ host: string } & LsRun>;
}

export function mergeLs(results: readonly HostLsResult[], reaperVersion: string): MergedLsDocument {
  const merged: MergedLsDocument = { reaperVersion, lsSchema: LS_SCHEMA, hosts: [], gpus: [], processes: [], runs: [] };
  for (const r of results) {
    const ok = r.doc !== null && r.error === null;
    merged.hosts.push({
      name: r.name,
      ok,
      error: ok ? null : (r.error ?? { kind: 'garbage', message: 'no answer' }),
      latencyMs: r.latencyMs,
      reaperVersion: r.doc?.reaperVersion ?? null,
      gpuProbe: r.doc?.gpuProbe ?? null,
      slurm: r.doc?.slurm ?? null,
    });
    if (!ok || !r.doc) continue;
    // `host` first: a reader of the JSON sees where a row comes from before anything else.
    for (const g of r.doc.gpus) merged.gpus.push({ host: r.name, ...g });
    for (const p of r.doc.processes) merged.processes.push({ host: r.name, ...p });
    for (const run of r.doc.runs) merged.runs.push({ host: r.name, ...run });
  }
  return merged;
}

/** 0 when every host answered; `failedCode` when some did not (their lines say why). */
export function lsHostsExitCode(doc: MergedLsDocument, failedCode: number): number {
  return doc.hosts.every((h) => h.ok) ? 0 : failedCode;
}
