/** Public face of the effectful actions: identity-checked signalling and the reap executor. */
export { executeReap, type ExecuteOptions, type ReapOutcome, type ReapResult } from './execute.js';
export { teardown, type TeardownOptions } from './teardown.js';
export { sendSignal, notPermittedText, type SendOutcome } from './errno.js';
export { scanStats } from './proc-scan.js';
export {
  actionSignal, AuditTrail, auditSystemPath, auditUserPath, openAuditLog, AUDIT_LINE_MAX, AUDIT_OUTCOMES,
  type AuditContext, type AuditEntry, type AuditLog, type AuditOutcome, type AuditRecord,
} from './audit.js';
export { readAuditLogs, filterLogEntries, outcomeText, targetText, whoText, type LogEntry, type AuditLogsRead } from './audit-read.js';
