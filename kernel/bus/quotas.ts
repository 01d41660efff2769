import * as v from 'valibot';
import { ErrorCode, KernelError } from '../errors/index.ts';

const MiB = 1024 * 1024;
const Positive = v.pipe(v.number(), v.finite(), v.gtValue(0));
const PositiveInt = v.pipe(v.number(), v.safeInteger(), v.minValue(1));

/**
 * Per-publisher bus quotas, as given by a capsule manifest or the kernel config. Every field
 * is optional and defaults to the kernel default:
 * - `maxPayloadBytes` 1 MiB (1,048,576): largest single payload;
 * - `messagesPerSecond` 20,000 with `messagesBurst` 20,000: a token bucket of messages;
 * - `bytesPerSecond` 64 MiB with `bytesBurst` 64 MiB: a token bucket of payload bytes;
 * - `maxSubscriptions` 256: open subscriptions at once (0 forbids subscribing).
 * The original Astrid allowed 5 MiB payloads, 10 MiB/s and 128 subscriptions; we take smaller
 * payloads (large contents belong in blobs) and a message rate, which it did not have.
 * A policy whose `bytesBurst` is below `maxPayloadBytes` is refused: the largest allowed
 * payload could never be published.
 */
export const QuotaPolicySchema = v.pipe(
  v.object({
    maxPayloadBytes: v.optional(PositiveInt, MiB),
    messagesPerSecond: v.optional(Positive, 20_000),
    messagesBurst: v.optional(PositiveInt, 20_000),
    bytesPerSecond: v.optional(Positive, 64 * MiB),
    bytesBurst: v.optional(PositiveInt, 64 * MiB),
    maxSubscriptions: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0)), 256),
  }),
  v.forward(
    v.check((p) => p.bytesBurst >= p.maxPayloadBytes, 'Expected bytesBurst to be at least maxPayloadBytes'),
    ['bytesBurst'],
  ),
  v.readonly(),
);

/** A complete quota policy (see {@link QuotaPolicySchema} for the meaning and defaults). */
export type QuotaPolicy = v.InferOutput<typeof QuotaPolicySchema>;
/** A partial quota policy as written in a manifest or config; missing fields take defaults. */
export type QuotaPolicyInput = v.InferInput<typeof QuotaPolicySchema>;

/** The kernel's default quota policy. */
export const DEFAULT_QUOTA_POLICY: QuotaPolicy = Object.freeze(v.parse(QuotaPolicySchema, {}));

/**
 * Parses a quota policy from untrusted input (manifest, config), filling in defaults.
 * @throws KernelError INVALID_ARGUMENT naming the failing field (details: `path`).
 */
export function parseQuotaPolicy(input: unknown): QuotaPolicy {
  const result = v.safeParse(QuotaPolicySchema, input, { abortEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = v.getDotPath(issue) ?? '';
  throw new KernelError(
    ErrorCode.InvalidArgument,
    `Cannot use the quota policy as ${path === '' ? 'it' : `field "${path}"`} is invalid: ${issue.message}`,
    { details: { path } },
  );
}

interface Bucket {
  policy: QuotaPolicy;
  messages: number;
  bytes: number;
  lastMs: number;
  subscriptions: number;
}

/** Options of a {@link QuotaTracker}. */
export interface QuotaTrackerOptions {
  /** Policy for sources without their own (default {@link DEFAULT_QUOTA_POLICY}). */
  readonly policy?: QuotaPolicyInput;
  /** Clock used when a call passes no `nowMs` (default `Date.now`). */
  readonly clock?: () => number;
  /** Tracked sources above which idle state is swept (default 10,000). */
  readonly sweepAbove?: number;
}

/** What a source may still do right now (see {@link QuotaTracker.remaining}). */
export interface QuotaRemaining {
  readonly messages: number;
  readonly bytes: number;
  readonly subscriptions: number;
}

/**
 * Enforces per-source quotas: payload size, message and byte rates (token buckets that refill
 * continuously at the policy rate up to the burst) and open subscriptions. Pure bookkeeping:
 * no timers, no I/O, nothing to dispose. Time comes from the `nowMs` argument or the `clock`
 * option, so behaviour is deterministic in tests. A clock that goes backwards refills
 * nothing until it passes the latest time already seen.
 *
 * Memory stays bounded: a source whose buckets are full again and which holds no subscription
 * is indistinguishable from a new one, so such state is dropped when more than `sweepAbove`
 * sources are tracked (amortised; the next sweep waits until the table doubles). Per-source
 * policies set with {@link QuotaTracker.setPolicy} are kept until cleared.
 */
export class QuotaTracker {
  readonly #default: QuotaPolicy;
  readonly #clock: () => number;
  readonly #sweepAbove: number;
  readonly #policies = new Map<string, QuotaPolicy>();
  readonly #buckets = new Map<string, Bucket>();
  #nextSweep: number;

  /** @throws KernelError INVALID_ARGUMENT when `options.policy` is not a valid policy. */
  constructor(options: QuotaTrackerOptions = {}) {
    this.#default = options.policy === undefined ? DEFAULT_QUOTA_POLICY : parseQuotaPolicy(options.policy);
    this.#clock = options.clock ?? Date.now;
    this.#sweepAbove = Math.max(1, options.sweepAbove ?? 10_000);
    this.#nextSweep = this.#sweepAbove;
  }

  /** How many sources have live bucket state (for tests and metrics). */
  get trackedSources(): number {
    return this.#buckets.size;
  }

  /** The policy that applies to `source`. */
  policyOf(source: string): QuotaPolicy {
    return this.#policies.get(source) ?? this.#default;
  }

  /**
   * Gives `source` its own policy (from its manifest), or back the default with `null`.
   * Buckets are clamped to the new bursts; open subscriptions stay open even above a lower limit.
   * @throws KernelError INVALID_ARGUMENT when `policy` is not a valid policy.
   */
  setPolicy(source: string, policy: QuotaPolicyInput | null): void {
    if (policy === null) this.#policies.delete(source);
    else this.#policies.set(source, parseQuotaPolicy(policy));
    const bucket = this.#buckets.get(source);
    if (bucket !== undefined) {
      bucket.policy = this.policyOf(source);
      bucket.messages = Math.min(bucket.messages, bucket.policy.messagesBurst);
      bucket.bytes = Math.min(bucket.bytes, bucket.policy.bytesBurst);
    }
  }

  /**
   * Charges one publish of `bytes` payload bytes to `source`. A refused publish consumes nothing.
   * @throws KernelError PAYLOAD_TOO_LARGE (details: source, limit, bytes, retryAfterMs null),
   *   QUOTA_RATE_EXCEEDED or QUOTA_BYTES_EXCEEDED (details: source, limit, burst, retryAfterMs),
   *   INVALID_ARGUMENT for a negative or NaN size.
   */
  checkPublish(source: string, bytes: number, nowMs: number = this.#clock()): void {
    this.checkPublishBatch(source, [bytes], nowMs);
  }

  /**
   * Charges several publishes at once, all or nothing: either every message fits and all are
   * charged, or the call throws and nothing is charged. An empty batch is always accepted.
   * A batch larger than a burst can never pass; its error has `retryAfterMs: null`.
   * @throws KernelError PAYLOAD_TOO_LARGE, QUOTA_RATE_EXCEEDED, QUOTA_BYTES_EXCEEDED as in
   *   {@link QuotaTracker.checkPublish}.
   */
  checkPublishBatch(source: string, sizes: readonly number[], nowMs: number = this.#clock()): void {
    if (sizes.length === 0) return;
    const policy = this.policyOf(source);
    let total = 0;
    for (const bytes of sizes) {
      if (!(bytes >= 0)) {
        throw new KernelError(ErrorCode.InvalidArgument, `Cannot charge a payload of ${bytes} bytes as a size must be zero or more`, {
          details: { source, bytes: String(bytes) },
        });
      }
      if (bytes > policy.maxPayloadBytes) {
        throw new KernelError(
          ErrorCode.PayloadTooLarge,
          `Cannot publish as "${source}" as the payload is ${bytes} bytes: the limit is ${policy.maxPayloadBytes}`,
          { details: { source, limit: policy.maxPayloadBytes, bytes, retryAfterMs: null } },
        );
      }
      total += bytes;
    }
    const bucket = this.#refill(source, policy, nowMs);
    const count = sizes.length;
    if (bucket.messages < count) {
      const limit = policy.messagesPerSecond;
      const retryAfterMs = count > policy.messagesBurst ? null : Math.ceil(((count - bucket.messages) * 1000) / limit);
      throw new KernelError(
        ErrorCode.QuotaRateExceeded,
        `Cannot publish ${count === 1 ? 'a message' : `${count} messages`} as "${source}" as the rate limit of ${limit} messages per second is used up${retryAfterMs === null ? `: a burst holds at most ${policy.messagesBurst}` : ''}`,
        { details: { source, limit, burst: policy.messagesBurst, retryAfterMs } },
      );
    }
    if (bucket.bytes < total) {
      const limit = policy.bytesPerSecond;
      const retryAfterMs = total > policy.bytesBurst ? null : Math.ceil(((total - bucket.bytes) * 1000) / limit);
      throw new KernelError(
        ErrorCode.QuotaBytesExceeded,
        `Cannot publish ${total} bytes as "${source}" as the limit of ${limit} bytes per second is used up${retryAfterMs === null ? `: a burst holds at most ${policy.bytesBurst}` : ''}`,
        { details: { source, limit, burst: policy.bytesBurst, retryAfterMs } },
      );
    }
    bucket.messages -= count;
    bucket.bytes -= total;
  }

  /**
   * Counts one open subscription of `source` and returns the function that releases it
   * (idempotent: calling it twice releases once).
   * @throws KernelError QUOTA_SUBSCRIPTIONS_EXCEEDED (details: source, limit, retryAfterMs null).
   */
  acquireSubscription(source: string): () => void {
    const policy = this.policyOf(source);
    const bucket = this.#buckets.get(source) ?? this.#create(source, policy, this.#clock());
    if (bucket.subscriptions >= policy.maxSubscriptions) {
      throw new KernelError(
        ErrorCode.QuotaSubscriptionsExceeded,
        `Cannot subscribe as "${source}" as it already holds ${bucket.subscriptions} subscriptions: the limit is ${policy.maxSubscriptions}`,
        { details: { source, limit: policy.maxSubscriptions, retryAfterMs: null } },
      );
    }
    bucket.subscriptions++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The bucket cannot have been swept while this subscription held it.
      bucket.subscriptions--;
    };
  }

  /** What `source` may still publish and subscribe at `nowMs`, without charging anything. */
  remaining(source: string, nowMs: number = this.#clock()): QuotaRemaining {
    const policy = this.policyOf(source);
    const bucket = this.#buckets.get(source);
    if (bucket === undefined) {
      return { messages: policy.messagesBurst, bytes: policy.bytesBurst, subscriptions: policy.maxSubscriptions };
    }
    const elapsed = Math.max(0, nowMs - bucket.lastMs) / 1000;
    return {
      messages: Math.min(policy.messagesBurst, bucket.messages + elapsed * policy.messagesPerSecond),
      bytes: Math.min(policy.bytesBurst, bucket.bytes + elapsed * policy.bytesPerSecond),
      subscriptions: Math.max(0, policy.maxSubscriptions - bucket.subscriptions),
    };
  }

  #create(source: string, policy: QuotaPolicy, nowMs: number): Bucket {
    if (this.#buckets.size >= this.#nextSweep) this.#sweep(nowMs);
    const bucket: Bucket = { policy, messages: policy.messagesBurst, bytes: policy.bytesBurst, lastMs: nowMs, subscriptions: 0 };
    this.#buckets.set(source, bucket);
    return bucket;
  }

  #refill(source: string, policy: QuotaPolicy, nowMs: number): Bucket {
    const bucket = this.#buckets.get(source);
    if (bucket === undefined) return this.#create(source, policy, nowMs);
    const elapsedMs = nowMs - bucket.lastMs;
    // Only forward time refills; after a backward step we wait until the clock passes the
    // latest time seen, so a wobbling clock never grants extra tokens.
    if (elapsedMs > 0) {
      bucket.messages = Math.min(policy.messagesBurst, bucket.messages + (elapsedMs * policy.messagesPerSecond) / 1000);
      bucket.bytes = Math.min(policy.bytesBurst, bucket.bytes + (elapsedMs * policy.bytesPerSecond) / 1000);
      bucket.lastMs = nowMs;
    }
    return bucket;
  }

  // Drops every bucket that is full again at `nowMs` and holds no subscription: its state
  // equals a fresh one, so dropping it changes no decision.
  #sweep(nowMs: number): void {
    for (const [source, bucket] of this.#buckets) {
      if (bucket.subscriptions > 0) continue;
      const { policy } = bucket;
      const elapsed = Math.max(0, nowMs - bucket.lastMs);
      const full =
        bucket.messages + (elapsed * policy.messagesPerSecond) / 1000 >= policy.messagesBurst &&
        bucket.bytes + (elapsed * policy.bytesPerSecond) / 1000 >= policy.bytesBurst;
      if (full) this.#buckets.delete(source);
    }
    this.#nextSweep = Math.max(this.#sweepAbove, this.#buckets.size * 2);
  }
}
