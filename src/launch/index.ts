/** Public face of the launcher: batch config, run records, launching, stopping, containment. */
export { parseBatchConfig, resolveBatchGpus, batchPatterns, parseDuration, formatDuration, expandTemplate,   type BatchConfig,     } from './config.js';
export { stateDir, runPaths, newRunId, RUN_ID_RE, ensureStateDir } from './paths.js';
export { createRunDir } from './run-dir.js';
export { readRuns, readRunsReport, resolveRunId, listRunIds, readJournal, readRunJournal,  summarizeRun,  JournalWriter,  type JournalEvent,   } from './journal.js';
;
export { endAbandonedRun, appendRunEnd,  } from './run-end.js';
export { launchRun, checkPrograms, checkStateFolder,  type DriverOptions, type RunOutcome, type RunView,   } from './launcher.js';
export { loadBatchFile, driverBatch, MAX_DURATION_MS } from './config.js';
;
;
;
export { detectContainment, parseContainment, describeLayers, findCgroup2Mount, wrapArgv, type Containment,    } from './containment.js';
export { runGuardian,   } from './guardian.js';
export { stopRun,   } from './stop.js';
export { launchDetached, spawnDetachedLauncher } from './detach.js';
export { readDoctorReport,   } from './doctor.js';
export { readRunHistory, readRunHistories,      formatRunHistoryLines, formatTaskCounts, formatLocalTime, formatMs,  type RunHistory, type RunHistoryEntry,      } from './history.js';
