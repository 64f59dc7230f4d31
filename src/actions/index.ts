/** Public face of the effectful actions: identity-checked signalling and the reap executor. */
export { executeReap, type ReapResult } from './execute.js';
export { teardown, type RunGroup } from './teardown.js';
export { openAuditLog, type AuditContext } from './audit.js';
export { readAuditLogs, filterLogEntries, outcomeText, targetText, whoText } from './audit-read.js';
