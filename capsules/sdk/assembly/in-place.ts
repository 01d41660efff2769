// The in-place airlocks (`astrid_*_into`) read their arguments from, and write their result
// into, this capsule's own memory: no Extism block, no JSON on the common path. A result is
// one status byte (0 absent, 1 value, 2 error) and then the value's UTF-8 bytes or the error
// as JSON; the airlock returns the result's full length, and writes nothing when that is
// longer than the buffer it was given. Both buffers are reused from call to call.
import { JSON } from "json-as";
import { VoidResult, settle } from "./results";

const ABSENT: u8 = 0;
const VALUE: u8 = 1;
/** A buffer grown past this is given back once the airlock's result is read. */
const KEEP: i32 = 65536;
const ARGUMENT_START: i32 = 64;
const RESULT_START: i32 = 256;

// Globals, so that the collector never frees a buffer the host is about to fill.
let argument = new ArrayBuffer(ARGUMENT_START);
let argumentBytes: i32 = 0;
let result = new ArrayBuffer(RESULT_START);

/** UTF-8 encodes `text` into the argument buffer. */
export function setArgument(text: string): void {
  const worst = text.length * 3; // a UTF-16 unit never takes more than 3 bytes
  if (argument.byteLength < worst) argument = new ArrayBuffer(worst);
  argumentBytes = <i32>String.UTF8.encodeUnsafe(changetype<usize>(text), text.length, changetype<usize>(argument));
}

/** Where the argument buffer's bytes start. */
export function argumentPtr(): usize {
  return changetype<usize>(argument);
}

/** How many bytes `setArgument` wrote. */
export function argumentLength(): usize {
  return <usize>argumentBytes;
}

/** Where the result buffer starts. */
export function resultPtr(): usize {
  return changetype<usize>(result);
}

/** The result buffer's capacity. */
export function resultLength(): usize {
  return <usize>result.byteLength;
}

/**
 * Whether an in-place airlock must be called again: true when its result of `n` bytes did
 * not fit, after growing the result buffer to hold it.
 */
export function callInto(n: i32): bool {
  if (n <= result.byteLength) return false;
  result = new ArrayBuffer(n);
  return true;
}

/** Reads a text result of `n` bytes: the value, or null when absent or on error (see `lastError()`). */
export function textResult(n: i32): string | null {
  const base = changetype<usize>(result);
  let value: string | null = null;
  const status = n > 0 ? load<u8>(base) : <u8>255;
  if (status == VALUE) {
    value = String.UTF8.decodeUnsafe(base + 1, <usize>(n - 1));
    settle(true, "", "");
  } else if (status == ABSENT) {
    settle(true, "", "");
  } else if (n > 1) {
    const r = JSON.parse<VoidResult>(String.UTF8.decodeUnsafe(base + 1, <usize>(n - 1)));
    settle(false, r.code, r.message);
  } else {
    settle(false, "INTERNAL", "the airlock answered with an empty result");
  }
  if (result.byteLength > KEEP) result = new ArrayBuffer(RESULT_START);
  if (argument.byteLength > KEEP) argument = new ArrayBuffer(ARGUMENT_START);
  return value;
}
