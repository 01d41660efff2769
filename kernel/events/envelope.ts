import * as v from 'valibot';

/** A host's identity in event ids: lowercase base32-ish, chosen at `astrid init`. */
export const HostIdSchema = v.pipe(v.string(), v.regex(/^[a-z0-9]{4,32}$/, 'Expected 4-32 lowercase letters or digits'), v.brand('HostId'));
/** A host's identity. */
export type HostId = v.InferOutput<typeof HostIdSchema>;

/** A position in the local log: gapless, starts at 1. */
export const SeqSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.brand('Seq'));
/** A position in the local log. */
export type Seq = v.InferOutput<typeof SeqSchema>;

/** An event type: a past-tense fact, lowercase and dotted (`kv.value.set`). */
export const EventTypeSchema = v.pipe(
  v.string(),
  v.regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'Expected a lowercase dotted event type'),
  v.maxLength(128),
);

/** Who caused an event: `kernel`, `user:<name>`, `capsule:<id>`, `host:<id>`. */
export const SourceSchema = v.pipe(
  v.string(),
  v.regex(/^[a-z]+(:[A-Za-z0-9._@+-]{1,128})?$/, 'Expected a source such as "user:cli" or "capsule:fs"'),
);

/** The SHA-256 digest of a blob or an event body, lowercase hex. */
export const DigestSchema = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'Expected a 64-character hex digest'));

/** 64 zeros: the `prev` of seq 1. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The envelope of a stored event, as read back from the log. `data` is typed per event
 * type by the catalog; the log itself treats it as an opaque JSON value.
 */
export const StoredEventSchema = v.object({
  seq: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
  id: v.pipe(v.string(), v.regex(/^[a-z0-9]{4,32}:[1-9][0-9]*$/)),
  origin: v.pipe(v.string(), v.regex(/^[a-z0-9]{4,32}$/)),
  ts: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  type: EventTypeSchema,
  v: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
  source: SourceSchema,
  subject: v.optional(v.string()),
  data: v.unknown(),
  prev: DigestSchema,
});

/** A stored event: the envelope the log assigned plus the fact in `data`. */
export interface StoredEvent<Data = unknown> {
  readonly seq: number;
  readonly id: string;
  readonly origin: string;
  readonly ts: number;
  readonly type: string;
  readonly v: number;
  readonly source: string;
  readonly subject?: string;
  readonly data: Data;
  readonly prev: string;
}

/** A stored event together with its chain hash. */
export interface HashedEvent<Data = unknown> extends StoredEvent<Data> {
  readonly hash: string;
}

/**
 * A fact to append. The log assigns `seq`, `id`, `origin`, `ts` and `prev`. `data` must be a
 * plain JSON value (it is stored as JSON and replayed from it). `blobs` are stored
 * content-addressed in the same transaction; reference them from `data` by digest.
 */
export interface NewEvent {
  readonly type: string;
  readonly v: number;
  readonly source: string;
  readonly subject?: string;
  readonly data: unknown;
  readonly blobs?: readonly Uint8Array[];
}
