// Airlock results: the host answers `{"ok":true,"value":V}` or
// `{"ok":false,"code":C,"message":M}`. The last error is kept, errno style.
import { JSON } from "json-as";
import { readString, release } from "./memory";

/** A coded error from an airlock: `code` is one of the kernel's stable error codes. */
export class AirlockError {
  constructor(public code: string, public message: string) {}
}

let last: AirlockError | null = null;

/** The error of the most recent airlock call, or null when it succeeded. */
export function lastError(): AirlockError | null {
  return last;
}

/** Records the outcome of an airlock call; returns whether it succeeded. */
export function settle(ok: bool, code: string, message: string): bool {
  last = ok ? null : new AirlockError(code, message);
  return ok;
}

@json
export class VoidResult {
  ok: bool = false;
  @optional value: JSON.Raw | null = null;
  @optional code: string = "";
  @optional message: string = "";
}

@json
export class StringResult {
  ok: bool = false;
  @optional value: string | null = null;
  @optional code: string = "";
  @optional message: string = "";
}

@json
export class BoolResult {
  ok: bool = false;
  @optional value: bool = false;
  @optional code: string = "";
  @optional message: string = "";
}

@json
export class StringsResult {
  ok: bool = false;
  @optional value: string[] = [];
  @optional code: string = "";
  @optional message: string = "";
}

/** One bus message: what a handler receives and what `ipcPoll` returns. */
@json
export class BusMessage {
  @optional seq: i64 = 0;
  subject: string = "";
  @optional source: string = "";
  /** The payload as JSON text: parse it with `JSON.parse<T>(msg.payload.data)`. */
  payload: JSON.Raw = new JSON.Raw("null");
}

@json
export class Batch {
  messages: BusMessage[] = [];
}

@json
export class BatchResult {
  ok: bool = false;
  @optional value: Batch | null = null;
  @optional code: string = "";
  @optional message: string = "";
}

/** Reads the host's answer at `handle` as text and frees it. */
export function take(handle: u64): string {
  const text = readString(handle);
  release(handle);
  return text;
}

/** Settles an answer that carries no value: false on failure, with `lastError()` set. */
export function voidCall(result: u64): bool {
  const r = JSON.parse<VoidResult>(take(result));
  return settle(r.ok, r.code, r.message);
}
