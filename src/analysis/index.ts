/** Public face of the leftover analysis (pure: snapshot in, verdicts and plans out). */
export { analyze, deriveStateSince, gpuIndicesOf, DEFAULT_STUCK_AFTER_SEC, type AnalysisInput, type StateSince } from './explain.js';
export { deriveStopCause, describeStopCause } from './stop-cause.js';
export { protectionOf, protectionOfProc, type ProtectionOptions } from './protect.js';
export {
  planReap,
  planForPids,
  hasSelector,
  scopeText,
  type PlanOptions,
  type ReapAction,
  type ReapPlan,
  type ReapSelection,
  type ReapSkip,
  type ReapTarget,
  type ReapJob,
  type RunJobMember,
} from './plan.js';
export { DEFAULT_BATCH_PATTERNS, matchText, patternForScript } from './patterns.js';
export { adopterOf, daemonOf, orphanedAncestor, orphanFacts, orphanRootOf, serviceUnit, formatDuration } from './relations.js';
