// The handler helper: the kernel calls a `[[handler]]` export once per bus message with
// `{"subject":"…","payload":<json>}` (plus `seq` and `source`) as input.
import { JSON } from "json-as";
import { inputString } from "./io";
import { BusMessage } from "./results";

/** Parses the current call's input as a bus message. */
export function readMessage(): BusMessage {
  return JSON.parse<BusMessage>(inputString());
}
