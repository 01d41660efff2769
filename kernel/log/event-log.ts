import { open, type Database, type RootDatabase } from 'lmdb';
import { ErrorCode, KernelError } from '../errors/index.ts';
import { dataJsonOf, GENESIS_HASH, validateNewEvent, type HashedEvent, type NewEvent } from '../events/index.ts';
import { silentLogger, type Logger } from '../logger/index.ts';
import type { ProjectionDefinition, ProjectionStatus, StateReader } from '../projection/index.ts';
import { Projector, type Overlay } from './projector.ts';
import { decodeRecord, RecordWriter, sha256Hex } from './record.ts';
import { verifyRecords, type VerifyReport } from './verify.ts';

/** The on-disk format this build writes; a log with a higher one is refused. */
export const LOG_FORMAT = 1;
const CATCH_UP_BATCH = 50_000;
/** How many recently appended events are kept for live followers, and the longest record kept (characters). */
const RECENT_EVENTS = 2048;
const RECENT_MAX_BYTES = 8 * 1024;

/** Options of {@link openEventLog}. */
export interface EventLogOptions {
  /** The LMDB file (created with its `-lock` sibling). */
  readonly path: string;
  /** Create an empty log with this origin host id when none exists. */
  readonly create?: { readonly origin: string };
  readonly projections?: readonly ProjectionDefinition[];
  readonly logger?: Logger;
}

/** Progress of a long operation (replay, verify): `seq` of `head` done. */
export type Progress = (p: { readonly seq: number; readonly head: number }) => void;

const NO_BLOBS: Prepared['blobs'] = [];

interface Prepared {
  readonly event: NewEvent;
  readonly dataJson: string;
  readonly blobs: ReadonlyArray<{ readonly digest: string; readonly bytes: Uint8Array }>;
}

interface Pending {
  readonly items: readonly Prepared[];
  readonly resolve: (events: HashedEvent[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The durable event log: one LMDB environment holding the events (seq → hash ‖ body), the
 * content-addressed blobs, and every projection's state and checkpoint. Exactly one process
 * may open it at a time (see kernel/ipc's owner lock).
 */
export class EventLog implements AsyncDisposable {
  readonly origin: string;
  readonly #root: RootDatabase;
  readonly #events: Database<string, number>;
  readonly #blobs: Database<Buffer, string>;
  readonly #meta: Database<unknown, string>;
  readonly #projector: Projector;
  readonly #logger: Logger;
  readonly #listeners = new Set<(last: number, types: ReadonlySet<string>) => void>();
  readonly #rebuiltListeners = new Set<() => void>();
  readonly #writer = new RecordWriter();
  /** Durable events by `seq % RECENT_EVENTS`, so a follower at the head never reads or parses them. */
  readonly #recent: Array<HashedEvent | undefined> = new Array<HashedEvent | undefined>(RECENT_EVENTS);
  /** The last seq known durable: followers never see past it. */
  #durable = 0;
  #queue: Pending[] = [];
  #scheduled = false;
  #tail: Promise<void> = Promise.resolve();
  #catchingUp: Promise<void> | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;

  private constructor(root: RootDatabase, origin: string, projections: readonly ProjectionDefinition[], logger: Logger) {
    this.#root = root;
    this.origin = origin;
    this.#logger = logger;
    this.#events = root.openDB<string, number>('events', { encoding: 'string' });
    this.#blobs = root.openDB<Buffer, string>('blobs', { encoding: 'binary' });
    this.#meta = root.openDB<unknown, string>('meta', { encoding: 'json' });
    this.#projector = new Projector(root, { meta: this.#meta, events: this.#events }, projections, logger);
  }

  /**
   * Opens (or with `create`, creates) a log, resets projections whose version changed and
   * catches every projection up to the head.
   * @throws KernelError LOG_FORMAT_UNSUPPORTED when a newer Astrid wrote it, HOME_NOT_INITIALIZED when absent.
   */
  static async open(options: EventLogOptions): Promise<EventLog> {
    const logger = options.logger ?? silentLogger;
    const root = open({ path: options.path, maxDbs: 64, compression: false });
    try {
      const meta = root.openDB<unknown, string>('meta', { encoding: 'json' });
      let format = meta.get('format') as { version: number; origin: string } | undefined;
      if (format === undefined) {
        if (options.create === undefined) {
          throw new KernelError(ErrorCode.HomeNotInitialized, `Cannot open the event log at "${options.path}" as it has not been created`);
        }
        format = { version: LOG_FORMAT, origin: options.create.origin };
        await meta.put('format', format);
        await root.flushed;
      }
      if (format.version > LOG_FORMAT) {
        throw new KernelError(
          ErrorCode.LogFormatUnsupported,
          `Cannot open the event log as it has format ${format.version} and this Astrid reads up to ${LOG_FORMAT}`,
          { details: { format: format.version, supported: LOG_FORMAT } },
        );
      }
      const log = new EventLog(root, format.origin, options.projections ?? [], logger);
      // A write transaction (and its fsync) only when some projection needs resetting.
      if (log.#projector.anyOutdated()) {
        await root.transaction(() => {
          const reset = log.#projector.resetOutdated();
          for (const name of reset) logger.info('projection version changed: rebuilding', { projection: name });
        });
      }
      await log.catchUp();
      log.#durable = log.head().seq;
      return log;
    } catch (error) {
      await root.close();
      throw error;
    }
  }

  /** The last event's seq and hash (seq 0 and the genesis hash when empty). */
  head(): { seq: number; hash: string } {
    for (const { key, value } of this.#events.getRange({ reverse: true, limit: 1 })) {
      return { seq: key, hash: value.slice(0, 64) };
    }
    return { seq: 0, hash: GENESIS_HASH };
  }

  /**
   * Appends facts as one unit and resolves once they are durable on disk, with their
   * envelopes. Validation runs before anything is queued; projections that are live apply
   * them in the same transaction. Honours `signal` only before the events are queued.
   * @throws KernelError EVENT_INVALID, LOG_CLOSED, PROJECTION_FAILED (nothing appended).
   */
  append(events: readonly NewEvent[], options: { signal?: AbortSignal } = {}): Promise<HashedEvent[]> {
    try {
      options.signal?.throwIfAborted();
      this.#assertOpen();
      const items = events.map((event) => this.#prepare(event));
      return new Promise((resolve, reject) => {
        this.#queue.push({ items, resolve, reject });
        if (!this.#scheduled) {
          this.#scheduled = true;
          setImmediate(() => this.#flush());
        }
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Reads events in seq order from `from` (default 1), up to `to` inclusive and `limit` events. */
  *read(options: { from?: number; to?: number; limit?: number } = {}): Generator<HashedEvent> {
    const range = this.#events.getRange({
      start: Math.max(1, options.from ?? 1),
      ...(options.to === undefined ? {} : { end: options.to + 1 }),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
    });
    for (const { value } of range) yield decodeRecord(value);
  }

  /** One event, or null. */
  get(seq: number): HashedEvent | null {
    const record = this.#events.get(seq);
    return record === undefined ? null : decodeRecord(record);
  }

  /**
   * Follows the log from `from`: yields every durable event in order, then each new one once
   * it is durable, until `signal` aborts (the iterator then ends quietly) or the log closes
   * (it then throws LOG_CLOSED, so a follower knows to reconnect).
   * Memory stays bounded: it reads in pages from the log, never buffers the backlog; a
   * follower at the head is served the appended events themselves, shared with every other
   * follower and the appender, so treat them as read-only.
   */
  async *follow(options: { from?: number; signal?: AbortSignal; pageSize?: number } = {}): AsyncGenerator<HashedEvent> {
    let next = Math.max(1, options.from ?? 1);
    const pageSize = options.pageSize ?? 512;
    const signal = options.signal;
    const stopped = (): boolean => this.#closed || signal?.aborted === true;
    while (!stopped()) {
      const durable = this.#durable;
      if (next > durable) {
        await this.#waitForAppend(next, signal);
        continue;
      }
      const recent = this.#recent[next % RECENT_EVENTS];
      if (recent !== undefined && recent.seq === next) {
        next++;
        yield recent;
        if (stopped()) return;
        continue;
      }
      for (const event of this.read({ from: next, to: durable, limit: pageSize })) {
        next = event.seq + 1;
        yield event;
        if (stopped()) return;
      }
    }
    if (this.#closed && signal?.aborted !== true) {
      throw new KernelError(ErrorCode.LogClosed, 'Cannot follow the event log as it closed', { details: { next } });
    }
  }

  /**
   * Calls `listener(lastSeq, types)` after each durable batch, with the event types it held
   * (`lastSeq` is -1 once when the log closes). Returns the unsubscribe function.
   */
  onAppended(listener: (last: number, types: ReadonlySet<string>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Calls `listener()` after each completed rebuild. Returns the unsubscribe function. */
  onRebuilt(listener: () => void): () => void {
    this.#rebuiltListeners.add(listener);
    return () => this.#rebuiltListeners.delete(listener);
  }

  /** The event types a projection reads. @throws KernelError PROJECTION_UNKNOWN */
  projectionTypes(name: string): ReadonlySet<string> {
    return this.#projector.slot(name).types;
  }

  /** A blob's bytes by SHA-256 hex digest, or null. */
  getBlob(digest: string): Uint8Array | null {
    return this.#blobs.get(digest) ?? null;
  }

  /** Walks the whole hash chain; reports the first bad seq instead of throwing. */
  verify(options: { onProgress?: Progress } = {}): VerifyReport {
    return verifyRecords(this.#events.getRange({ start: 1 }), this.head().seq, options.onProgress);
  }

  /** Names of the registered projections. */
  projectionNames(): string[] {
    return this.#projector.names();
  }

  /** Where a projection stands. @throws KernelError PROJECTION_UNKNOWN */
  projectionStatus(name: string): ProjectionStatus {
    return this.#projector.status(name);
  }

  /** The error that stopped a projection, or null. */
  projectionFailure(name: string): KernelError | null {
    return this.#projector.failure(name);
  }

  /** A synchronous reader over a projection's stored state. @throws KernelError PROJECTION_UNKNOWN */
  projection(name: string): StateReader {
    return this.#projector.reader(name);
  }

  /** Every key and stored JSON text of a projection, for byte-for-byte comparison. */
  dumpProjection(name: string): Array<readonly [string, string]> {
    return this.#projector.dump(name);
  }

  /** Brings every lagging, unpinned projection up to the head, in batches. */
  catchUp(options: { until?: number; onProgress?: Progress; signal?: AbortSignal } = {}): Promise<void> {
    const run = async (): Promise<void> => {
      let behind = this.#projector.anyBehind(this.head().seq, options.until);
      while (behind && !this.#closed) {
        options.signal?.throwIfAborted();
        await this.#root.transaction(() => {
          const head = this.head().seq;
          behind = this.#projector.catchUpStep(head, CATCH_UP_BATCH, options.until ?? head);
        });
        if (options.onProgress !== undefined) {
          const head = this.head().seq;
          const done = Math.min(...this.projectionNames().map((n) => this.#projector.status(n).checkpoint), head);
          options.onProgress({ seq: done, head: options.until ?? head });
        }
      }
    };
    const previous = this.#catchingUp ?? Promise.resolve();
    const current = previous.then(run);
    this.#catchingUp = current.catch(() => undefined);
    return current;
  }

  /**
   * Drops the named projections (default: all) and rebuilds them from seq 1, up to `until`
   * when given, in which case they stay pinned there until a rebuild without `until`.
   */
  async rebuild(options: { names?: readonly string[]; until?: number; onProgress?: Progress; signal?: AbortSignal } = {}): Promise<void> {
    this.#assertOpen();
    const names = options.names ?? this.projectionNames();
    for (const name of names) this.#projector.slot(name);
    await this.#root.transaction(() => this.#projector.reset(names, options.until ?? null));
    await this.catchUp(options);
    for (const listener of this.#rebuiltListeners) listener();
  }

  /** Closes the log after queued appends settle. Idempotent; never throws. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      for (const listener of this.#listeners) listener(-1, new Set());
      await this.#tail.catch(() => undefined);
      await this.#catchingUp?.catch(() => undefined);
      await this.#root.close().catch((error: unknown) => this.#logger.error('close failed', { message: String(error) }));
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new KernelError(ErrorCode.LogClosed, 'Cannot use the event log as it is closed');
  }

  #prepare(event: NewEvent): Prepared {
    validateNewEvent(event);
    const dataJson = dataJsonOf(event.data);
    if (typeof dataJson !== 'string') {
      throw new KernelError(ErrorCode.EventInvalid, `Cannot append "${event.type}" as its data is not a JSON value`);
    }
    const blobs = event.blobs === undefined || event.blobs.length === 0 ? NO_BLOBS : event.blobs.map((bytes) => ({ digest: sha256Hex(bytes), bytes }));
    return { event, dataJson, blobs };
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    const ts = Date.now();
    const outcomes = new Map<Pending, HashedEvent[] | KernelError>();
    /** Seqs of events too large to keep for followers (they read them back). */
    const large = new Set<number>();
    let last = 0;
    const txn = this.#root.transaction(() => {
      last = this.#commitBatch(batch, ts, outcomes, large);
    });
    this.#tail = this.#tail.then(async () => {
      try {
        await txn;
        await this.#root.flushed;
      } catch (cause) {
        const error = new KernelError(ErrorCode.Internal, 'Cannot commit appended events to the log', { cause });
        for (const p of batch) p.reject(error);
        return;
      }
      const types = new Set<string>();
      for (const p of batch) {
        const outcome = outcomes.get(p);
        if (outcome instanceof KernelError || outcome === undefined) p.reject(outcome);
        else {
          for (const event of outcome) {
            types.add(event.type);
            this.#recent[event.seq % RECENT_EVENTS] = large.has(event.seq) ? undefined : event;
          }
          p.resolve(outcome);
        }
      }
      if (last > this.#durable) this.#durable = last;
      for (const listener of this.#listeners) listener(last, types);
    });
  }

  /** Inside the write txn: assigns seqs, chains hashes, runs live projections, then puts. */
  #commitBatch(batch: readonly Pending[], ts: number, outcomes: Map<Pending, HashedEvent[] | KernelError>, large: Set<number>): number {
    const head = this.head();
    const live = this.#projector.liveAt(head.seq);
    const overlay: Overlay = new Map();
    // One group for the whole batch, emptied after each append: it holds that append's changes
    // until every one of its events applied, so a refused append leaves no trace.
    const group: Overlay = new Map();
    const bound = this.#projector.bind(live, group, overlay);
    const records: Array<[number, string]> = [];
    const blobs = new Map<string, Uint8Array>();
    const writer = this.#writer;
    let seq = head.seq;
    let prev = head.hash;
    for (const pending of batch) {
      const stored: HashedEvent[] = [];
      let s = seq;
      let p = prev;
      try {
        for (const { event, dataJson } of pending.items) {
          s++;
          const id = `${this.origin}:${s}`;
          const record = writer.write({ seq: s, origin: this.origin, ts, type: event.type, v: event.v, source: event.source, subject: event.subject, dataJson, prev: p });
          const hash = writer.hash;
          // Two literals rather than a spread: this runs once per event.
          const stored1: HashedEvent =
            event.subject === undefined
              ? { seq: s, id, origin: this.origin, ts, type: event.type, v: event.v, source: event.source, data: event.data, prev: p, hash }
              : { seq: s, id, origin: this.origin, ts, type: event.type, v: event.v, source: event.source, subject: event.subject, data: event.data, prev: p, hash };
          this.#projector.applyTo(bound, stored1);
          stored.push(stored1);
          records.push([s, record]);
          if (record.length > RECENT_MAX_BYTES) large.add(s);
          p = hash;
        }
      } catch (cause) {
        records.length -= stored.length;
        group.clear();
        outcomes.set(pending, new KernelError(ErrorCode.ProjectionFailed, `Cannot append as a projection refused event ${s}`, { cause }));
        continue;
      }
      for (const [name, changes] of group) {
        const into = overlay.get(name);
        if (into === undefined) overlay.set(name, changes);
        else for (const [k, val] of changes) into.set(k, val);
      }
      group.clear();
      for (const item of pending.items) for (const b of item.blobs) blobs.set(b.digest, b.bytes);
      outcomes.set(pending, stored);
      seq = s;
      prev = p;
    }
    // Every reducer has run: only now write, since a throw after a put would still commit it.
    for (const [digest, bytes] of blobs) if (!this.#blobs.doesExist(digest)) this.#blobs.put(digest, Buffer.from(bytes));
    for (const [key, record] of records) this.#events.put(key, record);
    this.#projector.commit(live, overlay, seq);
    return seq;
  }

  #waitForAppend(next: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#durable >= next) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        off();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const off = this.onAppended((last) => {
        if (last === -1 || last >= next) done();
      });
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

/** Opens an event log. See {@link EventLog.open}. */
export function openEventLog(options: EventLogOptions): Promise<EventLog> {
  return EventLog.open(options);
}
