import { cpus, platform, release, totalmem } from 'node:os';
import * as v from 'valibot';

/** A bound a figure should meet: `of` names the field it applies to. */
export const TargetSchema = v.object({
  of: v.picklist(['value', 'ratio']),
  op: v.picklist(['>=', '<=']),
  bound: v.pipe(v.number(), v.finite()),
});
/** A bound a figure should meet, such as `ratio >= 0.7`. */
export type Target = v.InferOutput<typeof TargetSchema>;

/**
 * One figure, as a bench prints it (one JSON line on stdout): `value` in `unit`, the raw
 * library's figure measured in the same run as `baseline` (null when there is none), and
 * `ratio` = value / baseline. For a time, a ratio above 1 is slower than the baseline; for a
 * rate, below 1 is slower. `target` and `note` are optional.
 */
export const BenchResultSchema = v.object({
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(120)),
  value: v.pipe(v.number(), v.finite()),
  unit: v.pipe(v.string(), v.minLength(1), v.maxLength(40)),
  baseline: v.nullable(v.pipe(v.number(), v.finite())),
  ratio: v.nullable(v.pipe(v.number(), v.finite())),
  target: v.optional(TargetSchema),
  note: v.optional(v.pipe(v.string(), v.maxLength(300))),
});
/** One benchmark figure. */
export type BenchResult = v.InferOutput<typeof BenchResultSchema>;

/** Current monotonic time in milliseconds, from `process.hrtime.bigint()`. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** The median of a non-empty list (the mean of the middle two for an even length). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * The `p`-th percentile (0–100) by the nearest-rank method: the smallest value with at
 * least p% of the values at or below it. NaN for an empty list.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? Number.NaN;
}

/** Rounds to `digits` significant digits, so results.json stays readable. */
export function round(value: number, digits = 4): number {
  return value === 0 || !Number.isFinite(value) ? value : Number(value.toPrecision(digits));
}

/**
 * Builds a result from a measured value and its same-run baseline, rounding both and
 * computing the ratio (null without a baseline).
 */
export function result(
  name: string,
  value: number,
  unit: string,
  baseline: number | null,
  extra: { target?: Target; note?: string } = {},
): BenchResult {
  const ratio = baseline === null || baseline === 0 ? null : round(value / baseline, 3);
  return { name, value: round(value), unit, baseline: baseline === null ? null : round(baseline), ratio, ...extra };
}

/** Prints one result as a JSON line on stdout: the only thing a bench writes there. */
export function report(r: BenchResult): void {
  process.stdout.write(`${JSON.stringify(v.parse(BenchResultSchema, r))}\n`);
}

/** Writes a progress or diagnostic line to stderr (stdout is reserved for results). */
export function note(text: string): void {
  process.stderr.write(`  ${text}\n`);
}

/** Whether a result meets its target; null when it has none. */
export function meetsTarget(r: BenchResult): boolean | null {
  if (r.target === undefined) return null;
  const x = r.target.of === 'ratio' ? r.ratio : r.value;
  if (x === null) return null;
  return r.target.op === '>=' ? x >= r.target.bound : x <= r.target.bound;
}

/** The machine a run happened on, for the results header. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memGiB: number;
  readonly os: string;
  readonly node: string;
}

/** Describes this machine (CPU model and count, memory, OS, Node version). */
export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
  };
}
