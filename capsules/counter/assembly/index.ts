// The counter capsule: a service keeping one count in its KV namespace. Each request on
// counter.increment adds to it and publishes the new value on counter.value, addressed to
// the request's source. The KV write, the answer and the delivery's acknowledgement are
// committed together, so a request is counted once even across a kernel crash.
import { JSON } from "json-as";
import { fail, ipcPublish, kvGet, kvSet, lastError, outputString, readMessage } from "astrid-sdk";

@json
class IncrementRequest {
  @optional by: i64 = 1;
}

@json
class Answer {
  value: i64 = 0;
  request: i64 = 0;
  to: string = "";
}

function current(): i64 {
  const stored = kvGet("count");
  return stored !== null ? I64.parseInt(stored) : 0;
}

function airlockFailure(): i32 {
  const e = lastError();
  return e !== null ? fail(e.code, e.message) : fail("INTERNAL", "airlock failed");
}

// [[handler]] counter.increment → counter.value
export function increment(): i32 {
  const msg = readMessage();
  const req = JSON.parse<IncrementRequest>(msg.payload.data);
  if (req.by < 1 || req.by > 1000000) return fail("BAD_INPUT", "by must be between 1 and 1000000");
  const answer = new Answer();
  answer.value = current() + req.by;
  answer.request = msg.seq;
  answer.to = msg.source;
  if (!kvSet("count", answer.value.toString())) return airlockFailure();
  if (!ipcPublish("counter.value", JSON.stringify<Answer>(answer))) return airlockFailure();
  outputString(answer.value.toString());
  return 0;
}

// `astrid capsule call counter get`: the current count.
export function get(): i32 {
  outputString(current().toString());
  return 0;
}
