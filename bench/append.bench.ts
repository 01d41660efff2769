// Durable append: EventLog.append with many appends in flight, against raw lmdb-js durable
// batched puts of exactly the same record strings, alternated in one process.
import { join } from 'node:path';
import { open } from 'lmdb';
import type { NewEvent } from '../kernel/events/index.ts';
import { openEventLog } from '../kernel/log/index.ts';
import { allProjections } from '../projections/index.ts';
import { tempDir } from '../test/support/temp-dir.ts';
import { BENCH_ORIGIN, busEvent } from './events.ts';
import { median, note, nowMs, report, result } from './harness.ts';

const N = 100_000; // events per timed run
const WINDOW = 1_000; // appends in flight at once
const PAIRS = 5; // alternated log/raw runs
const SEQUENTIAL_N = 300; // events for the one-at-a-time figure (each waits for an fsync)
const SEQUENTIAL_PAIRS = 3;

/** Appends `events` one per call, `window` calls in flight; returns events/s and the stored records. */
async function runLog(dir: string, events: readonly NewEvent[], window: number): Promise<number> {
  await using log = await openEventLog({ path: join(dir, 'log.mdb'), create: { origin: BENCH_ORIGIN }, projections: allProjections });
  await log.append([events[0] ?? busEvent(0)]); // warm the environment: not timed
  const t0 = nowMs();
  for (let i = 0; i < events.length; i += window) {
    const inFlight: Array<Promise<unknown>> = [];
    for (let j = i; j < Math.min(i + window, events.length); j++) inFlight.push(log.append([events[j] ?? busEvent(j)]));
    await Promise.all(inFlight);
  }
  return (events.length / (nowMs() - t0)) * 1000;
}

/** Appends the events as units of `unit` events each (one append call per unit), one unit at a time. */
async function runLogUnits(dir: string, events: readonly NewEvent[], unit: number): Promise<number> {
  await using log = await openEventLog({ path: join(dir, 'log.mdb'), create: { origin: BENCH_ORIGIN }, projections: allProjections });
  await log.append([events[0] ?? busEvent(0)]); // warm the environment: not timed
  const t0 = nowMs();
  for (let i = 0; i < events.length; i += unit) await log.append(events.slice(i, i + unit));
  return (events.length / (nowMs() - t0)) * 1000;
}

/** Raw lmdb-js: the same environment options and DB encoding, `window` puts then `await flushed`. */
async function runRaw(dir: string, records: readonly string[], window: number): Promise<number> {
  const root = open({ path: join(dir, 'raw.mdb'), maxDbs: 64, compression: false });
  try {
    const db = root.openDB<string, number>('events', { encoding: 'string' });
    await db.put(1, records[0] ?? '');
    await root.flushed;
    const t0 = nowMs();
    for (let i = 0; i < records.length; i += window) {
      let last: Promise<boolean> = Promise.resolve(true);
      for (let j = i; j < Math.min(i + window, records.length); j++) last = db.put(j + 2, records[j] ?? '');
      await last;
      await root.flushed;
    }
    return (records.length / (nowMs() - t0)) * 1000;
  } finally {
    await root.close();
  }
}

/** Appends the events through a log once and returns the exact stored record strings (seq 2 on). */
async function recordsOf(events: readonly NewEvent[]): Promise<string[]> {
  await using dir = await tempDir('astrid-bench-');
  await runLog(dir.path, events, WINDOW);
  // The log is closed: reading its file now is the only opener, as the owner rule requires.
  const root = open({ path: join(dir.path, 'log.mdb'), maxDbs: 64, compression: false });
  try {
    const db = root.openDB<string, number>('events', { encoding: 'string' });
    return [...db.getRange({ start: 2 })].map(({ value }) => value);
  } finally {
    await root.close();
  }
}

/** Alternates `a` and `b` (starting with a different one each pair) and returns both medians. */
async function alternate(pairs: number, a: () => Promise<number>, b: () => Promise<number>): Promise<{ a: number; b: number }> {
  const as: number[] = [];
  const bs: number[] = [];
  for (let p = 0; p < pairs; p++) {
    if (p % 2 === 0) {
      as.push(await a());
      bs.push(await b());
    } else {
      bs.push(await b());
      as.push(await a());
    }
    note(`pair ${p + 1}/${pairs}: log ${Math.round(as.at(-1) ?? 0)}/s, raw ${Math.round(bs.at(-1) ?? 0)}/s`);
  }
  return { a: median(as), b: median(bs) };
}

async function fresh<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  await using dir = await tempDir('astrid-bench-');
  return fn(dir.path);
}

const events = Array.from({ length: N }, (_, i) => busEvent(i + 1));
const records = await recordsOf(events);
note(`${records.length} records, ${Math.round(records.reduce((s, r) => s + r.length, 0) / records.length)} chars each`);

const batched = await alternate(
  PAIRS,
  () => fresh((d) => runLog(d, events, WINDOW)),
  () => fresh((d) => runRaw(d, records, WINDOW)),
);
report(
  result('append.durable.batched', batched.a, 'events/s', batched.b, {
    target: { of: 'ratio', op: '>=', bound: 0.7 },
    note: `EventLog.append, ${WINDOW} single-event appends in flight, vs raw lmdb-js puts of the same records + flushed`,
  }),
);

const units = await alternate(
  PAIRS,
  () => fresh((d) => runLogUnits(d, events, WINDOW)),
  () => fresh((d) => runRaw(d, records, WINDOW)),
);
report(
  result('append.durable.units', units.a, 'events/s', units.b, {
    note: `EventLog.append of ${WINDOW} events as one unit, awaited before the next, vs the same raw puts + flushed`,
  }),
);

const seqEvents = events.slice(0, SEQUENTIAL_N);
const seqRecords = records.slice(0, SEQUENTIAL_N);
const sequential = await alternate(
  SEQUENTIAL_PAIRS,
  () => fresh((d) => runLog(d, seqEvents, 1)),
  () => fresh((d) => runRaw(d, seqRecords, 1)),
);
report(
  result('append.durable.one-at-a-time', sequential.a, 'events/s', sequential.b, {
    note: 'each append awaited before the next (one fsync each), vs raw await put + flushed',
  }),
);
