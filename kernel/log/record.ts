import * as crypto from 'node:crypto';
import type { HashedEvent } from '../events/index.ts';

// One-shot `crypto.hash` (Node 20.12+) skips the Hash object and is about a third cheaper per event.
const oneShot = typeof crypto.hash === 'function' ? crypto.hash : null;

/** SHA-256 of text (as UTF-8) or bytes, lowercase hex. */
export function sha256Hex(input: string | Uint8Array): string {
  return oneShot === null ? crypto.createHash('sha256').update(input).digest('hex') : oneShot('sha256', input, 'hex');
}

/** The envelope fields that make up an event body, `data` already serialized. */
export interface BodyFields {
  readonly seq: number;
  readonly id: string;
  readonly origin: string;
  readonly ts: number;
  readonly type: string;
  readonly v: number;
  readonly source: string;
  readonly subject: string | undefined;
  readonly dataJson: string;
  readonly prev: string;
}

/**
 * The canonical JSON text of an event: fixed key order, `data` as given. The chain hash is
 * the SHA-256 of exactly this text, which includes `prev`, so each hash covers every
 * earlier event.
 */
export function encodeBody(f: BodyFields): string {
  const subject = f.subject === undefined ? '' : `,"subject":${JSON.stringify(f.subject)}`;
  return (
    `{"seq":${f.seq},"id":${JSON.stringify(f.id)},"origin":${JSON.stringify(f.origin)},"ts":${f.ts},` +
    `"type":${JSON.stringify(f.type)},"v":${f.v},"source":${JSON.stringify(f.source)}${subject},` +
    `"data":${f.dataJson},"prev":"${f.prev}"}`
  );
}

/** A stored record: the 64-character hex hash followed by the body. */
export function encodeRecord(hash: string, body: string): string {
  return hash + body;
}

/** Splits a stored record into its hash and body without parsing. */
export function splitRecord(record: string): { hash: string; body: string } {
  return { hash: record.slice(0, 64), body: record.slice(64) };
}

/** Parses a stored record into an event. The caller vouches for the record's origin. */
export function decodeRecord(record: string): HashedEvent {
  // The parsed object is fresh: give it its hash in place rather than copying it.
  const event = JSON.parse(record.slice(64)) as { hash: string };
  event.hash = record.slice(0, 64);
  return event as unknown as HashedEvent;
}

const TYPE_FIELD = ',"type":"';

/**
 * The `type` of a stored record, read from its canonical text without parsing it (see
 * {@link encodeBody}: only numbers and JSON strings come before it, and a JSON string cannot
 * hold `,"type":"` unescaped); null when the text is not in that form.
 */
export function peekType(record: string): string | null {
  const at = record.indexOf(TYPE_FIELD, 64);
  if (at === -1) return null;
  const start = at + TYPE_FIELD.length;
  const end = record.indexOf('"', start);
  return end === -1 ? null : record.slice(start, end);
}

const QUOTED_MAX = 4096;

/** The fields of a body the log writes: `id` is always `<origin>:<seq>`. */
export type RecordFields = Omit<BodyFields, 'id'>;

/**
 * Encodes records (hex hash ‖ canonical body) straight from the fields: the text is exactly
 * `hash + encodeBody(fields)` (a property test holds it to that), built in one template with
 * the strings that repeat (origins, types, sources) quoted once, and hashed as it stands.
 */
export class RecordWriter {
  /** JSON-quoted text of the strings that repeat. */
  readonly #quoted = new Map<string, string>();
  /** The hash of the body last written. */
  hash = '';

  /** Encodes an event as a record, sets {@link RecordWriter.hash} and returns the record. */
  write(f: RecordFields): string {
    return this.finish(this.prefix(f), f.prev);
  }

  /**
   * The body up to its `prev` value: everything of a record that does not depend on the chain,
   * so it can be built before the previous hash is known. It holds no raw line break.
   */
  prefix(f: Omit<RecordFields, 'prev'>): string {
    const origin = this.#quote(f.origin);
    const subject = f.subject === undefined ? '' : `,"subject":${JSON.stringify(f.subject)}`;
    // The id "<origin>:<seq>", quoted: JSON escapes character by character, so that is the
    // quoted origin without its closing quote, a colon and the digits.
    return (
      `{"seq":${f.seq},"id":${origin.slice(0, -1)}:${f.seq}","origin":${origin},"ts":${f.ts},` +
      `"type":${this.#quote(f.type)},"v":${f.v},"source":${this.#quote(f.source)}${subject},` +
      `"data":${f.dataJson},"prev":"`
    );
  }

  /** Completes a {@link RecordWriter.prefix} with the previous hash, sets {@link RecordWriter.hash} and returns the record. */
  finish(prefix: string, prev: string): string {
    const body = `${prefix}${prev}"}`;
    this.hash = sha256Hex(body);
    return this.hash + body;
  }

  #quote(text: string): string {
    let quoted = this.#quoted.get(text);
    if (quoted === undefined) {
      if (this.#quoted.size >= QUOTED_MAX) this.#quoted.clear();
      quoted = JSON.stringify(text);
      this.#quoted.set(text, quoted);
    }
    return quoted;
  }
}
