// Call input and output. Text is UTF-8 in both directions (as-pdk's Host.outputString
// measures UTF-16 units and corrupts non-ASCII text; these helpers do not).
import { Host } from "@extism/as-pdk";
import { error_set, output_set } from "@extism/as-pdk/lib/env";
import { allocBytes, allocString } from "./memory";

/** The call's input bytes. */
export function input(): Uint8Array {
  return Host.input();
}

/** The call's input as UTF-8 text. */
export function inputString(): string {
  return String.UTF8.decode(Host.input().buffer);
}

/** Sets the call's output bytes. */
export function output(bytes: Uint8Array): void {
  output_set(allocBytes(bytes), <u64>bytes.length);
}

/** Sets the call's output to `text`, UTF-8 encoded. */
export function outputString(text: string): void {
  output(Uint8Array.wrap(String.UTF8.encode(text)));
}

/**
 * Ends the call as a failure the host reports as CAPSULE_FAILED, carrying `code` (your own
 * stable code) in details.capsuleCode. Use it as `return fail("NOT_FOUND", "no such user")`:
 * the export must return right after.
 */
export function fail(code: string, message: string): i32 {
  const json = '{"code":' + quote(code) + ',"message":' + quote(message) + "}";
  error_set(allocString(json));
  return 1;
}

/** `text` as a JSON string literal. */
export function quote(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += "\\\\";
    else if (c < 0x20) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += String.fromCharCode(c);
  }
  return out + '"';
}
