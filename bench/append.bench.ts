// Durable append: EventLog.append against raw lmdb-js durable batched puts of exactly the same
// record strings, and the floor any appender of this format stands on. Each comparison opens
// both sides on fresh environments and alternates them round by round (A B B A …), so load
// from other processes on a shared machine falls on both alike.
import { join } from 'node:path';
import { open } from 'lmdb';
import type { NewEvent } from '../kernel/events/index.ts';
import { tempDir } from '../test/support/temp-dir.ts';
import { floorAppender, floorTxnAppender, floorWorkerAppender, FLOOR_CHUNK, logAppender, rawAppender, type Appender } from './append-sides.ts';
import { busEvent } from './events.ts';
import { note, nowMs, report, result } from './harness.ts';

const N = 100_000; // events per pass
const WINDOW = 1_000; // events per round: appends in flight at once
const WARM_ROUNDS = 5; // rounds of each pass left untimed
const PASSES = 3; // fresh passes per comparison; the one with the median ratio is reported
const SEQUENTIAL_N = 300; // events for the one-at-a-time figure (each waits for an fsync)

/** Opens an appender on a directory. */
type Open = (dir: string) => Promise<Appender>;

/** Rates (events/s) of the two sides of one pass. */
interface Pass {
  readonly a: number;
  readonly b: number;
}

/**
 * One pass: opens both sides on fresh directories, then appends `n` events in rounds of
 * `window`, alternating the sides round by round; the first {@link WARM_ROUNDS} rounds are not
 * timed. Returns each side's rate over its timed rounds.
 */
async function pass(openA: Open, openB: Open, n: number, window: number): Promise<Pass> {
  await using dirA = await tempDir('astrid-bench-');
  await using dirB = await tempDir('astrid-bench-');
  await using a = await openA(dirA.path);
  await using b = await openB(dirB.path);
  const spent = { a: 0, b: 0 };
  let timed = 0;
  const time = async (side: 'a' | 'b', from: number, to: number, keep: boolean): Promise<void> => {
    const t0 = nowMs();
    await (side === 'a' ? a : b).round(from, to);
    if (keep) spent[side] += nowMs() - t0;
  };
  for (let r = 0, from = 0; from < n; r++, from += window) {
    const to = Math.min(from + window, n);
    const keep = r >= WARM_ROUNDS;
    if (keep) timed += to - from;
    const [first, second] = r % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    await time(first, from, to, keep);
    await time(second, from, to, keep);
  }
  return { a: (timed / spent.a) * 1000, b: (timed / spent.b) * 1000 };
}

/** {@link PASSES} passes (an odd number); returns the one whose ratio a/b is the median. */
async function compare(label: string, openA: Open, openB: Open, n: number, window: number): Promise<Pass> {
  const passes: Pass[] = [];
  for (let p = 0; p < PASSES; p++) {
    const r = await pass(openA, openB, n, window);
    passes.push(r);
    note(`${label} pass ${p + 1}/${PASSES}: ${Math.round(r.a)}/s vs raw ${Math.round(r.b)}/s (${(r.a / r.b).toFixed(3)})`);
  }
  const byRatio = passes.sort((x, y) => x.a / x.b - y.a / y.b);
  return byRatio[byRatio.length >> 1] ?? { a: 0, b: 0 };
}

/** Appends the events through a log once and returns the exact stored record strings, in order. */
async function recordsOf(events: readonly NewEvent[]): Promise<string[]> {
  await using dir = await tempDir('astrid-bench-');
  {
    await using log = await logAppender(dir.path, events, 'unit');
    for (let i = 0; i < events.length; i += WINDOW) await log.round(i, Math.min(i + WINDOW, events.length));
  }
  // The log is closed: reading its file now is the only opener, as the owner rule requires.
  // Seq 1 is the warm-up append; the events follow from seq 2.
  const root = open({ path: join(dir.path, 'log.mdb'), maxDbs: 64, compression: false });
  try {
    const db = root.openDB<string, number>('events', { encoding: 'string' });
    return [...db.getRange({ start: 2 })].map(({ value }) => value);
  } finally {
    await root.close();
  }
}

const events = Array.from({ length: N }, (_, i) => busEvent(i + 1));
const records = await recordsOf(events);
note(`${records.length} records, ${Math.round(records.reduce((s, r) => s + r.length, 0) / records.length)} chars each`);
const raw: Open = (dir) => rawAppender(dir, records);
const RAW = 'vs raw lmdb-js puts of the same records + flushed, alternated round by round';

const batched = await compare('batched', (dir) => logAppender(dir, events, 'single'), raw, N, WINDOW);
report(
  result('append.durable.batched', batched.a, 'events/s', batched.b, {
    target: { of: 'ratio', op: '>=', bound: 0.7 },
    note: `EventLog.append, ${WINDOW} single-event appends in flight per round, ${RAW}`,
  }),
);

const units = await compare('units', (dir) => logAppender(dir, events, 'unit'), raw, N, WINDOW);
report(result('append.durable.units', units.a, 'events/s', units.b, { note: `EventLog.append of ${WINDOW} events as one unit per round, ${RAW}` }));

const floor = await compare('floor', (dir) => floorAppender(dir, events), raw, N, WINDOW);
report(
  result('append.durable.floor', floor.a, 'events/s', floor.b, {
    note: `the format's own work alone (serialize, canonical body, SHA-256 chain; puts in chunks of ${FLOOR_CHUNK}): the ceiling for any appender, ${RAW}`,
  }),
);

const floorTxn = await compare('floor.txn', (dir) => floorTxnAppender(dir, events), raw, N, WINDOW);
report(
  result('append.durable.floor.txn', floorTxn.a, 'events/s', floorTxn.b, {
    note: `the floor run as the log runs: encoding and puts inside one transaction() per round, ${RAW}`,
  }),
);

const floorWorker = await compare('floor.worker', (dir) => floorWorkerAppender(dir, events), raw, N, WINDOW);
report(
  result('append.durable.floor.worker', floorWorker.a, 'events/s', floorWorker.b, {
    note: `the floor on two threads: main serializes and builds record prefixes, a worker chains, hashes and puts (chunks of ${FLOOR_CHUNK}), ${RAW}`,
  }),
);

const sequential = await compare('one-at-a-time', (dir) => logAppender(dir, events, 'single'), raw, SEQUENTIAL_N, 1);
report(
  result('append.durable.one-at-a-time', sequential.a, 'events/s', sequential.b, {
    note: 'each append awaited before the next (one fsync each), vs raw await put + flushed, alternated event by event',
  }),
);
