// Typed airlocks. Each returns its natural value and records failures: after any call,
// `lastError()` is null on success or an AirlockError with a stable code such as
// CAPABILITY_DENIED, PAYLOAD_TOO_LARGE, KV_KEY_INVALID or NOT_FOUND.
import { JSON } from "json-as";
import { argumentLength, argumentPtr, callInto, resultLength, resultPtr, setArgument, textResult } from "./in-place";
import { allocString, release } from "./memory";
import { BatchResult, BoolResult, BusMessage, StringResult, StringsResult, settle, take, voidCall } from "./results";

@external("extism:host/user", "astrid_ipc_publish")
declare function astrid_ipc_publish(subject: u64, payload: u64): u64;
@external("extism:host/user", "astrid_ipc_subscribe")
declare function astrid_ipc_subscribe(pattern: u64): u64;
@external("extism:host/user", "astrid_ipc_unsubscribe")
declare function astrid_ipc_unsubscribe(id: u64): u64;
@external("extism:host/user", "astrid_ipc_poll")
declare function astrid_ipc_poll(id: u64, max: u64): u64;
@external("extism:host/user", "astrid_kv_get_into")
declare function astrid_kv_get_into(keyPtr: usize, keyLen: usize, outPtr: usize, outCap: usize): i32;
@external("extism:host/user", "astrid_kv_set")
declare function astrid_kv_set(key: u64, value: u64): u64;
@external("extism:host/user", "astrid_kv_delete")
declare function astrid_kv_delete(key: u64): u64;
@external("extism:host/user", "astrid_kv_list")
declare function astrid_kv_list(prefix: u64): u64;
@external("extism:host/user", "astrid_log")
declare function astrid_log(level: u64, message: u64): u64;
@external("extism:host/user", "astrid_config_get")
declare function astrid_config_get(key: u64): u64;


function stringCall(result: u64): string | null {
  const r = JSON.parse<StringResult>(take(result));
  settle(r.ok, r.code, r.message);
  return r.ok ? r.value : null;
}

/** Publishes `payloadJson` (JSON text) to a concrete subject; false on error. */
export function ipcPublish(subject: string, payloadJson: string): bool {
  const s = allocString(subject);
  const p = allocString(payloadJson);
  const ok = voidCall(astrid_ipc_publish(s, p));
  release(s);
  release(p);
  return ok;
}

/** Subscribes to a pattern (`*` one token, `>` the rest); returns the subscription id or null. */
export function ipcSubscribe(pattern: string): string | null {
  const h = allocString(pattern);
  const id = stringCall(astrid_ipc_subscribe(h));
  release(h);
  return id;
}

/** Closes a subscription; returns whether it was open. */
export function ipcUnsubscribe(id: string): bool {
  const h = allocString(id);
  const r = JSON.parse<BoolResult>(take(astrid_ipc_unsubscribe(h)));
  release(h);
  settle(r.ok, r.code, r.message);
  return r.ok && r.value;
}

/** The next messages of a subscription, at most `max` (empty on error). */
export function ipcPoll(id: string, max: i32 = 64): BusMessage[] {
  const h = allocString(id);
  const r = JSON.parse<BatchResult>(take(astrid_ipc_poll(h, <u64>max)));
  release(h);
  settle(r.ok, r.code, r.message);
  const batch = r.value;
  return r.ok && batch !== null ? batch.messages : [];
}

/** Reads a key of this capsule's KV namespace; null when absent (or on error). */
export function kvGet(key: string): string | null {
  setArgument(key);
  let n = astrid_kv_get_into(argumentPtr(), argumentLength(), resultPtr(), resultLength());
  // Too long for the result buffer: grow it and ask again (a call reads a snapshot).
  while (callInto(n)) n = astrid_kv_get_into(argumentPtr(), argumentLength(), resultPtr(), resultLength());
  return textResult(n);
}

/** Writes a key; the write becomes durable only if the current call succeeds. */
export function kvSet(key: string, value: string): bool {
  const k = allocString(key);
  const v = allocString(value);
  const ok = voidCall(astrid_kv_set(k, v));
  release(k);
  release(v);
  return ok;
}

/** Deletes a key; returns whether it existed. */
export function kvDelete(key: string): bool {
  const h = allocString(key);
  const r = JSON.parse<BoolResult>(take(astrid_kv_delete(h)));
  release(h);
  settle(r.ok, r.code, r.message);
  return r.ok && r.value;
}

/** The keys starting with `prefix`, sorted (empty on error). */
export function kvList(prefix: string = ""): string[] {
  const h = allocString(prefix);
  const r = JSON.parse<StringsResult>(take(astrid_kv_list(h)));
  release(h);
  settle(r.ok, r.code, r.message);
  return r.ok ? r.value : [];
}

/** Writes a log line at `level`: "debug", "info", "warn" or "error". */
export function log(level: string, message: string): bool {
  const l = allocString(level);
  const m = allocString(message);
  const ok = voidCall(astrid_log(l, m));
  release(l);
  release(m);
  return ok;
}

/** The value of a declared `[env]` key; null when unset (or on error). */
export function configGet(key: string): string | null {
  const h = allocString(key);
  const value = stringCall(astrid_config_get(h));
  release(h);
  return value;
}
