/** `reaper log`'s pure part lives in src/actions/audit-read.ts (the screen's log overlay reads it too). */
export { auditRecordProblem, buildLogEntries, filterLogEntries, parseAuditText, parseSince,    } from '../../actions/audit-read.js';
