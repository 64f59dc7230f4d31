/** Public face of the leftover analysis (pure: snapshot in, verdicts and plans out). */
export { analyze, deriveStateSince, type AnalysisInput, type StateEntry } from './explain.js';
;
export { protectionOf,   } from './protect.js';
export {
  planReap,
  planForPids,
  
  scopeText,
  
  
  type ReapPlan,
  type ReapSelection,
  
  type ReapTarget,
  type ReapJob,
  type RunJobMember,
} from './plan.js';
export { DEFAULT_BATCH_PATTERNS,  patternForScript } from './patterns.js';
export {  daemonOf,  knownDaemonOf,    serviceUnit,  } from './relations.js';
