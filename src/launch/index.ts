/** Public face of the launcher: batch config, run records, launching, stopping, containment. */
export { parseBatchConfig, resolveBatchGpus, batchPatterns, parseDuration, formatDuration, expandTemplate, placeholdersIn, BUILTIN_PLACEHOLDERS, type BatchConfig, type StageConfig, type TaskConfig, type GpuSpec, type StageOrder } from './config.js';
export { stateDir, runsDir, runDir, runPaths, newRunId, RUN_ID_RE, assertRunId, ensureStateDir, createRunDir, type RunPaths } from './paths.js';
export { readRuns, readRunsReport, resolveRunId, listRunIds, readJournal, readRunJournal, parseJournal, summarizeRun, claimRunEnd, JournalWriter, RUN_ID_MIN_PREFIX, type JournalEvent, type LayerState, type SkippedRun } from './journal.js';
export { inspectStateDir, inspectRunFolder, trustRun, readTrustedText, type TrustedRun } from './run-trust.js';
export { endAbandonedRun, appendRunEnd, type EndAbandonedResult } from './run-end.js';
export { launchRun, checkPrograms, checkStateFolder, type LaunchOptions, type DriverOptions, type RunOutcome, type RunView, type GpuView, type TaskResult } from './launcher.js';
export { readBatchFile, loadBatchFile, driverBatch, driverName, MAX_BATCH_BYTES, MAX_DURATION_MS } from './config.js';
export { Scheduler, type StageStart, type StageEnd, type EndDecision } from './scheduler.js';
export { createLocalExecutor, type LocalExecutorOptions } from './executors/local.js';
export type { Executor, ExecutorStage, StageRequest, StartRecord, StartResult, StageExit, Observation, RunRecord } from './executor.js';
export { detectContainment, parseContainment, describeLayers, findCgroup2Mount, wrapArgv, type Containment, type ContainmentRequest, type LayerInfo, type LayerId } from './containment.js';
export { runGuardian, teardownRunFromJournal, type RunTeardownResult } from './guardian.js';
export { stopRun, type StopOptions, type StopResult } from './stop.js';
export { launchDetached, spawnDetachedLauncher } from './detach.js';
export { readDoctorReport, type DoctorReport, type DoctorCheck } from './doctor.js';
export { readRunHistory, readRunHistories, readJournalRecords, readStderrTail, attachStderrTails, readRunLiveness, buildRunHistory, formatRunHistoryLines, formatTaskCounts, formatLocalTime, formatMs, stageWhy, type RunHistory, type RunHistoryEntry, type UnreadableRun, type TaskHistory, type StageHistory, type StderrTail, type TaskCounts } from './history.js';
