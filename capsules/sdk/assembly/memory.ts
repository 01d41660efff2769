// Moving bytes between the capsule's linear memory and Extism memory blocks (host side),
// 8 bytes per host call where possible: as-pdk's own helpers copy one byte per call.
import { alloc, free, length, load_u64, load_u8, store_u64, store_u8 } from "@extism/as-pdk/lib/env";

/** Copies `bytes` into a fresh Extism block and returns its handle. */
export function allocBytes(bytes: Uint8Array): u64 {
  const n = bytes.length;
  const handle = alloc(<u64>n);
  const base = bytes.dataStart;
  let i = 0;
  for (; i + 8 <= n; i += 8) store_u64(handle + <u64>i, load<u64>(base + <usize>i));
  for (; i < n; i++) store_u8(handle + <u64>i, load<u8>(base + <usize>i));
  return handle;
}

/** Copies `text`, UTF-8 encoded, into a fresh Extism block and returns its handle. */
export function allocString(text: string): u64 {
  return allocBytes(Uint8Array.wrap(String.UTF8.encode(text)));
}

/** Reads a whole Extism block into a new byte array (handle 0 reads as empty). */
export function readBytes(handle: u64): Uint8Array {
  if (handle == 0) return new Uint8Array(0);
  const n = <i32>length(handle);
  const out = new Uint8Array(n);
  const base = out.dataStart;
  let i = 0;
  for (; i + 8 <= n; i += 8) store<u64>(base + <usize>i, load_u64(handle + <u64>i));
  for (; i < n; i++) store<u8>(base + <usize>i, load_u8(handle + <u64>i));
  return out;
}

/** Reads a whole Extism block as UTF-8 text. */
export function readString(handle: u64): string {
  return String.UTF8.decode(readBytes(handle).buffer);
}

/** Frees an Extism block (no-op for handle 0). */
export function release(handle: u64): void {
  if (handle != 0) free(handle);
}
