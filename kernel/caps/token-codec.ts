import * as v from 'valibot';
import { ErrorCode, KernelError } from '../errors/index.ts';
import { CapsuleIdSchema, VfsSessionIdSchema } from '../events/index.ts';
import { isNormalizedVirtualPath, type VirtualPath } from '../vfs/path/index.ts';
import { ALL_RIGHTS_MASK } from './rights.ts';

/** The prefix of every capability handle; the format version is the body's first byte. */
export const TOKEN_PREFIX = 'astr1_';

/** Most attenuation blocks after the root block. */
export const MAX_ATTENUATIONS = 16;

/** Longest handle accepted, in characters. */
export const MAX_TOKEN_LENGTH = 8192;

/** Bytes of a block id and of the chain's tag. */
export const ID_BYTES = 16;
export const TAG_BYTES = 32;

/**
 * Version 2 added the VFS session to the root block. Handles of any other version (version 1
 * ones included) are refused as malformed: they were never issued with a session binding.
 */
const FORMAT_VERSION = 2;
const KIND_ROOT = 0;
const KIND_ATTENUATION = 1;
const HAS_ROOT = 1;
const HAS_RIGHTS = 2;
const HAS_EXPIRY = 4;
/** Expiry is a 48-bit big-endian ms epoch (good until year 10889). */
export const MAX_EXPIRY = 2 ** 48 - 1;

/** The constraints one block adds; the root block sets all of them. */
export interface Caveats {
  readonly root?: VirtualPath;
  readonly rights?: number;
  readonly expiresAt?: number;
  /** Only ever in the root block: the VFS session whose overlay is mounted at `/`. */
  readonly session?: string;
}

/** One decoded block: its raw bytes (what is MACed), id and caveats. */
export interface Block {
  readonly bytes: Buffer;
  readonly id: string;
  readonly caveats: Caveats;
}

/** A decoded, not yet verified handle. */
export interface DecodedToken {
  readonly version: Buffer;
  readonly capsuleId: string;
  readonly blocks: readonly Block[];
  readonly tag: Buffer;
}

/** Malformed input; `reason: 'malformed'` is all a caller learns. */
export function malformed(why: string): KernelError {
  return new KernelError(ErrorCode.HandleInvalid, `Cannot use the capability handle as it is malformed: ${why}`, {
    details: { reason: 'malformed' },
  });
}

/** The version byte that starts every body; it is part of the root block's MAC input. */
export const VERSION_BYTES = Buffer.from([FORMAT_VERSION]);

/**
 * Encodes the root block: kind, id, capsule id, root, rights, expiry, then the session id
 * (length-prefixed; length 0 = no session). Inputs must already be validated.
 */
export function encodeRootBlock(id: Buffer, capsuleId: string, root: VirtualPath, rights: number, expiresAt: number, session?: string): Buffer {
  const capsule = Buffer.from(capsuleId, 'utf8');
  const path = Buffer.from(root, 'utf8');
  const sess = Buffer.from(session ?? '', 'utf8');
  const out = Buffer.alloc(1 + ID_BYTES + 1 + capsule.length + 2 + path.length + 1 + 6 + 1 + sess.length);
  let at = out.writeUInt8(KIND_ROOT, 0);
  at += id.copy(out, at);
  at = out.writeUInt8(capsule.length, at);
  at += capsule.copy(out, at);
  at = out.writeUInt16BE(path.length, at);
  at += path.copy(out, at);
  at = out.writeUInt8(rights, at);
  at = out.writeUIntBE(expiresAt, at, 6);
  at = out.writeUInt8(sess.length, at);
  sess.copy(out, at);
  return out;
}

/** Encodes an attenuation block carrying only the caveats given. */
export function encodeAttenuationBlock(id: Buffer, caveats: Caveats): Buffer {
  const path = caveats.root === undefined ? null : Buffer.from(caveats.root, 'utf8');
  const flags = (path === null ? 0 : HAS_ROOT) | (caveats.rights === undefined ? 0 : HAS_RIGHTS) | (caveats.expiresAt === undefined ? 0 : HAS_EXPIRY);
  const out = Buffer.alloc(1 + ID_BYTES + 1 + (path === null ? 0 : 2 + path.length) + (caveats.rights === undefined ? 0 : 1) + (caveats.expiresAt === undefined ? 0 : 6));
  let at = out.writeUInt8(KIND_ATTENUATION, 0);
  at += id.copy(out, at);
  at = out.writeUInt8(flags, at);
  if (path !== null) {
    at = out.writeUInt16BE(path.length, at);
    at += path.copy(out, at);
  }
  if (caveats.rights !== undefined) at = out.writeUInt8(caveats.rights, at);
  if (caveats.expiresAt !== undefined) out.writeUIntBE(caveats.expiresAt, at, 6);
  return out;
}

/** Serialises blocks and tag into a handle string. */
export function encodeToken(blocks: readonly Buffer[], tag: Buffer): string {
  return TOKEN_PREFIX + Buffer.concat([VERSION_BYTES, ...blocks, tag]).toString('base64url');
}

const B64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Parses a handle string into its blocks without checking any MAC. Throws `HANDLE_INVALID`
 * (`reason: 'malformed'`) for anything that is not exactly a canonical encoding.
 */
export function decodeToken(token: unknown): DecodedToken {
  if (typeof token !== 'string') throw malformed('not a string');
  if (token.length > MAX_TOKEN_LENGTH) throw malformed('too long');
  if (!token.startsWith(TOKEN_PREFIX)) throw malformed('unknown prefix');
  const text = token.slice(TOKEN_PREFIX.length);
  if (!B64URL.test(text) || text.length % 4 === 1) throw malformed('not base64url');
  const raw = Buffer.from(text, 'base64url');
  // Canonical only: one string per token, so a handle never has two spellings.
  if (raw.toString('base64url') !== text) throw malformed('not canonical base64url');
  if (raw.length < 1 + TAG_BYTES || raw[0] !== FORMAT_VERSION) throw malformed('unknown version');
  const reader = new Reader(raw.subarray(0, raw.length - TAG_BYTES), 1);
  const blocks: Block[] = [];
  let capsuleId = '';
  while (!reader.done()) {
    const start = reader.at;
    const kind = reader.u8();
    const id = reader.hex(ID_BYTES);
    let caveats: Caveats;
    if (blocks.length === 0) {
      if (kind !== KIND_ROOT) throw malformed('no root block');
      capsuleId = reader.utf8(reader.u8());
      if (!v.is(CapsuleIdSchema, capsuleId)) throw malformed('bad capsule id');
      const root = reader.path();
      const rights = reader.rights();
      const expiresAt = reader.u48();
      const session = reader.session();
      caveats = { root, rights, expiresAt, ...(session === undefined ? {} : { session }) };
    } else {
      if (kind !== KIND_ATTENUATION) throw malformed('unexpected block kind');
      if (blocks.length > MAX_ATTENUATIONS) throw malformed('too many attenuations');
      const flags = reader.u8();
      if ((flags & ~(HAS_ROOT | HAS_RIGHTS | HAS_EXPIRY)) !== 0) throw malformed('unknown caveat');
      const root = (flags & HAS_ROOT) === 0 ? undefined : reader.path();
      const rights = (flags & HAS_RIGHTS) === 0 ? undefined : reader.rights();
      const expiresAt = (flags & HAS_EXPIRY) === 0 ? undefined : reader.u48();
      caveats = {
        ...(root === undefined ? {} : { root }),
        ...(rights === undefined ? {} : { rights }),
        ...(expiresAt === undefined ? {} : { expiresAt }),
      };
    }
    blocks.push({ bytes: reader.since(start), id, caveats });
  }
  if (blocks.length === 0) throw malformed('no root block');
  return { version: raw.subarray(0, 1), capsuleId, blocks, tag: raw.subarray(raw.length - TAG_BYTES) };
}

/** A bounds-checked cursor over a token body; every overrun is `malformed('truncated')`. */
class Reader {
  readonly #buf: Buffer;
  at: number;

  constructor(buf: Buffer, at: number) {
    this.#buf = buf;
    this.at = at;
  }

  done(): boolean {
    return this.at >= this.#buf.length;
  }

  since(start: number): Buffer {
    return this.#buf.subarray(start, this.at);
  }

  #take(n: number): number {
    const at = this.at;
    if (at + n > this.#buf.length) throw malformed('truncated');
    this.at = at + n;
    return at;
  }

  u8(): number {
    return this.#buf[this.#take(1)] as number;
  }

  u48(): number {
    return this.#buf.readUIntBE(this.#take(6), 6);
  }

  hex(n: number): string {
    const at = this.#take(n);
    return this.#buf.toString('hex', at, at + n);
  }

  utf8(n: number): string {
    const at = this.#take(n);
    return this.#buf.toString('utf8', at, at + n);
  }

  rights(): number {
    const rights = this.u8();
    if (rights === 0 || (rights & ~ALL_RIGHTS_MASK) !== 0) throw malformed('bad rights');
    return rights;
  }

  /** A length-prefixed session id; length 0 is "no session". */
  session(): string | undefined {
    const length = this.u8();
    if (length === 0) return undefined;
    const text = this.utf8(length);
    if (!v.is(VfsSessionIdSchema, text)) throw malformed('bad session id');
    return text;
  }

  path(): VirtualPath {
    const at = this.#take(2);
    const text = this.utf8(this.#buf.readUInt16BE(at));
    if (!isNormalizedVirtualPath(text)) throw malformed('root path not normalised');
    return text;
  }
}
