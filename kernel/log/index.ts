export { EventLog, LOG_FORMAT, openEventLog, type EventLogOptions, type Progress } from './event-log.ts';
export { sha256Hex } from './record.ts';
export type { VerifyReport } from './verify.ts';
