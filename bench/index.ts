export {
  BenchResultSchema,
  TargetSchema,
  machineInfo,
  median,
  meetsTarget,
  note,
  nowMs,
  percentile,
  report,
  result,
  round,
  type BenchResult,
  type MachineInfo,
  type Target,
} from './harness.ts';
export { hasHyperfine, timeCommands, type Cmd, type TimeOptions } from './proc-time.ts';
export {
  ResultsFileSchema,
  StoredResultSchema,
  TABLE_END,
  TABLE_START,
  formatValue,
  mergeResults,
  parseResultLine,
  renderTable,
  replaceTable,
  type ResultsFile,
  type StoredResult,
} from './report-files.ts';
export { writeAstridCopy, writeBareCli } from './cli-fixture.ts';
export { BENCH_ORIGIN, BENCH_SOURCE, busEvent, mixedEvent, payload } from './events.ts';
