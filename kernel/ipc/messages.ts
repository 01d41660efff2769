/**
 * The wire protocol between CLI processes and the owner of a home, revision 1.
 *
 * Every frame is a 4-byte big-endian length then a UTF-8 JSON body (frames.ts). The client
 * opens with `{t:'hello', protocol}`; the server answers `{t:'hello', protocol, server: {pid,
 * role}}`, or `{t:'error', error}` (PROTOCOL_MISMATCH) and closes. Then the client sends
 * `call`/`stream`/`cancel` frames carrying its own numeric ids, and the server answers
 * `result`, or `item`… then `end`, or `error` for that id. Anything the schemas below reject
 * is a PROTOCOL_VIOLATION: the receiver sends (or raises) it and closes the connection.
 */
import * as v from 'valibot';
import { ErrorCode, KernelError } from '../errors/index.ts';

/** The wire protocol revision spoken by this build; both ends must agree on it exactly. */
export const PROTOCOL_VERSION = 1;

/** Who may own a home: the long-running daemon, or a CLI command for its own duration. */
export const OwnerRoleSchema = v.picklist(['daemon', 'command']);
/** Who owns a home: `daemon` or `command`. */
export type OwnerRole = v.InferOutput<typeof OwnerRoleSchema>;

const IdSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
/** Longest operation name the protocol carries. */
export const MAX_OP_LENGTH = 256;

const OpSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_OP_LENGTH));
const ErrorCodes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** The wire form of an error as received: the code is checked later, so a newer peer's code survives. */
const WireErrorSchema = v.object({
  code: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  message: v.pipe(v.string(), v.maxLength(4096)),
  details: v.optional(v.record(v.string(), v.union([v.string(), v.number(), v.boolean(), v.null()]))),
});

/** The first frame a client sends; loose so a newer client is told PROTOCOL_MISMATCH, not VIOLATION. */
export const ClientHelloSchema = v.looseObject({ t: v.literal('hello'), protocol: v.number() });

/** Every frame a client may send after the handshake. */
export const ClientMessageSchema = v.variant('t', [
  v.object({ t: v.literal('call'), id: IdSchema, op: OpSchema, args: v.unknown() }),
  v.object({ t: v.literal('stream'), id: IdSchema, op: OpSchema, args: v.unknown() }),
  v.object({ t: v.literal('cancel'), id: IdSchema }),
]);
/** A frame a client sends after the handshake: `call`, `stream` or `cancel`. */
export type ClientMessage = v.InferOutput<typeof ClientMessageSchema>;

/** The first frame a server sends: its hello, or an error (PROTOCOL_MISMATCH) before closing. */
export const ServerHelloSchema = v.variant('t', [
  v.looseObject({
    t: v.literal('hello'),
    protocol: v.number(),
    server: v.object({ pid: v.pipe(v.number(), v.safeInteger()), role: OwnerRoleSchema }),
  }),
  v.object({ t: v.literal('error'), error: WireErrorSchema }),
]);

/**
 * Every frame a server may send after the handshake. `error` without an id concerns the whole
 * connection (it is closed next); `bye` says the owner is leaving: no new requests, answers to
 * the in-flight requests it lists in `started` may still follow, and any other request of the
 * connection was never started (the client may send it again to the next owner).
 */
export const ServerMessageSchema = v.variant('t', [
  v.object({ t: v.literal('result'), id: IdSchema, value: v.unknown() }),
  v.object({ t: v.literal('item'), id: IdSchema, value: v.unknown() }),
  v.object({ t: v.literal('end'), id: IdSchema }),
  v.object({ t: v.literal('error'), id: v.optional(IdSchema), error: WireErrorSchema }),
  v.object({ t: v.literal('bye'), started: v.pipe(v.array(IdSchema), v.maxLength(1_000_000)) }),
]);
/** A frame a server sends after the handshake. */
export type ServerMessage = v.InferOutput<typeof ServerMessageSchema>;

/** The server identity announced in its hello. */
export interface ServerInfo {
  readonly pid: number;
  readonly role: OwnerRole;
}

/**
 * Turns a received wire error into a KernelError. A code this build does not know becomes
 * INTERNAL, keeping the original under `details.remoteCode`.
 */
export function errorFromWire(wire: v.InferOutput<typeof WireErrorSchema>): KernelError {
  const details = wire.details;
  if (ErrorCodes.has(wire.code)) {
    return KernelError.fromWire(details === undefined ? { code: wire.code as ErrorCode, message: wire.message } : {
      code: wire.code as ErrorCode,
      message: wire.message,
      details,
    });
  }
  return new KernelError(ErrorCode.Internal, wire.message, { details: { ...details, remoteCode: wire.code } });
}
