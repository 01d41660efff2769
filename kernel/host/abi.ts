/**
 * The ABI helpers every airlock shares: reading arguments from Extism memory handles (ABI
 * misuse traps the call) and wrapping a body so its value or expected error becomes a JSON
 * result handle.
 */
import type { CallContext } from '@extism/extism';
import { ErrorCode, KernelError, isKernelError } from '../errors/index.ts';
import { AirlockLimits } from './grant-checker.ts';

/** A host function as Extism calls it: an i64 result is a bigint, an i32 result a number. */
export type HostFn = (cx: CallContext, ...args: unknown[]) => bigint | number;

const LOW48 = (1n << 48n) - 1n;
/**
 * Extism 1.0.3 addresses block `i` as `i << 48` and never reuses an index within a call, so
 * block 32768 would have the sign bit set and break every kernel function: a call may
 * allocate at most 32767 blocks (each airlock uses about two).
 */
const MAX_ADDRESS = 1n << 63n;

function blocksExhausted(): KernelError {
  return new KernelError(ErrorCode.CapsuleMemoryExceeded, 'Cannot allocate Extism memory as the call has used all 32767 memory blocks', {
    details: { reason: 'extism-blocks' },
  });
}
const FATAL: ReadonlySet<string> = new Set([ErrorCode.CapsuleTrapped, ErrorCode.CapsuleMemoryExceeded]);
/** Levels `astrid_log` accepts. */
export const LEVELS: ReadonlySet<string> = new Set(['debug', 'info', 'warn', 'error']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** ABI misuse: not answered, the call traps. */
export function abi(fn: string, message: string): KernelError {
  return new KernelError(ErrorCode.CapsuleTrapped, `Cannot run "${fn}" as the capsule broke the ABI: ${message}`, { details: { reason: 'abi', airlock: fn } });
}

/** Reads argument `pos` of `fn` as raw bytes (a copy) of at most `max` bytes. */
export function readBytes(cx: CallContext, fn: string, pos: number, handle: unknown, max: number): Uint8Array {
  return liveBlock(cx, fn, pos, handle, max).bytes().slice();
}

/** Reads argument `pos` of `fn` as a plain i64 (a count or an fd), clamped to `[min, max]`. */
export function readInt(fn: string, pos: number, value: unknown, min: number, max: number): number {
  if (typeof value !== 'bigint') throw abi(fn, `argument ${pos} is not an i64`);
  return Number(value < BigInt(min) ? BigInt(min) : value > BigInt(max) ? BigInt(max) : value);
}

function liveBlock(cx: CallContext, fn: string, pos: number, handle: unknown, max: number): NonNullable<ReturnType<CallContext['read']>> {
  if (typeof handle !== 'bigint') throw abi(fn, `argument ${pos} is not an i64 memory handle`);
  const block = handle <= 0n || (handle & LOW48) !== 0n ? null : cx.read(handle);
  if (block === null) throw abi(fn, `argument ${pos} is not a live memory handle`);
  // The size is known before anything is decoded or copied.
  const size = Number(cx.length(handle));
  if (size > max) {
    throw new KernelError(ErrorCode.PayloadTooLarge, `Cannot read argument ${pos} of "${fn}" as it is ${size} bytes, above the limit of ${max}`);
  }
  return block;
}

/** Reads argument `pos` of `fn` as UTF-8 text of at most `max` bytes. */
export function readText(cx: CallContext, fn: string, pos: number, handle: unknown, max: number): string {
  const block = liveBlock(cx, fn, pos, handle, max);
  try {
    return utf8.decode(block.bytes());
  } catch (error) {
    throw new KernelError(ErrorCode.PayloadInvalid, `Cannot read argument ${pos} of "${fn}" as it is not valid UTF-8`, { cause: error });
  }
}

/** Reads a KV key argument: non-empty (unless allowed) and free of NUL. */
export function readKey(cx: CallContext, fn: string, handle: unknown, allowEmpty = false): string {
  const key = readText(cx, fn, 1, handle, AirlockLimits.keyBytes);
  if ((!allowEmpty && key.length === 0) || key.includes('\0')) {
    throw new KernelError(ErrorCode.KvKeyInvalid, `Cannot use KV key "${key.replaceAll('\0', '\\0')}" as keys must be non-empty and free of NUL`);
  }
  return key;
}

/** Refuses an address past the last Extism block a call may use. */
export function checked(address: bigint): bigint {
  if (address >= MAX_ADDRESS) throw blocksExhausted();
  return address;
}

/** Wraps an airlock body: its value becomes an ok result, an expected error an error result. */
export function airlock(fn: string, body: (cx: CallContext, args: unknown[]) => string): (cx: CallContext, ...args: unknown[]) => bigint {
  return (cx, ...args) => {
    let value: string;
    try {
      value = body(cx, args);
    } catch (error) {
      if (isKernelError(error) && !FATAL.has(error.code)) {
        return checked(cx.store(JSON.stringify({ ok: false, code: error.code, message: error.message })));
      }
      throw error;
    }
    return checked(cx.store(`{"ok":true,"value":${value}}`));
  };
}

