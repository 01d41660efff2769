// The client capsule: on client.start {"target": N} it asks the counter to increment; on
// each answer addressed to it, it records the value and how many answers it received in
// its KV and asks again, until the counter reaches N; then it publishes client.done.
// Each step's KV writes, its next request and the delivery's acknowledgement are one unit.
import { JSON } from "json-as";
import { fail, ipcPublish, kvDelete, kvGet, kvSet, lastError, outputString, readMessage } from "astrid-sdk";

const SELF = "capsule:client";
const REQUEST = '{"by":1}';

@json
class Start {
  target: i64 = 0;
}

@json
class Answer {
  value: i64 = 0;
  @optional request: i64 = 0;
  @optional to: string = "";
}

@json
class Status {
  target: i64 = 0;
  received: i64 = 0;
  last: i64 = 0;
  done: bool = false;
}

function readInt(key: string): i64 {
  const stored = kvGet(key);
  return stored !== null ? I64.parseInt(stored) : 0;
}

function airlockFailure(): i32 {
  const e = lastError();
  return e !== null ? fail(e.code, e.message) : fail("INTERNAL", "airlock failed");
}

function status(): Status {
  const s = new Status();
  s.target = readInt("target");
  s.received = readInt("received");
  s.last = readInt("last");
  s.done = kvGet("done") !== null;
  return s;
}

// [[handler]] client.start: begins a conversation (a new one replaces any running one).
export function start(): i32 {
  const msg = readMessage();
  const req = JSON.parse<Start>(msg.payload.data);
  if (req.target < 1) return fail("BAD_INPUT", "target must be at least 1");
  if (!kvSet("target", req.target.toString())) return airlockFailure();
  kvSet("received", "0");
  kvDelete("done");
  if (!ipcPublish("counter.increment", REQUEST)) return airlockFailure();
  return 0;
}

// [[handler]] counter.value: records the answer, then asks again or reports done.
export function on_value(): i32 {
  const msg = readMessage();
  const answer = JSON.parse<Answer>(msg.payload.data);
  if (answer.to != SELF) return 0;
  const target = readInt("target");
  if (target == 0 || kvGet("done") !== null) return 0;
  const received = readInt("received") + 1;
  if (!kvSet("received", received.toString())) return airlockFailure();
  kvSet("last", answer.value.toString());
  if (answer.value < target) {
    if (!ipcPublish("counter.increment", REQUEST)) return airlockFailure();
  } else {
    kvSet("done", "true");
    const s = status();
    if (!ipcPublish("client.done", JSON.stringify<Status>(s))) return airlockFailure();
  }
  return 0;
}

// `astrid capsule call client status`: {"target","received","last","done"}.
export function report(): i32 {
  outputString(JSON.stringify<Status>(status()));
  return 0;
}
