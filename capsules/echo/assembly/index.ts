// The echo capsule: `echo` returns its input; `exercise` calls every airlock and reports
// what each returned; `handle` is a bus handler; the rest fail on purpose.
import { JSON } from "json-as";
import {
  allocString, configGet, fail, input, inputString, ipcPoll, ipcPublish, ipcSubscribe, ipcUnsubscribe,
  kvDelete, kvGet, kvList, kvSet, lastError, log, output, outputString, quote, readMessage, release,
} from "astrid-sdk";

@json
class Request {
  name: string = "";
}

@json
class Report {
  greeting: string = "";
  stored: string | null = null;
  keys: string[] = [];
  deleted: bool = false;
  afterDelete: string | null = null;
  polled: string[] = [];
  unsubscribed: bool = false;
  deniedCode: string = "";
  badKeyCode: string = "";
  missingConfigCode: string = "";
}

export function echo(): i32 {
  output(input());
  return 0;
}

export function exercise(): i32 {
  const req = JSON.parse<Request>(inputString());
  const r = new Report();
  const greeting = configGet("GREETING");
  r.greeting = (greeting !== null ? greeting : "hi") + ", " + req.name;
  log("info", "exercising for " + req.name);

  const sub = ipcSubscribe("echo.in.>");
  if (sub === null) return fail(lastError()!.code, lastError()!.message);
  ipcPublish("echo.out.greeting", '{"text":' + JSON.stringify(r.greeting) + "}");

  kvSet("user:" + req.name, r.greeting);
  kvSet("scratch", "temporary");
  r.stored = kvGet("user:" + req.name);
  r.keys = kvList("");
  r.deleted = kvDelete("scratch");
  r.afterDelete = kvGet("scratch");

  const messages = ipcPoll(sub!, 10);
  for (let i = 0; i < messages.length; i++) r.polled.push(messages[i].subject + "=" + messages[i].payload.data);
  r.unsubscribed = ipcUnsubscribe(sub!);

  if (!ipcPublish("forbidden.topic", "{}")) r.deniedCode = lastError()!.code;
  kvGet("");
  if (lastError() !== null) r.badKeyCode = lastError()!.code;
  configGet("UNDECLARED");
  if (lastError() !== null) r.missingConfigCode = lastError()!.code;

  outputString(JSON.stringify<Report>(r));
  return 0;
}

// A [[handler]]: counts messages in KV and answers on echo.reply.
export function handle(): i32 {
  const msg = readMessage();
  const seen = kvGet("seen");
  const count = (seen !== null ? I32.parseInt(seen) : 0) + 1;
  kvSet("seen", count.toString());
  ipcPublish("echo.reply", '{"subject":' + JSON.stringify(msg.subject) + ',"payload":' + msg.payload.data + ',"count":' + count.toString() + "}");
  outputString(count.toString());
  return 0;
}

// Writes, publishes, then fails softly: none of it may be committed.
export function fail_soft(): i32 {
  kvSet("never", "written");
  ipcPublish("echo.out.never", "{}");
  return fail("BAD_INPUT", "the input was refused: " + inputString());
}

// Writes, then trips an assertion: the call traps through the SDK's abort.
export function boom(): i32 {
  kvSet("never", "written");
  assert(false, "boom went the capsule");
  return 0;
}

// Allocates `input` MiB of linear memory and keeps it.
const kept = new Array<Uint8Array>();
export function grow(): i32 {
  const n = I32.parseInt(inputString());
  for (let i = 0; i < n; i++) kept.push(new Uint8Array(1 << 20));
  outputString(memory.size().toString());
  return 0;
}

// Calls kv_get `input` times on one key (for the airlock benchmark).
export function kv_loop(): i32 {
  const n = I32.parseInt(inputString());
  let hits = 0;
  for (let i = 0; i < n; i++) if (kvGet("bench") !== null) hits++;
  outputString(hits.toString());
  return 0;
}

// Calls kv_get `input` times on distinct keys, each a round trip to the kernel.
export function kv_loop_distinct(): i32 {
  const n = I32.parseInt(inputString());
  let hits = 0;
  for (let i = 0; i < n; i++) if (kvGet("k" + i.toString()) !== null) hits++;
  outputString(hits.toString());
  return 0;
}

// Outputs "+" and the value of the key given as input, or "-" when it is absent; fails with
// the airlock's code.
export function get(): i32 {
  const value = kvGet(inputString());
  const e = lastError();
  if (e !== null) return fail(e.code, e.message);
  outputString(value !== null ? "+" + value! : "-");
  return 0;
}

// Reads "rw", writes the input to it, reads it, deletes it and reads it again: outputs
// the three reads as a JSON array (a read sees the call's own earlier writes).
export function rewrite(): i32 {
  const before = kvGet("rw");
  kvSet("rw", inputString());
  const written = kvGet("rw");
  kvDelete("rw");
  const deleted = kvGet("rw");
  const show = (s: string | null): string => (s !== null ? quote(s!) : "null");
  outputString("[" + show(before) + "," + show(written) + "," + show(deleted) + "]");
  return 0;
}

// Allocates and frees `input` Extism memory blocks (1.0.3 never reuses one within a call).
export function alloc_loop(): i32 {
  const n = I32.parseInt(inputString());
  for (let i = 0; i < n; i++) release(allocString("x"));
  outputString(n.toString());
  return 0;
}

// Opens a subscription to the pattern given as input; outputs its id.
export function subscribe(): i32 {
  const id = ipcSubscribe(inputString());
  if (id === null) return fail(lastError()!.code, lastError()!.message);
  outputString(id!);
  return 0;
}

// Polls the subscription whose id is the input; outputs `subject=payload` lines.
export function poll(): i32 {
  const messages = ipcPoll(inputString(), 100);
  const e = lastError();
  if (e !== null) return fail(e.code, e.message);
  const lines: string[] = [];
  for (let i = 0; i < messages.length; i++) lines.push(messages[i].subject + "=" + messages[i].payload.data);
  outputString(lines.join("\n"));
  return 0;
}

// Writes and publishes, then never returns: the host's timeout must drop both.
export function write_then_spin(): i32 {
  kvSet("never", "written");
  ipcPublish("echo.out.never", "{}");
  let x: u64 = 1;
  while (x != 0) x = x * 6364136223846793005 + 1442695040888963407;
  return 0;
}
