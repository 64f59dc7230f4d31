/**
 * Runs the parsers and the classifier over every real nvidia-smi sample in
 * ../shared/fixtures/nvidia-smi (see its SOURCES.md) when that folder exists: each must be
 * parsed or classified, and nothing may throw. Skipped when the folder is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { identifyNvidiaSmiText, classifyOutcome } from '../../src/probe/nvidia-classify.js';
import { parseCsvNoHeader, parseCsvWithHeader } from '../../src/probe/nvidia-csv.js';
import { parseComputeApps, parseComputeAppsWithHeader, parseListGpus, parseQueryGpu, parseQueryGpuWithHeader } from '../../src/probe/nvidia-parse.js';
import { parseGpuInformation } from '../../src/probe/nvidia-info.js';
import { sharedFixtures } from '../helpers/gpu-helpers.js';

const present = existsSync(join(sharedFixtures, 'SOURCES.md'));
const read = (f: string): string => readFileSync(join(sharedFixtures, f), 'utf8');

/** Field lists of the noheader samples, from SOURCES.md. */
const NOHEADER_FIELDS: Record<string, { kind: 'gpu' | 'compute-apps'; fields: string[] }> = {
  'query-gpu-csv-noheader-nounits-8xTITANX-driver-2016.txt': {
    kind: 'gpu',
    fields: ['index', 'uuid', 'name', 'temperature.gpu', 'utilization.gpu', 'memory.used', 'memory.total'],
  },
  'query-gpu-csv-noheader-nounits-fan-na-newer-driver.txt': {
    kind: 'gpu',
    fields: ['memory.total', 'memory.free', 'memory.used', 'temperature.gpu', 'fan.speed', 'utilization.gpu', 'utilization.memory'],
  },
  'query-gpu-csv-noheader-nounits-fan-not-supported-old-driver.txt': {
    kind: 'gpu',
    fields: ['memory.total', 'memory.free', 'memory.used', 'temperature.gpu', 'fan.speed', 'utilization.gpu', 'utilization.memory'],
  },
  'query-gpu-csv-noheader-nounits-GB10-memory-na.txt': { kind: 'gpu', fields: ['memory.used', 'memory.total', 'utilization.memory'] },
  'query-gpu-csv-loop-noheader-nounits-polybar.txt': { kind: 'gpu', fields: ['temperature.gpu', 'utilization.gpu', 'utilization.memory'] },
  'query-compute-apps-csv-noheader-nounits-GB10-uuid-elided.txt': { kind: 'compute-apps', fields: ['gpu_uuid', 'pid', 'process_name', 'used_memory'] },
};

const ERROR_KINDS: Record<string, string> = {
  'error-device-handle-gpu-is-lost.txt': 'gpu-lost',
  'error-device-handle-unknown-error-2015-spaced-busid.txt': 'gpu-lost',
  'error-device-handle-unknown-error-2024-unspaced-busid.txt': 'gpu-lost',
  'error-driver-communication-wsl-nvml-shutdown.txt': 'driver-not-reachable',
  'error-driver-communication.txt': 'driver-not-reachable',
  'error-invalid-field-exit2-on-stdout.txt': 'invalid-field',
  'error-no-devices-were-found.txt': 'no-devices',
  'error-nvml-driver-library-version-mismatch-exit18.txt': 'version-mismatch',
  'error-nvml-no-supported-gpus-exit255.txt': 'no-devices',
  'error-topo-m-missing-value-windows-exit255.txt': 'unknown',
};

test('every shared nvidia-smi sample is parsed or classified, none throws', { skip: present ? false : 'no ../shared/fixtures/nvidia-smi' }, () => {
  const files = readdirSync(sharedFixtures).filter((f) => f !== 'SOURCES.md');
  assert.ok(files.length > 0);
  for (const f of files) {
    const text = read(f);
    const id = identifyNvidiaSmiText(text);
    assert.notEqual(id.kind, 'unrecognised', `${f}: not recognised`);
    const kind: 'gpu' | 'compute-apps' = f.includes('compute-apps') ? 'compute-apps' : 'gpu';
    if (f in ERROR_KINDS) {
      // Non-zero exit (most codes were not recorded; any non-zero one will do).
      const e = classifyOutcome({ exitCode: 255, stdout: text, stderr: '' });
      assert.ok(e, f);
      assert.equal(e.kind, ERROR_KINDS[f], `${f}: ${e.message}`);
      assert.ok(!e.message.includes('\n'));
      continue;
    }
    // Outputs of successful calls are not failures.
    assert.equal(classifyOutcome({ exitCode: 0, stdout: text, stderr: '' }), null, f);
    if (id.kind === 'csv-header') {
      const r = parseCsvWithHeader(text, kind);
      assert.deepEqual(r.skipped, [], `${f}: unparsed lines`);
      if (kind === 'gpu') {
        const g = parseQueryGpuWithHeader(text);
        assert.equal(g.gpus.length, r.rows.length, f);
      } else {
        const a = parseComputeAppsWithHeader(text);
        assert.equal(a.apps.length, r.rows.length, f);
      }
    } else if (id.kind === 'csv-rows') {
      const spec = NOHEADER_FIELDS[f];
      if (spec) {
        const r = parseCsvNoHeader(text, spec.kind, spec.fields);
        assert.deepEqual(r.skipped, [], f);
        assert.ok(r.rows.length > 0, f);
      } else {
        // Field list unknown (not given by the source): every row has the same column count.
        const counts = new Set(text.split('\n').filter((l) => l.trim() !== '').map((l) => l.split(', ').length));
        assert.equal(counts.size, 1, f);
      }
    } else if (id.kind === 'information') {
      const info = parseGpuInformation(text);
      assert.ok(info.busId !== null, f);
    } else if (id.kind === 'list') {
      assert.ok(parseListGpus(text).length > 0, f);
    }
  }
});

test('shared samples: values come out right', { skip: present ? false : 'no ../shared/fixtures/nvidia-smi' }, () => {
  const h100 = parseQueryGpuWithHeader(read('query-gpu-csv-allfields-1xH100-driver590-load.txt')).gpus[0]!;
  assert.equal(h100.name, 'NVIDIA H100 80GB HBM3');
  assert.equal(h100.busId, '0000:00:09.0');
  assert.equal(h100.utilizationGpu, 100);
  assert.equal(h100.memoryUsedMiB, 19818);
  assert.equal(h100.memoryTotalMiB, 81559);
  assert.equal(h100.powerDrawW, 631.95);
  assert.equal(h100.powerLimitW, 700);
  assert.equal(h100.persistenceMode, true);
  assert.equal(h100.migMode, 'Disabled');

  const mig = parseQueryGpuWithHeader(read('query-gpu-csv-allfields-1xH100-MIG-driver590-load.txt')).gpus[0]!;
  assert.equal(mig.migMode, 'Enabled');
  assert.equal(mig.utilizationGpu, null);
  assert.equal(mig.missing['utilization.gpu'], '[N/A]');

  const win = parseQueryGpuWithHeader(read('query-gpu-csv-allfields-windows-RTX2080S-driver610-function-not-found.txt')).gpus[0]!;
  assert.equal(win.persistenceMode, null);
  assert.equal(win.busId, '0000:0c:00.0');

  const reset = parseQueryGpuWithHeader(read('query-gpu-csv-gpu-requires-reset-memory-zero.txt')).gpus[0]!;
  assert.equal(reset.temperatureC, null);
  assert.equal(reset.missing['temperature.gpu'], '[GPU requires reset]');
  assert.equal(reset.memoryUsedMiB, null, '"0 MiB" next to [GPU requires reset] is not a reading');

  const win442 = parseCsvWithHeader(read('query-gpu-csv-nounits-unknown-error-power-default-limit-win442.txt'), 'gpu');
  assert.equal(win442.rows[0]!['power.default_limit'], '[Unknown Error]');
  assert.equal(win442.rows[0]!['name'], 'GeForce RTX 2080 Ti');

  const p100 = parseQueryGpuWithHeader(read('query-gpu-csv-nounits-header-keeps-units-TeslaP100.txt')).gpus[0]!;
  assert.equal(p100.memoryUsedMiB, 0);
  assert.equal(p100.powerDrawW, 28.16);

  const titan = parseQueryGpu(read('query-gpu-csv-noheader-nounits-8xTITANX-driver-2016.txt'), NOHEADER_FIELDS['query-gpu-csv-noheader-nounits-8xTITANX-driver-2016.txt']!.fields).gpus;
  assert.equal(titan.length, 8);
  assert.equal(titan[7]!.uuid, 'GPU-f199c9ea-65d8-5382-aefe-a9e8fb48057b');
  assert.equal(titan[1]!.memoryUsedMiB, 10032);

  const apps = parseComputeAppsWithHeader(read('query-compute-apps-csv-H100-MIG-3procs-driver590.txt')).apps;
  assert.deepEqual(
    apps.map((a) => [a.pid, a.processName, a.usedMemoryMiB]),
    [
      [21180, '/root/tools/memhog', 2296],
      [21181, '/root/tools/memhog', 1272],
      [21198, './gpu_burn', 7484],
    ],
  );
  const wddm = parseComputeAppsWithHeader(read('query-compute-apps-csv-windows-wddm-memory-na-driver591.txt')).apps;
  assert.equal(wddm.length, 12);
  assert.ok(wddm.every((a) => a.usedMemoryMiB === null));
  assert.ok(wddm.some((a) => a.processName === 'C:\\Program Files\\NZXT CAM\\NZXT CAM.exe'));
  const aliases = parseComputeAppsWithHeader(read('query-compute-apps-csv-host-pid-40170-aliases.txt')).apps;
  assert.deepEqual(aliases[0], { gpuUuid: '', pid: 40170, processName: '/opt/rh/rh-python38/root/usr/bin/python3', usedMemoryMiB: 185 });
  const gb10 = parseComputeApps(read('query-compute-apps-csv-noheader-nounits-GB10-uuid-elided.txt'), ['gpu_uuid', 'pid', 'process_name', 'used_memory']).apps;
  assert.equal(gb10[0]!.usedMemoryMiB, 19135);

  const l4 = parseGpuInformation(read('proc-driver-nvidia-gpus-information-L4-with-device-minor.txt'), '0000:70:00.0');
  assert.equal(l4.minor, 0);
  assert.equal(l4.busId, '0000:70:00.0');
  const gtx = parseGpuInformation(read('proc-driver-nvidia-gpus-information-GTX650-no-device-minor.txt'), '0000:04:00.0');
  assert.equal(gtx.minor, null);
  assert.equal(gtx.uuid, 'GPU-e3f822b9-8c5f-95a5-b379-8dfdeefd7758');

  const list = parseListGpus(read('list-gpus-L-H100-MIG-4-instances.txt'));
  assert.equal(list[0]!.mig.length, 4);
});
