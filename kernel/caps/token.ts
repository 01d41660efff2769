import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as v from 'valibot';
import { ErrorCode, KernelError, type ErrorDetails } from '../errors/index.ts';
import { CapsuleIdSchema, VfsSessionIdSchema } from '../events/index.ts';
import { VirtualPathSchema, isWithinVirtual, normalizeVirtualPath, type VirtualPath } from '../vfs/path/index.ts';
import { KERNEL_KEY_BYTES } from './kernel-key.ts';
import { RightsSchema, maskToRights, rightBit, rightsToMask, type Right } from './rights.ts';
import {
  ID_BYTES,
  MAX_ATTENUATIONS,
  MAX_EXPIRY,
  VERSION_BYTES,
  decodeToken,
  encodeAttenuationBlock,
  encodeRootBlock,
  encodeToken,
  type Block,
  type Caveats,
  type DecodedToken,
} from './token-codec.ts';

/** What a verified handle grants: the intersection of every block in its chain. */
export interface EffectiveCapability {
  readonly capsuleId: string;
  /** The narrowest root of the chain; the handle covers it and everything below it. */
  readonly root: VirtualPath;
  readonly rights: readonly Right[];
  /** `rights` as a bitmask (bit order of `RIGHTS`), for hot-path checks. */
  readonly rightsMask: number;
  /** Milliseconds since the epoch; the handle is refused from this instant on. */
  readonly expiresAt: number;
  /** This handle's own id (the last block's): revoking it revokes this handle and its children. */
  readonly id: string;
  /** Every id from the root token's down to `id`. */
  readonly chainIds: readonly string[];
  /**
   * The VFS session whose overlay is mounted at `/` for the capsule, when the handle is bound
   * to one. Set only by the root block; attenuation inherits it and can never change it.
   */
  readonly session?: string;
}

/** Per-call context of a verification. */
export interface VerifyContext {
  /** The capsule presenting the handle; a handle minted for another capsule is refused. */
  readonly capsuleId: string;
  /** The current time in ms epoch. */
  readonly now: number;
  /** Whether an id was revoked (a projection of `capability.revoked` events). */
  readonly isRevoked: (id: string) => boolean;
}

const ExpirySchema = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_EXPIRY));

/** Input of {@link mintCapability} (validated: it comes from the CLI or a capsule manifest). */
export const MintCapabilitySchema = v.object({
  capsuleId: CapsuleIdSchema,
  root: VirtualPathSchema,
  rights: RightsSchema,
  expiresAt: ExpirySchema,
  session: v.optional(VfsSessionIdSchema),
});

/**
 * Input of {@link attenuateCapability}: each field may only narrow; omitted fields are
 * inherited. `session` cannot change: it may only repeat the handle's own session.
 */
export const AttenuationSchema = v.object({
  root: v.optional(VirtualPathSchema),
  rights: v.optional(RightsSchema),
  expiresAt: v.optional(ExpirySchema),
  session: v.optional(VfsSessionIdSchema),
});

/** What {@link mintCapability} takes. */
export type MintCapabilityInput = v.InferInput<typeof MintCapabilitySchema>;

/** What {@link attenuateCapability} takes. */
export type AttenuationInput = v.InferInput<typeof AttenuationSchema>;

/**
 * Mints a root handle for one capsule, signed with the kernel key (HMAC-SHA256 over the
 * version byte and the root block, which binds capsule id, root, rights, expiry, the optional
 * VFS session and a random 128-bit id). Throws `INVALID_ARGUMENT` for a bad input or a key that is not 32 bytes.
 */
export function mintCapability(key: Uint8Array, input: MintCapabilityInput): string {
  checkKey(key);
  const parsed = v.safeParse(MintCapabilitySchema, input);
  if (!parsed.success) {
    throw new KernelError(ErrorCode.InvalidArgument, `Cannot mint a capability handle as the request is invalid: ${parsed.issues[0].message}`);
  }
  const { capsuleId, root, rights, expiresAt, session } = parsed.output;
  const block = encodeRootBlock(randomBytes(ID_BYTES), capsuleId, root, rightsToMask(rights), expiresAt, session);
  const tag = createHmac('sha256', key).update(VERSION_BYTES).update(block).digest();
  return encodeToken([block], tag);
}

/**
 * Derives a narrower handle without the kernel key: appends a block with a fresh id and
 * re-MACs with the previous tag as the key, so the caveat can never be removed. A request to
 * widen (a root outside the current one, a right not held, a later expiry) throws
 * `CAPABILITY_DENIED`: the caller asked for authority it does not have. Throws
 * `HANDLE_INVALID` for a malformed handle (a forged one is only caught by
 * {@link verifyCapability}), `INVALID_ARGUMENT` for a bad request or a full chain.
 */
export function attenuateCapability(token: string, request: AttenuationInput): string {
  const parsed = v.safeParse(AttenuationSchema, request);
  if (!parsed.success) {
    throw new KernelError(ErrorCode.InvalidArgument, `Cannot attenuate the capability handle as the request is invalid: ${parsed.issues[0].message}`);
  }
  const decoded = decodeToken(token);
  if (decoded.blocks.length > MAX_ATTENUATIONS) {
    throw new KernelError(ErrorCode.InvalidArgument, `Cannot attenuate the capability handle as it already has ${MAX_ATTENUATIONS} attenuations`);
  }
  const current = foldCaveats(decoded.blocks);
  const { root, rights, expiresAt, session } = parsed.output;
  const deny = (what: string): KernelError =>
    new KernelError(ErrorCode.CapabilityDenied, `Cannot attenuate the capability handle as ${what}`);
  if (root !== undefined && !isWithinVirtual(current.root, root)) throw deny(`"${root}" is not within its root "${current.root}"`);
  const mask = rights === undefined ? undefined : rightsToMask(rights);
  if (mask !== undefined && (mask & ~current.rights) !== 0) {
    throw deny(`it does not hold ${maskToRights(mask & ~current.rights).map((r) => `"${r}"`).join(', ')}`);
  }
  if (expiresAt !== undefined && expiresAt > current.expiresAt) throw deny(`it expires before ${expiresAt}`);
  if (session !== undefined && session !== current.session) {
    throw deny(current.session === undefined ? 'it is bound to no VFS session' : `it is bound to VFS session "${current.session}"`);
  }
  const caveats: Caveats = {
    ...(root === undefined ? {} : { root }),
    ...(mask === undefined ? {} : { rights: mask }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
  };
  const block = encodeAttenuationBlock(randomBytes(ID_BYTES), caveats);
  const tag = createHmac('sha256', decoded.tag).update(block).digest();
  return encodeToken([...decoded.blocks.map((b) => b.bytes), block], tag);
}

/**
 * Reads a handle without verifying it (for display, e.g. `astrid cap` listing what a handle
 * claims). Never use the result to grant anything. Throws `HANDLE_INVALID` when malformed.
 */
export function inspectCapability(token: string): EffectiveCapability {
  return effectiveOf(decodeToken(token));
}

/**
 * Verifies a handle: recomputes the MAC chain from the kernel key (constant-time compare),
 * checks the chain only narrows, then the capsule id, expiry and revocation of every id in
 * the chain. Any failure throws `HANDLE_INVALID`; `details.reason` is one of `malformed`,
 * `signature`, `caveat`, `capsule`, `expired`, `revoked` and nothing secret.
 */
export function verifyCapability(token: string, context: VerifyContext & { readonly key: Uint8Array }): EffectiveCapability {
  checkKey(context.key);
  return checkContext(verifyChain(decodeToken(token), context.key), context);
}

/**
 * A verifier bound to the kernel key that remembers handles whose MAC chain it has already
 * checked (by exact string), so a capsule reusing its handle pays one map lookup instead of
 * one HMAC per block. Expiry, capsule and revocation are still checked on every call.
 * Holds no resources.
 */
export class CapabilityVerifier {
  readonly #key: Uint8Array;
  readonly #cache = new Map<string, EffectiveCapability>();
  readonly #cacheSize: number;

  /** Throws `INVALID_ARGUMENT` for a key that is not 32 bytes. */
  constructor(key: Uint8Array, options: { cacheSize?: number } = {}) {
    checkKey(key);
    this.#key = key;
    this.#cacheSize = options.cacheSize ?? 4096;
  }

  /** As {@link verifyCapability}, with the cache. */
  verify(token: string, context: VerifyContext): EffectiveCapability {
    let chain = this.#cache.get(token);
    if (chain === undefined) {
      chain = verifyChain(decodeToken(token), this.#key);
      if (this.#cacheSize > 0) {
        // Oldest first out: Map iterates in insertion order.
        if (this.#cache.size >= this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value as string);
        this.#cache.set(token, chain);
      }
    }
    return checkContext(chain, context);
  }
}

/**
 * Whether a verified capability grants `right` on `path` (the root itself or anything below
 * it). An invalid path is simply not allowed.
 */
export function allowsCapability(effective: EffectiveCapability, right: Right, path: string): boolean {
  if ((effective.rightsMask & rightBit(right)) === 0) return false;
  let vpath: VirtualPath;
  try {
    vpath = normalizeVirtualPath(path);
  } catch {
    return false;
  }
  return isWithinVirtual(effective.root, vpath);
}

function verifyChain(decoded: DecodedToken, key: Uint8Array): EffectiveCapability {
  const [first, ...rest] = decoded.blocks as [Block, ...Block[]];
  let tag = createHmac('sha256', key).update(decoded.version).update(first.bytes).digest();
  for (const block of rest) tag = createHmac('sha256', tag).update(block.bytes).digest();
  if (!timingSafeEqual(tag, decoded.tag)) throw invalid('signature', 'its signature does not match');
  return effectiveOf(decoded);
}

function checkContext(chain: EffectiveCapability, context: VerifyContext): EffectiveCapability {
  if (chain.capsuleId !== context.capsuleId) throw invalid('capsule', 'it was issued to another capsule');
  if (!(context.now < chain.expiresAt)) throw invalid('expired', 'it has expired');
  for (const id of chain.chainIds) {
    if (context.isRevoked(id)) throw invalid('revoked', 'it has been revoked', { revokedId: id });
  }
  return chain;
}

function effectiveOf(decoded: DecodedToken): EffectiveCapability {
  const folded = foldCaveats(decoded.blocks);
  const chainIds = decoded.blocks.map((b) => b.id);
  return Object.freeze({
    capsuleId: decoded.capsuleId,
    root: folded.root,
    rights: Object.freeze(maskToRights(folded.rights)),
    rightsMask: folded.rights,
    expiresAt: folded.expiresAt,
    id: chainIds[chainIds.length - 1] as string,
    chainIds: Object.freeze(chainIds),
    ...(folded.session === undefined ? {} : { session: folded.session }),
  });
}

/**
 * Intersects the caveats of a chain. A root outside the previous one cannot be intersected
 * (it would grant nothing or widen), so it makes the handle invalid; rights and expiry
 * intersect naturally, but an empty rights set is invalid too.
 */
function foldCaveats(blocks: readonly Block[]): { root: VirtualPath; rights: number; expiresAt: number; session: string | undefined } {
  const [first, ...rest] = blocks as [Block, ...Block[]];
  let root = first.caveats.root as VirtualPath;
  let rights = first.caveats.rights as number;
  let expiresAt = first.caveats.expiresAt as number;
  for (const { caveats } of rest) {
    if (caveats.root !== undefined) {
      if (!isWithinVirtual(root, caveats.root)) throw invalid('caveat', 'a caveat widens its root');
      root = caveats.root;
    }
    if (caveats.rights !== undefined) rights &= caveats.rights;
    if (caveats.expiresAt !== undefined) expiresAt = Math.min(expiresAt, caveats.expiresAt);
  }
  if (rights === 0) throw invalid('caveat', 'its caveats leave no rights');
  return { root, rights, expiresAt, session: first.caveats.session };
}

function invalid(reason: string, why: string, extra: ErrorDetails = {}): KernelError {
  return new KernelError(ErrorCode.HandleInvalid, `Cannot use the capability handle as ${why}`, {
    details: { reason, ...extra },
  });
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== KERNEL_KEY_BYTES) {
    throw new KernelError(ErrorCode.InvalidArgument, `Cannot use a kernel key that is not ${KERNEL_KEY_BYTES} bytes`);
  }
}
