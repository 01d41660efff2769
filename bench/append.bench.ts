// Durable append: EventLog.append with many appends in flight, against raw lmdb-js durable
// batched puts of exactly the same record strings, alternated in one process.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { open } from 'lmdb';
import type { NewEvent } from '../kernel/events/index.ts';
import { openEventLog, type EventLog } from '../kernel/log/index.ts';
import { RecordWriter } from '../kernel/log/record.ts';
import { allProjections } from '../projections/index.ts';
import { tempDir } from '../test/support/temp-dir.ts';
import { ErrorCode, KernelError } from '../kernel/errors/index.ts';
import { GENESIS_HASH } from '../kernel/events/index.ts';
import { BENCH_ORIGIN, busEvent } from './events.ts';
import type { FloorChunk, FloorDone } from './floor-worker.ts';
import { median, note, nowMs, report, result } from './harness.ts';

const N = 100_000; // events per timed run
const WINDOW = 1_000; // appends in flight at once
const PAIRS = 5; // alternated log/raw runs
const SEQUENTIAL_N = 300; // events for the one-at-a-time figure (each waits for an fsync)
const SEQUENTIAL_PAIRS = 3;
const FLOOR_CHUNK = 250; // events encoded per turn by the floor appender

/** How a timed run hands one round of events to the log. */
type Round = (log: EventLog, events: readonly NewEvent[]) => Promise<unknown>;

/** One append call per event, the whole round in flight at once. */
const singleAppends: Round = (log, events) => Promise.all(events.map((e) => log.append([e])));
/** The whole round as one unit: one append call. */
const oneUnit: Round = (log, events) => log.append(events);

/** Appends `events` to a fresh log in rounds of `window`, each awaited before the next; returns events/s. */
async function runLog(dir: string, events: readonly NewEvent[], window: number, round: Round = singleAppends): Promise<number> {
  await using log = await openEventLog({ path: join(dir, 'log.mdb'), create: { origin: BENCH_ORIGIN }, projections: allProjections });
  await log.append([events[0] ?? busEvent(0)]); // warm the environment: not timed
  const t0 = nowMs();
  for (let i = 0; i < events.length; i += window) await round(log, events.slice(i, i + window));
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

/**
 * The floor under any appender that keeps this log's format: per event only what the format
 * itself requires (serialize the data, build the canonical body, SHA-256 it onto the chain),
 * with the log's own encoder, and the most favourable use of lmdb-js we measured: plain puts
 * in chunks of {@link FLOOR_CHUNK}, a turn between chunks so each chunk's commit overlaps
 * the next one's encoding, then `flushed` per round. No validation, projections, envelopes,
 * per-append promises or write lock around the head: the log can only be slower.
 */
async function runFloor(dir: string, events: readonly NewEvent[], window: number): Promise<number> {
  const root = open({ path: join(dir, 'floor.mdb'), maxDbs: 64, compression: false });
  try {
    const db = root.openDB<string, number>('events', { encoding: 'string' });
    await db.put(1, 'warm');
    await root.flushed;
    const writer = new RecordWriter();
    let seq = 1;
    let prev = GENESIS_HASH;
    const t0 = nowMs();
    for (let i = 0; i < events.length; i += window) {
      const ts = Date.now();
      let last: Promise<boolean> = Promise.resolve(true);
      for (let c = i; c < Math.min(i + window, events.length); c += FLOOR_CHUNK) {
        if (c > i) await new Promise((resolve) => setImmediate(resolve));
        for (const e of events.slice(c, Math.min(c + FLOOR_CHUNK, i + window))) {
          const record = writer.write({ seq: ++seq, origin: BENCH_ORIGIN, ts, type: e.type, v: e.v, source: e.source, subject: e.subject, dataJson: JSON.stringify(e.data), prev });
          prev = writer.hash;
          last = db.put(seq, record);
        }
      }
      await last;
      await root.flushed;
    }
    return (events.length / (nowMs() - t0)) * 1000;
  } finally {
    await root.close();
  }
}

/** Starts the floor's worker (through a tsx bootstrap when running from sources) and waits until it is ready. */
async function startFloorWorker(path: string): Promise<Worker> {
  const url = new URL('./floor-worker.ts', import.meta.url);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { path, origin: BENCH_ORIGIN } });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  return worker;
}

/**
 * The floor again, with the work split across two threads: the main thread serializes each
 * chunk of {@link FLOOR_CHUNK} events and posts it; a worker builds, hashes and puts the
 * records and answers with their hashes once durable, which the main thread hands out.
 */
async function runFloorWorker(dir: string, events: readonly NewEvent[], window: number): Promise<number> {
  const path = join(dir, 'floor-worker.mdb');
  const root = open({ path, maxDbs: 64, compression: false });
  const worker = await startFloorWorker(path);
  try {
    const db = root.openDB<string, number>('events', { encoding: 'string' });
    await db.put(1, 'warm');
    await root.flushed;
    // A worker that fails or exits fails every chunk still waiting, rather than hanging the bench.
    let failed: unknown = null;
    const waiting = new Map<number, { resolve: (hashes: string) => void; reject: (error: unknown) => void }>();
    const failAll = (error: unknown): void => {
      failed = error;
      for (const w of waiting.values()) w.reject(error);
      waiting.clear();
    };
    worker.on('message', (done: FloorDone) => {
      waiting.get(done.first)?.resolve(done.hashes);
      waiting.delete(done.first);
    });
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new KernelError(ErrorCode.Internal, `The floor worker exited with code ${code}`)));
    let seq = 1;
    let handed = 0;
    const t0 = nowMs();
    for (let i = 0; i < events.length; i += window) {
      const ts = Date.now();
      const answers: Array<Promise<string>> = [];
      for (let c = i; c < Math.min(i + window, events.length); c += FLOOR_CHUNK) {
        const chunk = events.slice(c, Math.min(c + FLOOR_CHUNK, i + window));
        const head = chunk[0] ?? busEvent(0);
        const message: FloorChunk = {
          first: seq + 1, ts, type: head.type, v: head.v, source: head.source,
          subjects: chunk.map((e) => e.subject ?? '').join('\n'),
          data: chunk.map((e) => JSON.stringify(e.data)).join('\n'),
        };
        if (failed !== null) throw failed;
        answers.push(new Promise((resolve, reject) => waiting.set(message.first, { resolve, reject })));
        worker.postMessage(message);
        seq += chunk.length;
      }
      // Each event's envelope gets its own hash, as the log's would.
      const own: string[] = [];
      for (const hashes of await Promise.all(answers)) for (let h = 0; h < hashes.length; h += 64) own.push(hashes.slice(h, h + 64));
      handed += own.length;
    }
    const rate = (events.length / (nowMs() - t0)) * 1000;
    if (handed !== events.length) throw new KernelError(ErrorCode.Internal, `The worker floor answered ${handed} of ${events.length} events`);
    return rate;
  } finally {
    await worker.terminate();
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
  () => fresh((d) => runLog(d, events, WINDOW, oneUnit)),
  () => fresh((d) => runRaw(d, records, WINDOW)),
);
report(
  result('append.durable.units', units.a, 'events/s', units.b, {
    note: `EventLog.append of ${WINDOW} events as one unit, awaited before the next, vs the same raw puts + flushed`,
  }),
);

const floor = await alternate(
  PAIRS,
  () => fresh((d) => runFloor(d, events, WINDOW)),
  () => fresh((d) => runRaw(d, records, WINDOW)),
);
report(
  result('append.durable.floor', floor.a, 'events/s', floor.b, {
    note: `the format's own work alone (serialize, canonical body, SHA-256 chain; puts in chunks of ${FLOOR_CHUNK}), the ceiling for any appender's ratio, vs the same raw puts + flushed`,
  }),
);

const floorWorker = await alternate(
  PAIRS,
  () => fresh((d) => runFloorWorker(d, events, WINDOW)),
  () => fresh((d) => runRaw(d, records, WINDOW)),
);
report(
  result('append.durable.floor.worker', floorWorker.a, 'events/s', floorWorker.b, {
    note: `the floor split across two threads: main serializes, a worker builds, hashes and puts (chunks of ${FLOOR_CHUNK}), vs the same raw puts + flushed`,
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
