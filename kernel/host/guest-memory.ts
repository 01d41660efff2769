/**
 * The in-place ABI: airlocks whose arguments are `(pointer, length)` pairs into the capsule's
 * own linear memory and whose result is written into a buffer the capsule passes, instead
 * of Extism memory handles. Nothing is allocated in Extism memory and nothing crosses as
 * JSON on the common path. Every range is checked against the memory's current size; a
 * range outside it, or a pointer argument that is not an i32, is ABI misuse and traps.
 *
 * A result is one status byte ({@link InPlaceStatus}) followed by its payload: nothing for
 * `absent`, the value's UTF-8 bytes for `value`, the JSON error result
 * `{"ok":false,"code":C,"message":M}` for `error`. The airlock returns the result's full
 * length; when that exceeds the buffer's capacity nothing is written, and the capsule calls
 * again with a buffer at least that long (a call reads a snapshot, so the answer is the same).
 */
import { ErrorCode, KernelError, isKernelError } from '../errors/index.ts';
import { abi } from './abi.ts';
import { AirlockLimits } from './grant-checker.ts';

/** The first byte of an in-place result. */
export const InPlaceStatus = { absent: 0, value: 1, error: 2 } as const;

/** Payloads shorter than this are copied byte by byte: cheaper than `set()` for a few bytes. */
const SHORT_COPY = 16;
const FATAL: ReadonlySet<string> = new Set([ErrorCode.CapsuleTrapped, ErrorCode.CapsuleMemoryExceeded]);
const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Reads argument `pos` of `fn` as a pointer or length: an i32, taken as unsigned. */
function u32(fn: string, pos: number, value: unknown): number {
  if (typeof value !== 'number') throw abi(fn, `argument ${pos} is not an i32`);
  return value >>> 0;
}

/**
 * Checks that arguments `pos` and `pos + 1` of `fn` are a pointer and a length whose range
 * lies inside `memory`; returns `[start, end)`.
 */
export function guestRange(memory: Uint8Array, fn: string, pos: number, ptr: unknown, len: unknown): [start: number, end: number] {
  const start = u32(fn, pos, ptr);
  const end = start + u32(fn, pos + 1, len);
  if (end > memory.length) throw abi(fn, `arguments ${pos} and ${pos + 1} reach past the end of linear memory (${memory.length} bytes)`);
  return [start, end];
}

/**
 * Reads a KV key from `memory[start, end)`: at most `AirlockLimits.keyBytes` bytes
 * (`PAYLOAD_TOO_LARGE`), valid UTF-8 (`PAYLOAD_INVALID`), non-empty and free of NUL
 * (`KV_KEY_INVALID`).
 */
export function guestKey(memory: Uint8Array, fn: string, start: number, end: number): string {
  const size = end - start;
  if (size > AirlockLimits.keyBytes) {
    throw new KernelError(ErrorCode.PayloadTooLarge, `Cannot read the key of "${fn}" as it is ${size} bytes, above the limit of ${AirlockLimits.keyBytes}`);
  }
  let key: string;
  try {
    key = utf8.decode(memory.subarray(start, end));
  } catch (error) {
    throw new KernelError(ErrorCode.PayloadInvalid, `Cannot read the key of "${fn}" as it is not valid UTF-8`, { cause: error });
  }
  if (key.length === 0 || key.includes('\0')) {
    throw new KernelError(ErrorCode.KvKeyInvalid, `Cannot use KV key "${key.replaceAll('\0', '\\0')}" as keys must be non-empty and free of NUL`);
  }
  return key;
}

/** Writes a result at `memory[out]` when it fits in `cap` bytes; returns its full length. */
export function writeResult(memory: Uint8Array, out: number, cap: number, status: number, payload: Uint8Array | null): number {
  const size = payload === null ? 0 : payload.length;
  if (1 + size > cap) return 1 + size;
  memory[out] = status;
  if (payload !== null) {
    if (size < SHORT_COPY) for (let i = 0; i < size; i++) memory[out + 1 + i] = payload[i] as number;
    else memory.set(payload, out + 1);
  }
  return 1 + size;
}

/**
 * Wraps the body of an in-place airlock whose output buffer is arguments `outPos` and
 * `outPos + 1` (1-based). The body gets the memory, the arguments and the checked output
 * range, and returns the result's length (see {@link writeResult}). An expected
 * `KernelError` becomes an `error` result; a fatal one (trap, memory) propagates.
 */
export function inPlace(
  fn: string,
  outPos: number,
  memory: () => Uint8Array,
  body: (memory: Uint8Array, args: unknown[], out: number, cap: number) => number,
): (cx: unknown, ...args: unknown[]) => number {
  return (_cx, ...args) => {
    const mem = memory();
    const [out, end] = guestRange(mem, fn, outPos, args[outPos - 1], args[outPos]);
    try {
      return body(mem, args, out, end - out);
    } catch (error) {
      if (!isKernelError(error) || FATAL.has(error.code)) throw error;
      const json = JSON.stringify({ ok: false, code: error.code, message: error.message });
      return writeResult(mem, out, end - out, InPlaceStatus.error, encoder.encode(json));
    }
  };
}
