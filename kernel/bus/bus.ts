import { ErrorCode, KernelError } from '../errors/index.ts';
import { withDataJson, type BusMessagePublished, type HashedEvent, type NewEvent } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import { classifyPayload } from './payloads.ts';
import { QuotaTracker } from './quotas.ts';
import { compilePattern, parseSubject, type Subject } from './subject.ts';

/** The event type every bus message is stored as. */
export const BUS_EVENT = 'bus.message.published';

/** A bus message as subscribers see it: the stored event, flattened. */
export interface DeliveredMessage {
  readonly seq: number;
  readonly id: string;
  readonly ts: number;
  readonly source: string;
  readonly subject: string;
  readonly kind: string;
  readonly payload: unknown;
}

/** The durable answer to a publish. */
export interface Receipt {
  readonly seq: number;
  readonly id: string;
  readonly subject: string;
  readonly kind: string;
}

/** Turns a stored `bus.message.published` event into a delivered message. */
export function toMessage(event: HashedEvent): DeliveredMessage {
  const data = event.data as BusMessagePublished;
  return { seq: event.seq, id: event.id, ts: event.ts, source: event.source, subject: event.subject ?? '', kind: data.kind, payload: data.payload };
}

/** A message as {@link checkMessage} found it. */
export interface CheckedMessage {
  readonly subject: Subject;
  /** `custom` or the standard type. */
  readonly kind: string;
  /** The payload as it will be stored: a standard payload as its schema parsed it (defaults applied). */
  readonly payload: unknown;
  /** The stored payload's JSON size in bytes, as quotas count it. */
  readonly bytes: number;
  /** The stored payload's JSON text. */
  readonly json: string;
}

/**
 * Checks one message the way `publish` does before charging quotas: a concrete subject, a
 * JSON payload, and a standard payload's schema. Pure: a client can check a whole batch
 * before sending any of it. Quotas (sizes included) are the publisher's and are charged by
 * the bus. @throws KernelError SUBJECT_INVALID, PAYLOAD_INVALID
 */
export function checkMessage(subject: string, payload: unknown): CheckedMessage {
  const parsed = parseSubject(subject);
  const classified = classifyPayload(payload);
  const text = JSON.stringify(classified.payload);
  if (typeof text !== 'string') throw new KernelError(ErrorCode.PayloadInvalid, `Cannot publish to "${subject}" as the payload is not JSON`);
  return { subject: parsed, kind: classified.kind, payload: classified.payload, bytes: Buffer.byteLength(text), json: text };
}

/**
 * The bus: persist, then deliver. A publish validates the subject, classifies the payload
 * and charges the publisher's quotas, then appends one event per message and resolves only
 * once they are durable. A subscription is a cursor over the log filtered by a pattern, so a
 * slow or restarted subscriber resumes from its cursor and loses nothing.
 */
export class Bus {
  readonly #log: EventLog;
  readonly #quotas: QuotaTracker;

  constructor(log: EventLog, options: { quotas?: QuotaTracker } = {}) {
    this.#log = log;
    this.#quotas = options.quotas ?? new QuotaTracker();
  }

  /**
   * Publishes messages as one unit. Nothing is written if any message is refused.
   * @throws KernelError SUBJECT_INVALID, PAYLOAD_INVALID, PAYLOAD_TOO_LARGE, QUOTA_RATE_EXCEEDED, QUOTA_BYTES_EXCEEDED
   */
  async publish(messages: ReadonlyArray<{ subject: string; payload: unknown }>, options: { source: string }): Promise<Receipt[]> {
    const stored = await this.#log.append(this.prepare(messages, options));
    return stored.map((e) => ({ seq: e.seq, id: e.id, subject: e.subject ?? '', kind: (e.data as BusMessagePublished).kind }));
  }

  /**
   * Checks and charges messages like {@link Bus.publish} and returns their events without
   * appending them, for a caller that appends them in one unit with other facts (a capsule
   * call's effects). Throws the same codes as `publish`.
   */
  prepare(messages: ReadonlyArray<{ subject: string; payload: unknown }>, options: { source: string }): NewEvent[] {
    const events: NewEvent[] = [];
    const sizes: number[] = [];
    for (const { subject, payload } of messages) {
      const checked = checkMessage(subject, payload);
      // The payload was serialized to be measured: the log stores that text rather than serialize it again.
      const data = withDataJson({ kind: checked.kind, payload: checked.payload }, `{"kind":${JSON.stringify(checked.kind)},"payload":${checked.json}}`);
      events.push({ type: BUS_EVENT, v: 1, source: options.source, subject: checked.subject, data });
      sizes.push(checked.bytes);
    }
    this.#quotas.checkPublishBatch(options.source, sizes, Date.now());
    return events;
  }

  /** The publisher quotas, to set a capsule's policy from its manifest. */
  get quotas(): QuotaTracker {
    return this.#quotas;
  }

  /**
   * Messages matching `pattern` from seq `from` (default: the next new one), then live,
   * until `signal` aborts. Counts against the subscriber's subscription quota while open.
   * @throws KernelError PATTERN_INVALID, QUOTA_SUBSCRIPTIONS_EXCEEDED
   */
  subscribe(pattern: string, options: { from?: number; source?: string; signal?: AbortSignal } = {}): AsyncIterable<DeliveredMessage> {
    const matches = compilePattern(pattern);
    const quotas = this.#quotas;
    const log = this.#log;
    const from = options.from ?? log.head().seq + 1;
    return (async function* () {
      const release = quotas.acquireSubscription(options.source ?? 'user:cli');
      try {
        for await (const event of log.follow({ from, ...(options.signal === undefined ? {} : { signal: options.signal }) })) {
          if (event.type === BUS_EVENT && event.subject !== undefined && matches(event.subject)) yield toMessage(event);
        }
      } finally {
        release();
      }
    })();
  }
}
