// The appenders the append bench compares, each on its own fresh environment: the event log,
// raw lmdb-js puts of finished records, and the floor (the format's own work alone, on one
// thread or split across a worker). Each appends one round of events durably per call.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { open, type RootDatabase } from 'lmdb';
import { workerEntry } from '../kernel/concurrency/index.ts';
import { ErrorCode, KernelError } from '../kernel/errors/index.ts';
import { GENESIS_HASH, type NewEvent } from '../kernel/events/index.ts';
import { openEventLog } from '../kernel/log/index.ts';
import { RecordWriter, type RecordFields } from '../kernel/log/record.ts';
import { allProjections } from '../projections/index.ts';
import { BENCH_ORIGIN } from './events.ts';
import type { FromFloorWorker, ToFloorWorker } from './floor-worker.ts';

/** Events the floor appenders encode per turn (or per message to the worker). */
export const FLOOR_CHUNK = 250;

/** The record fields of `e` as the floors write it at `seq` after `prev`: the data serialized, as the log does. */
function fieldsOf(e: NewEvent, seq: number, ts: number, prev: string): RecordFields {
  return { seq, origin: BENCH_ORIGIN, ts, type: e.type, v: e.v, source: e.source, subject: e.subject, dataJson: JSON.stringify(e.data), prev };
}

/** Appends events `[from, to)` of its list durably, resolving once they are on disk. */
export interface Appender extends AsyncDisposable {
  round(from: number, to: number): Promise<void>;
}

/** A raw environment with the log's options, its `events` table, and one warm put. */
async function rawEnv(path: string): Promise<{ root: RootDatabase; db: ReturnType<RootDatabase['openDB']> }> {
  const root = open({ path, maxDbs: 64, compression: false });
  const db = root.openDB<string, number>('events', { encoding: 'string' });
  await db.put(0, 'warm');
  await root.flushed;
  return { root, db };
}

/**
 * `EventLog.append` with every projection: one append call per event with the whole round in
 * flight (`single`), or the round as one append (`unit`).
 */
export async function logAppender(dir: string, events: readonly NewEvent[], mode: 'single' | 'unit'): Promise<Appender> {
  const log = await openEventLog({ path: join(dir, 'log.mdb'), create: { origin: BENCH_ORIGIN }, projections: allProjections });
  const first = events[0];
  if (first !== undefined) await log.append([first]); // warm the environment
  return {
    round: async (from, to) => {
      const slice = events.slice(from, to);
      await (mode === 'unit' ? log.append(slice) : Promise.all(slice.map((e) => log.append([e]))));
    },
    [Symbol.asyncDispose]: () => log.close(),
  };
}

/** Raw lmdb-js: the same environment options and encoding, one put per finished record, then `flushed`. */
export async function rawAppender(dir: string, records: readonly string[]): Promise<Appender> {
  const { root, db } = await rawEnv(join(dir, 'raw.mdb'));
  return {
    round: async (from, to) => {
      let last: Promise<boolean> = Promise.resolve(true);
      for (let i = from; i < to; i++) last = db.put(i + 1, records[i] ?? '');
      await last;
      await root.flushed;
    },
    [Symbol.asyncDispose]: () => root.close(),
  };
}

/**
 * The floor under any appender that keeps the log's format: per event only what the format
 * requires (serialize the data, build the canonical body, SHA-256 it onto the chain) with the
 * log's own encoder, and the most favourable use of lmdb-js measured: plain puts in chunks of
 * {@link FLOOR_CHUNK}, a turn between chunks so one chunk's commit overlaps the next one's
 * encoding, then `flushed`. No validation, projections, envelopes, per-append promises or
 * write lock around the head: the log can only be slower.
 */
export async function floorAppender(dir: string, events: readonly NewEvent[]): Promise<Appender> {
  const { root, db } = await rawEnv(join(dir, 'floor.mdb'));
  const writer = new RecordWriter();
  let prev = GENESIS_HASH;
  return {
    round: async (from, to) => {
      const ts = Date.now();
      let last: Promise<boolean> = Promise.resolve(true);
      for (let c = from; c < to; c += FLOOR_CHUNK) {
        if (c > from) await new Promise((resolve) => setImmediate(resolve));
        for (let i = c; i < Math.min(c + FLOOR_CHUNK, to); i++) {
          const e = events[i];
          if (e === undefined) continue;
          const record = writer.write(fieldsOf(e, i + 1, ts, prev));
          prev = writer.hash;
          last = db.put(i + 1, record);
        }
      }
      await last;
      await root.flushed;
    },
    [Symbol.asyncDispose]: () => root.close(),
  };
}

/**
 * The floor run as the log runs: one `transaction()` per round, with the encoding and the puts
 * inside its callback (no chunks). Its distance from {@link floorAppender} is what the
 * transaction callback costs.
 */
export async function floorTxnAppender(dir: string, events: readonly NewEvent[]): Promise<Appender> {
  const { root, db } = await rawEnv(join(dir, 'floor-txn.mdb'));
  const writer = new RecordWriter();
  let prev = GENESIS_HASH;
  return {
    round: async (from, to) => {
      const ts = Date.now();
      await root.transaction(() => {
        for (let i = from; i < to; i++) {
          const e = events[i];
          if (e === undefined) continue;
          const record = writer.write(fieldsOf(e, i + 1, ts, prev));
          prev = writer.hash;
          void db.put(i + 1, record);
        }
      });
      await root.flushed;
    },
    [Symbol.asyncDispose]: () => root.close(),
  };
}

/** Waits for the worker's next message of `kind`; rejects if it fails or exits first. */
function nextFrom(worker: Worker, kind: FromFloorWorker['kind']): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (m: FromFloorWorker): void => {
      if (m.kind !== kind) return;
      cleanup();
      resolve();
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new KernelError(ErrorCode.Internal, `The floor worker exited with code ${code} before "${kind}"`));
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
  });
}

/** Starts the floor's worker once it is ready. */
async function startFloorWorker(path: string): Promise<Worker> {
  const { entry, eval: isEval } = workerEntry(new URL('./floor-worker.ts', import.meta.url));
  const worker = new Worker(entry, { eval: isEval, workerData: { path } });
  try {
    await nextFrom(worker, 'ready');
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return worker;
}

/**
 * The floor split across two threads, balanced: the main thread serializes each event and
 * builds its record prefix (all but the previous hash), posting chunks of {@link FLOOR_CHUNK};
 * a worker chains, hashes and puts the records and answers with their hashes once durable,
 * which the main thread hands out one per event.
 */
export async function floorWorkerAppender(dir: string, events: readonly NewEvent[]): Promise<Appender> {
  const path = join(dir, 'floor-worker.mdb');
  const { root } = await rawEnv(path);
  let worker: Worker;
  try {
    worker = await startFloorWorker(path);
  } catch (error) {
    await root.close();
    throw error;
  }
  const writer = new RecordWriter();
  // A worker that fails or exits fails every chunk still waiting, rather than hanging the bench.
  let failed: unknown = null;
  const waiting = new Map<number, { resolve: (hashes: string) => void; reject: (error: unknown) => void }>();
  const failAll = (error: unknown): void => {
    failed = error;
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  };
  const onMessage = (m: FromFloorWorker): void => {
    if (m.kind !== 'done') return;
    waiting.get(m.first)?.resolve(m.hashes);
    waiting.delete(m.first);
  };
  const onExit = (code: number): void => failAll(new KernelError(ErrorCode.Internal, `The floor worker exited with code ${code}`));
  worker.on('message', onMessage);
  worker.on('error', failAll);
  worker.on('exit', onExit);
  const post = (message: ToFloorWorker): void => worker.postMessage(message);
  return {
    round: async (from, to) => {
      const ts = Date.now();
      const answers: Array<Promise<string>> = [];
      for (let c = from; c < to; c += FLOOR_CHUNK) {
        const prefixes: string[] = [];
        for (let i = c; i < Math.min(c + FLOOR_CHUNK, to); i++) {
          const e = events[i];
          if (e === undefined) continue;
          prefixes.push(writer.prefix(fieldsOf(e, i + 1, ts, '')));
        }
        if (failed !== null) throw failed;
        answers.push(new Promise((resolve, reject) => waiting.set(c + 1, { resolve, reject })));
        post({ kind: 'chunk', chunk: { first: c + 1, prefixes: prefixes.join('\n') } });
      }
      // Each event's envelope gets its own hash, as the log's would.
      const own: string[] = [];
      for (const hashes of await Promise.all(answers)) for (let h = 0; h < hashes.length; h += 64) own.push(hashes.slice(h, h + 64));
      if (own.length !== to - from) throw new KernelError(ErrorCode.Internal, `The worker floor answered ${own.length} of ${to - from} events`);
    },
    [Symbol.asyncDispose]: async () => {
      worker.off('exit', onExit);
      worker.off('message', onMessage);
      try {
        const closed = nextFrom(worker, 'closed');
        post({ kind: 'close' });
        await closed;
      } finally {
        await worker.terminate();
        await root.close();
      }
    },
  };
}
