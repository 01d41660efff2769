import * as v from 'valibot';
import { BenchResultSchema, meetsTarget, type BenchResult, type MachineInfo, type Target } from './harness.ts';

/** Where the README table starts and ends; everything between is rewritten by `npm run bench`. */
export const TABLE_START = '<!-- bench:start -->';
/** See {@link TABLE_START}. */
export const TABLE_END = '<!-- bench:end -->';

/** The machine a figure was measured on. */
export const MachineSchema = v.object({ cpu: v.string(), cores: v.number(), memGiB: v.number(), os: v.string(), node: v.string() });

/** A stored figure: a bench result plus the bench file it came from, when and where it ran. */
export const StoredResultSchema = v.object({ bench: v.string(), date: v.string(), machine: MachineSchema, ...BenchResultSchema.entries });
/** A stored figure. */
export type StoredResult = v.InferOutput<typeof StoredResultSchema>;

/**
 * `bench/results.json`: a list of every figure as
 * `{name, value, unit, baseline, ratio, target?, note?, bench, date, machine}`, so runs can
 * be compared figure by figure.
 */
export const ResultsFileSchema = v.array(StoredResultSchema);
/** The content of `bench/results.json`. */
export type ResultsFile = v.InferOutput<typeof ResultsFileSchema>;

/** Parses one line a bench printed: a result, or null for any other line (passed through as a log). */
export function parseResultLine(line: string): BenchResult | null {
  const text = line.trim();
  if (!text.startsWith('{')) return null;
  try {
    const parsed = v.safeParse(BenchResultSchema, JSON.parse(text));
    return parsed.success ? parsed.output : null;
  } catch {
    return null;
  }
}

/**
 * The new results list: this run's figures, plus the previous list's figures of benches not
 * run this time (so `--only` refreshes one bench and keeps the rest), in bench order.
 */
export function mergeResults(previous: ResultsFile | null, ran: readonly string[], fresh: readonly StoredResult[]): ResultsFile {
  const kept = (previous ?? []).filter((r) => !ran.includes(r.bench));
  return [...kept, ...fresh].sort((a, b) => (a.bench < b.bench ? -1 : a.bench > b.bench ? 1 : 0));
}

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** A value for the table: whole numbers grouped for rates, one decimal for milliseconds. */
export function formatValue(value: number, unit: string): string {
  if (Math.abs(value) >= 1000) return `${grouped.format(value)} ${unit}`;
  if (Math.abs(value) >= 10) return `${value.toFixed(1)} ${unit}`;
  return `${Number(value.toPrecision(3))} ${unit}`;
}

function formatTarget(t: Target, unit: string): string {
  const op = t.op === '>=' ? '≥' : '≤';
  return t.of === 'ratio' ? `ratio ${op} ${t.bound}` : `${op} ${formatValue(t.bound, unit)}`;
}

function met(r: BenchResult): string {
  const ok = meetsTarget(r);
  return ok === null ? '' : ok ? 'yes' : '**no**';
}

/** The Markdown table of results, with a line saying when and where they were measured. */
export function renderTable(results: ResultsFile): string {
  const dates = results.map((r) => r.date.slice(0, 10)).sort();
  const first = dates[0] ?? '';
  const last = dates[dates.length - 1] ?? '';
  const machines = [...new Set(results.map((r) => JSON.stringify(r.machine)))].map((text) => v.parse(MachineSchema, JSON.parse(text)));
  const where = machines.map((m) => `${m.cores} × ${m.cpu}, ${m.memGiB} GiB, ${m.os}, Node ${m.node}`).join('; ');
  const lines = [
    `Measured ${first === last ? first : `${first} to ${last}`} on ${where}. ` +
      'Ratios compare with the raw library measured in the same run (for times, above 1 is slower).',
    '',
    '| Benchmark | Result | Baseline (same run) | Ratio | Target | Met |',
    '| --- | ---: | ---: | ---: | --- | --- |',
  ];
  for (const r of results) {
    const baseline = r.baseline === null ? '' : formatValue(r.baseline, r.unit);
    const ratio = r.ratio === null ? '' : `${r.ratio}×`;
    const target = r.target === undefined ? '' : formatTarget(r.target, r.unit);
    lines.push(`| \`${r.name}\` | ${formatValue(r.value, r.unit)} | ${baseline} | ${ratio} | ${target} | ${met(r)} |`);
  }
  return lines.join('\n');
}

/**
 * Replaces what lies between the table markers in `readme` with `table`. A README without
 * the markers gets a `## Benchmarks` section holding them at its end; nothing else changes.
 */
export function replaceTable(readme: string, table: string): string {
  const block = `${TABLE_START}\n${table}\n${TABLE_END}`;
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END, start);
  if (start !== -1 && end !== -1) return readme.slice(0, start) + block + readme.slice(end + TABLE_END.length);
  const sep = readme.length === 0 ? '' : readme.endsWith('\n\n') ? '' : readme.endsWith('\n') ? '\n' : '\n\n';
  return `${readme}${sep}## Benchmarks\n\n${block}\n`;
}
