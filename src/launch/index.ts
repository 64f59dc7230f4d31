/** Public face of the launcher: batch config, run records, launching, stopping, containment. */
export { parseBatchConfig, resolveBatchGpus, batchPatterns, parseDuration, formatDuration, expandTemplate, placeholdersIn, BUILTIN_PLACEHOLDERS, type BatchConfig, type StageConfig, type TaskConfig, type GpuSpec, type StageOrder } from './config.js';
export { readBatchFile, loadBatchFile, driverBatch, driverName, MAX_BATCH_BYTES, MAX_DURATION_MS } from './config.js';
export { stateDir, runsDir, runDir, runPaths, newRunId, RUN_ID_RE, type RunPaths } from './paths.js';
export { readRuns, resolveRunId, readJournal, summarizeRun, JournalWriter, type JournalEvent, type LayerState } from './journal.js';
export { launchRun, checkPrograms, checkStateFolder, type LaunchOptions, type DriverOptions, type RunOutcome, type RunView, type GpuView, type TaskResult } from './launcher.js';
export { detectContainment, parseContainment, describeLayers, findCgroup2Mount, wrapArgv, type Containment, type ContainmentRequest, type LayerInfo, type LayerId } from './containment.js';
export { runGuardian, teardownRunFromJournal } from './guardian.js';
export { stopRun, type StopOptions, type StopResult } from './stop.js';
export { launchDetached, spawnDetachedLauncher } from './detach.js';
export { readDoctorReport, type DoctorReport, type DoctorCheck } from './doctor.js';
