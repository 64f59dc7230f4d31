/**
 * /proc/driver/nvidia/gpus/<busid>/information: maps a GPU (bus id, uuid) to its
 * /dev/nvidia<minor>. The minor number is not the PCI order (shared sample: two A5000s with
 * minors swapped), and old drivers have no "Device Minor:" line at all (then null).
 * Parse pure, read thin.
 */
import { readdir, readFile } from 'node:fs/promises';
import { normalizeBusId } from './nvidia-parse.js';

export interface GpuInformation {
  /** Normalised bus id: from "Bus Location:", else from the directory name. */
  readonly busId: string | null;
  readonly uuid: string | null;
  readonly model: string | null;
  readonly minor: number | null;
}

export function parseGpuInformation(text: string, dirName?: string): GpuInformation {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    fields.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  const minorText = fields.get('device minor');
  const minor = minorText !== undefined && /^\d+$/.test(minorText) ? Number(minorText) : null;
  const bus = fields.get('bus location');
  const busId = (bus ? normalizeBusId(bus) : null) ?? (dirName ? normalizeBusId(dirName) : null);
  const uuid = fields.get('gpu uuid');
  const model = fields.get('model');
  return { busId, uuid: uuid && uuid !== '' ? uuid : null, model: model && model !== '' ? model : null, minor };
}

const NVIDIA_GPUS_DIR = '/proc/driver/nvidia/gpus';

/** Reads every GPU's information file; [] when the driver (or /proc entry) is absent. Never throws. */
export async function readGpuInformation(dir: string = NVIDIA_GPUS_DIR): Promise<GpuInformation[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out = await Promise.all(
    names.map(async (name) => {
      try {
        return parseGpuInformation(await readFile(`${dir}/${name}/information`, 'utf8'), name);
      } catch {
        return null;
      }
    }),
  );
  return out.filter((x): x is GpuInformation => x !== null);
}

/** Fills GpuInfo.minor: by uuid first (exact), else by normalised bus id. Pure. */
export function attachMinors<T extends { readonly uuid: string; readonly busId: string | null; readonly minor: number | null }>(
  gpus: readonly T[],
  info: readonly GpuInformation[],
): T[] {
  if (info.length === 0) return [...gpus];
  return gpus.map((g) => {
    const hit = info.find((i) => i.uuid !== null && i.uuid === g.uuid) ?? info.find((i) => i.busId !== null && i.busId === g.busId);
    return hit && hit.minor !== null ? { ...g, minor: hit.minor } : g;
  });
}
