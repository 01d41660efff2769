// Runs a measured function and its raw baseline with tinybench, alternated over several
// rounds so load from other processes on a shared machine falls on both alike.
import { Bench, type Fn } from 'tinybench';
import { KernelError, ErrorCode } from '../kernel/errors/index.ts';
import { median, note, nowMs } from './harness.ts';

/** Options of {@link paired}. */
export interface PairedOptions {
  /** Rounds of one tinybench run each; the task order flips every round. */
  readonly rounds: number;
  /** Time budget per task and round, in ms. */
  readonly timeMs: number;
  /** Calls made by one invocation of each function (a sample), to divide latencies by. */
  readonly batch?: number;
  /** Label for the progress lines on stderr. */
  readonly label: string;
}

/** Median latencies in ms per call: of the measured function and of the baseline. */
export interface PairedResult {
  readonly ours: number;
  readonly raw: number;
}

/**
 * Measures `ours` and `raw` (each making `batch` calls per invocation) and returns, for each,
 * the median over rounds of tinybench's per-round median sample latency, divided by `batch`.
 * Throws `INTERNAL` when a task fails.
 */
export async function paired(ours: Fn, raw: Fn, options: PairedOptions): Promise<PairedResult> {
  const batch = options.batch ?? 1;
  const oursP50: number[] = [];
  const rawP50: number[] = [];
  for (let round = 0; round < options.rounds; round += 1) {
    const bench = new Bench({ time: options.timeMs, warmupTime: Math.min(100, options.timeMs / 4), throws: true });
    const order: Array<[string, Fn]> = [['ours', ours], ['raw', raw]];
    for (const [name, fn] of round % 2 === 0 ? order : order.reverse()) bench.add(name, fn);
    await bench.run();
    oursP50.push(p50Of(bench, 'ours') / batch);
    rawP50.push(p50Of(bench, 'raw') / batch);
  }
  const result = { ours: median(oursP50), raw: median(rawP50) };
  note(`${options.label}: ours ${(result.ours * 1000).toFixed(2)} µs, raw ${(result.raw * 1000).toFixed(2)} µs per call (${options.rounds} rounds)`);
  return result;
}

function p50Of(bench: Bench, name: string): number {
  const r = bench.getTask(name)?.result;
  if (r?.state !== 'completed') throw new KernelError(ErrorCode.Internal, `Cannot read the result of task "${name}" as it is ${r?.state ?? 'missing'}`);
  return r.latency.p50;
}

/**
 * Measures `ours` and `raw` call by call, alternating A B B A … for `calls` pairs after
 * `warmup` pairs, and returns the median latency in ms of each. For I/O-bound calls that
 * allocate large buffers: both then meet the same garbage-collector and page-cache state,
 * where separate tinybench tasks can leave one task paying for the other's garbage.
 */
export async function interleaved(ours: () => Promise<unknown>, raw: () => Promise<unknown>, options: { calls: number; warmup: number; label: string }): Promise<PairedResult> {
  const oursMs: number[] = [];
  const rawMs: number[] = [];
  const time = async (fn: () => Promise<unknown>, into: number[] | null): Promise<void> => {
    const t0 = nowMs();
    await fn();
    into?.push(nowMs() - t0);
  };
  for (let i = 0; i < options.warmup + options.calls; i += 1) {
    const keep = i >= options.warmup;
    if (i % 2 === 0) {
      await time(ours, keep ? oursMs : null);
      await time(raw, keep ? rawMs : null);
    } else {
      await time(raw, keep ? rawMs : null);
      await time(ours, keep ? oursMs : null);
    }
  }
  const result = { ours: median(oursMs), raw: median(rawMs) };
  note(`${options.label}: ours ${(result.ours * 1000).toFixed(2)} µs, raw ${(result.raw * 1000).toFixed(2)} µs per call (${options.calls} interleaved pairs)`);
  return result;
}
