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

const CHUNK_BYTES = 1 << 20;
const QUOTED_MAX = 4096;
const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
/** The constant parts of {@link encodeBody}, as bytes. */
const PART = {
  seq: latin1('{"seq":'),
  id: latin1(',"id":"'),
  origin: latin1('","origin":'),
  ts: latin1(',"ts":'),
  type: latin1(',"type":'),
  v: latin1(',"v":'),
  source: latin1(',"source":'),
  subject: latin1(',"subject":'),
  data: latin1(',"data":'),
  prev: latin1(',"prev":"'),
  end: latin1('"}'),
} as const;
const FIXED_BYTES = Object.values(PART).reduce((n, b) => n + b.length, 0);
/** Room for a number: a safe integer has at most 16 digits; anything else is written as `String(n)`. */
const NUMBER_ROOM = 32;

/** The fields of a body the log writes: `id` is always `<origin>:<seq>`. */
export type RecordFields = Omit<BodyFields, 'id'>;

/**
 * Writes records (hex hash ‖ body as UTF-8) back to back into a reused buffer, straight from
 * the fields: the bytes are exactly those of `hash + encodeBody(fields)` (a property test
 * holds it to that), with no body string built. The hash is computed over the bytes in place.
 * A record's bytes stay valid until {@link RecordWriter.reset}, so write them into LMDB
 * (whose puts inside a write transaction copy synchronously) before the next batch resets.
 */
export class RecordWriter {
  #chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  #pos = 0;
  /** JSON-quoted UTF-8 of the strings that repeat (origins, types, sources). */
  readonly #quoted = new Map<string, Buffer>();
  /** The hash of the body last written. */
  hash = '';

  /** Starts a new batch, reusing the buffer. */
  reset(): void {
    this.#pos = 0;
  }

  /** Encodes an event as a record, sets {@link RecordWriter.hash} and returns the record's bytes. */
  write(f: RecordFields): Buffer {
    const origin = this.#quote(f.origin);
    const type = this.#quote(f.type);
    const source = this.#quote(f.source);
    const subject = f.subject === undefined ? null : JSON.stringify(f.subject);
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const room = 64 + FIXED_BYTES + 2 * origin.length + 4 * NUMBER_ROOM + type.length + source.length + 3 * (subject?.length ?? 0) + 3 * f.dataJson.length + f.prev.length;
    if (this.#pos + room > this.#chunk.length) {
      // Earlier records of this batch keep the old chunk alive through their views.
      this.#chunk = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, room));
      this.#pos = 0;
    }
    const buf = this.#chunk;
    const start = this.#pos;
    let o = this.#put(PART.seq, start + 64);
    o = writeNumber(buf, o, f.seq);
    // The id "<origin>:<seq>", quoted: JSON escapes character by character, so that is the
    // quoted origin's inner bytes, a colon and the digits.
    o = this.#put(PART.id, o);
    o = this.#put(origin.subarray(1, origin.length - 1), o);
    buf[o++] = 0x3a; // ':'
    o = writeNumber(buf, o, f.seq);
    o = this.#put(PART.origin, o);
    o = this.#put(origin, o);
    o = writeNumber(buf, this.#put(PART.ts, o), f.ts);
    o = this.#put(type, this.#put(PART.type, o));
    o = writeNumber(buf, this.#put(PART.v, o), f.v);
    o = this.#put(source, this.#put(PART.source, o));
    if (subject !== null) {
      o = this.#put(PART.subject, o);
      o += buf.write(subject, o, 'utf8');
    }
    o = this.#put(PART.data, o);
    o += buf.write(f.dataJson, o, 'utf8');
    o = this.#put(PART.prev, o);
    o += buf.write(f.prev, o, 'latin1');
    o = this.#put(PART.end, o);
    const record = buf.subarray(start, o);
    this.hash = sha256Hex(record.subarray(64));
    buf.write(this.hash, start, 'latin1');
    this.#pos = o;
    return record;
  }

  #put(bytes: Uint8Array, at: number): number {
    this.#chunk.set(bytes, at);
    return at + bytes.length;
  }

  #quote(text: string): Buffer {
    let bytes = this.#quoted.get(text);
    if (bytes === undefined) {
      if (this.#quoted.size >= QUOTED_MAX) this.#quoted.clear();
      bytes = Buffer.from(JSON.stringify(text), 'utf8');
      this.#quoted.set(text, bytes);
    }
    return bytes;
  }
}

/** Writes `n` as JSON does for the finite numbers of an envelope: digits for a non-negative safe integer, else `String(n)`. */
function writeNumber(buf: Buffer, at: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) return at + buf.write(String(n), at, 'latin1');
  let len = 1;
  for (let m = n; m >= 10; m = Math.floor(m / 10)) len++;
  let p = at + len;
  let m = n;
  do {
    buf[--p] = 0x30 + (m % 10);
    m = Math.floor(m / 10);
  } while (m > 0);
  return at + len;
}
