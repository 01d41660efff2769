import type { StoredEvent } from '../events/index.ts';

/** A plain JSON value: what projection state holds. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Read access to one projection's keyed state. Keys sort by their UTF-8 bytes. */
export interface StateReader {
  /** The value at `key`, or undefined. */
  get(key: string): JsonValue | undefined;
  /** Entries whose key starts with `prefix`, in key order. */
  entries(prefix?: string, options?: { limit?: number; after?: string }): Iterable<readonly [string, JsonValue]>;
}

/** Write access given to a projection while it applies one event. */
export interface StateWriter {
  get(key: string): JsonValue | undefined;
  put(key: string, value: JsonValue): void;
  delete(key: string): void;
}

/**
 * A projection: a deterministic keyed fold over the log. `apply` reads and writes only
 * through `state` and reads only `event` (its `data`, `seq`, `ts`): no I/O, clock or
 * randomness, so replaying the same log rebuilds the same bytes. Its checkpoint (the last
 * seq applied) is stored in the same transaction as its state. Bump `version` to make it
 * rebuild from seq 1 on the next open.
 */
export interface ProjectionDefinition {
  readonly name: string;
  readonly version: number;
  /** The event types it reads; others are skipped without calling `apply`. */
  readonly types: readonly string[];
  apply(state: StateWriter, event: StoredEvent): void;
}

/** Where a projection stands. */
export interface ProjectionStatus {
  readonly name: string;
  readonly version: number;
  /** The last seq applied. */
  readonly checkpoint: number;
  /** Set when `replay --until` froze it at a seq: it follows the log again after a full replay. */
  readonly pinnedAt: number | null;
}

/** What a materializer may use while it syncs. */
export interface MaterializeContext {
  /** Its directory under the home (created if missing). */
  readonly dir: string;
  /** A blob of the log by digest, or null. */
  blob(digest: string): Uint8Array | null;
  readonly logger: import('../logger/index.ts').Logger;
}

/**
 * Mirrors a projection's state onto files under the home (installed capsule trees, overlay
 * upper dirs). `sync` must be idempotent and depend only on the state and the blobs it
 * names, so deleting the files and syncing again (or `astrid replay`) restores them byte
 * for byte. The owner runs it at start, after every batch of events the projection reads,
 * and after every replay; runs never overlap.
 */
export interface Materializer {
  readonly name: string;
  /** The projection whose state it mirrors. */
  readonly projection: string;
  /** Its directory, relative to the home. */
  readonly directory: string;
  sync(state: StateReader, ctx: MaterializeContext): Promise<void>;
}
