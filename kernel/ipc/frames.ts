import { ErrorCode, KernelError } from '../errors/index.ts';

/** Bytes of the big-endian length prefix in front of every frame. */
const HEADER_BYTES = 4;

/** Largest JSON body a frame may carry (16 MiB); a larger frame is a protocol violation. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Encodes one message as a frame: a 4-byte big-endian body length, then the UTF-8 JSON body.
 *
 * Throws KernelError PAYLOAD_TOO_LARGE when the body exceeds `maxBytes` (default
 * {@link MAX_FRAME_BYTES}) and INVALID_ARGUMENT when the message is not JSON-serialisable
 * (a bigint, a cycle, or nothing at all).
 */
export function encodeFrame(message: unknown, maxBytes = MAX_FRAME_BYTES): Buffer {
  let json: string | undefined;
  try {
    json = JSON.stringify(message);
  } catch (error) {
    throw new KernelError(ErrorCode.InvalidArgument, 'Cannot encode a frame as the message is not JSON', {
      cause: error,
    });
  }
  if (json === undefined) {
    throw new KernelError(ErrorCode.InvalidArgument, 'Cannot encode a frame as the message is not JSON');
  }
  const bodyBytes = Buffer.byteLength(json, 'utf8');
  if (bodyBytes > maxBytes) {
    throw new KernelError(
      ErrorCode.PayloadTooLarge,
      `Cannot encode a frame of ${bodyBytes} bytes as the limit is ${maxBytes} bytes`,
      { details: { bytes: bodyBytes, limit: maxBytes } },
    );
  }
  const frame = Buffer.allocUnsafe(HEADER_BYTES + bodyBytes);
  frame.writeUInt32BE(bodyBytes, 0);
  frame.write(json, HEADER_BYTES, 'utf8');
  return frame;
}

/**
 * Splits a byte stream into decoded JSON frames, whatever the chunking: a frame may arrive in
 * many chunks and one chunk may hold many frames.
 *
 * `push()` throws KernelError PROTOCOL_VIOLATION when a declared length exceeds the limit (as
 * soon as the header arrives, before buffering the body), when a body is not valid UTF-8, or
 * when it is not JSON. After a throw the decoder is unusable: close the connection.
 */
export class FrameDecoder {
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #failed = false;

  /** A decoder accepting bodies up to `maxBytes` (default {@link MAX_FRAME_BYTES}). */
  constructor(maxBytes = MAX_FRAME_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Adds a chunk and returns every frame it completes, in order (possibly none). */
  push(chunk: Uint8Array): unknown[] {
    if (this.#failed) {
      throw new KernelError(ErrorCode.ProtocolViolation, 'Cannot decode frames as the stream already failed');
    }
    if (chunk.byteLength > 0) {
      this.#chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.#buffered += chunk.byteLength;
    }
    const frames: unknown[] = [];
    for (;;) {
      if (this.#buffered < HEADER_BYTES) return frames;
      const length = this.#peekLength();
      if (length > this.#maxBytes) {
        this.#fail();
        throw new KernelError(
          ErrorCode.ProtocolViolation,
          `Cannot accept a frame of ${length} bytes as the limit is ${this.#maxBytes} bytes`,
          { details: { bytes: length, limit: this.#maxBytes } },
        );
      }
      if (this.#buffered < HEADER_BYTES + length) return frames;
      const body = this.#take(HEADER_BYTES + length).subarray(HEADER_BYTES);
      frames.push(this.#parse(body));
    }
  }

  #peekLength(): number {
    const first = this.#chunks[0];
    if (first !== undefined && first.byteLength >= HEADER_BYTES) return first.readUInt32BE(0);
    // The header itself is split across chunks: merge them (at most 4 bytes are needed).
    const merged = Buffer.concat(this.#chunks);
    this.#chunks = [merged];
    return merged.readUInt32BE(0);
  }

  /** Removes and returns the first `n` buffered bytes; only concatenates when a frame spans chunks. */
  #take(n: number): Buffer {
    const first = this.#chunks[0];
    let out: Buffer;
    if (first !== undefined && first.byteLength >= n) {
      out = first.subarray(0, n);
      if (first.byteLength === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      const merged = Buffer.concat(this.#chunks);
      out = merged.subarray(0, n);
      this.#chunks = merged.byteLength > n ? [merged.subarray(n)] : [];
    }
    this.#buffered -= n;
    return out;
  }

  #parse(body: Buffer): unknown {
    try {
      return JSON.parse(utf8.decode(body)) as unknown;
    } catch (error) {
      this.#fail();
      throw new KernelError(ErrorCode.ProtocolViolation, 'Cannot decode a frame as its body is not UTF-8 JSON', {
        cause: error,
      });
    }
  }

  #fail(): void {
    this.#failed = true;
    this.#chunks = [];
    this.#buffered = 0;
  }
}
