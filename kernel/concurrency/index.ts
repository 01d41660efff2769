export { KeyedSerial } from './keyed-serial.ts';
export { workerEntry, type WorkerEntry } from './worker-entry.ts';
