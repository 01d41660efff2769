import * as v from 'valibot';
import { ErrorCode, KernelError } from '../errors/index.ts';
import type { NewEvent } from './envelope.ts';

const Name = (what: string) =>
  v.pipe(
    v.string(),
    v.minLength(1, `${what} must not be empty`),
    v.maxLength(256),
    v.regex(/^[^\u0000-\u001f\u007f]+$/, `${what} must not contain control characters`),
    // A lone surrogate is not text: stores order its bytes differently from JavaScript.
    v.check((s) => !/\p{Cs}/u.test(s), `${what} must be well-formed Unicode (no lone surrogates)`),
  );

/** A KV namespace: one token of lowercase letters, digits, `_` or `-`. */
export const KvNamespaceSchema = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]{0,79}$/, 'Expected a namespace of lowercase letters, digits, "_" or "-"'));
/** A KV key: any printable text up to 512 characters. */
export const KvKeySchema = v.pipe(Name('A key'), v.maxLength(512));
/** A capsule id, as named in routes and manifests. */
export const CapsuleIdSchema = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'Expected a capsule id of lowercase letters, digits and "-"'));
/** A routing role such as `orchestrator` or `llm.anthropic`. */
export const RoleSchema = v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/, 'Expected a role of lowercase dotted tokens'), v.maxLength(128));

/** `home.initialized` v1: the first event of every log. */
export const HomeInitializedSchema = v.object({ origin: v.string(), format: v.number() });
/** `bus.message.published` v1: a bus message; `kind` is its standard payload type or `custom`. */
export const BusMessagePublishedSchema = v.object({ kind: v.string(), payload: v.unknown() });
/** `kv.value.set` v1. */
export const KvValueSetSchema = v.object({ namespace: KvNamespaceSchema, key: KvKeySchema, value: v.unknown() });
/** `kv.value.deleted` v1. */
export const KvValueDeletedSchema = v.object({ namespace: KvNamespaceSchema, key: KvKeySchema });
/** `route.assigned` v1: a role now goes to a capsule. */
export const RouteAssignedSchema = v.object({ role: RoleSchema, capsuleId: CapsuleIdSchema });
/** `route.removed` v1. */
export const RouteRemovedSchema = v.object({ role: RoleSchema });

/** `capsule.installed` v1: a capsule archive (a blob) is now the installed version of its id. */
export const CapsuleInstalledSchema = v.object({
  capsuleId: CapsuleIdSchema,
  version: v.pipe(v.string(), v.maxLength(64)),
  archive: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  size: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  /** The version it replaced, or null for a fresh install. */
  replaced: v.nullable(v.string()),
});
/** `capsule.removed` v1. */
export const CapsuleRemovedSchema = v.object({ capsuleId: CapsuleIdSchema });

/** `capsule.delivery.completed` v1: a handler finished message `seq`; its effects share this unit. */
export const CapsuleDeliveryCompletedSchema = v.object({
  capsuleId: CapsuleIdSchema,
  handler: v.pipe(v.string(), v.maxLength(128)),
  seq: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
});
/** `capsule.delivery.failed` v1: a handler trapped, timed out or failed on message `seq`; it had no effects. */
export const CapsuleDeliveryFailedSchema = v.object({
  capsuleId: CapsuleIdSchema,
  handler: v.pipe(v.string(), v.maxLength(128)),
  seq: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
  code: v.string(),
  message: v.pipe(v.string(), v.maxLength(2048)),
});
/** A VFS session id: lowercase letters and digits, as `vfs session open` prints it. */
export const VfsSessionIdSchema = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'Expected a session id of lowercase letters, digits and "-"'));
/** A normalised virtual path as recorded in `vfs.*` events (checked again by the overlay). */
const VfsPathSchema = v.pipe(v.string(), v.startsWith('/'), v.maxLength(4096), v.regex(/^\/(?!\/)[^\u0000-\u001f\u007f\\]*$/, 'Expected a normalised virtual path'));
/** `vfs.session.opened` v1: an overlay session over a read-only lower directory (absolute host path). */
export const VfsSessionOpenedSchema = v.object({ session: VfsSessionIdSchema, lower: v.pipe(v.string(), v.startsWith('/'), v.maxLength(4096)) });
/** `vfs.file.written` v1: a file of the upper layer now holds blob `blob`. */
export const VfsFileWrittenSchema = v.object({
  session: VfsSessionIdSchema,
  path: VfsPathSchema,
  blob: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  size: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  mode: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0o777))),
});
/** `vfs.path.deleted` v1: a whiteout; the path and everything below it are gone from the session. */
export const VfsPathDeletedSchema = v.object({ session: VfsSessionIdSchema, path: VfsPathSchema });
/** `vfs.dir.created` v1. */
export const VfsDirCreatedSchema = v.object({ session: VfsSessionIdSchema, path: VfsPathSchema });
/** `vfs.path.renamed` v1: the upper entries at and below `from` move to `to` (lower content was copied up first). */
export const VfsPathRenamedSchema = v.object({ session: VfsSessionIdSchema, from: VfsPathSchema, to: VfsPathSchema });
/** `vfs.session.committed` v1: the upper layer was applied onto the lower directory. */
export const VfsSessionCommittedSchema = v.object({ session: VfsSessionIdSchema });
/** `vfs.session.discarded` v1: the upper layer was dropped. */
export const VfsSessionDiscardedSchema = v.object({ session: VfsSessionIdSchema });
/** `capability.revoked` v1: the handle with this block id (and every handle derived from it) is refused. */
export const CapabilityRevokedSchema = v.object({ id: v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/, 'Expected a 32-character hex handle id')) });
/** Data of `vfs.session.opened`. */
export type VfsSessionOpened = v.InferOutput<typeof VfsSessionOpenedSchema>;
/** Data of `vfs.file.written`. */
export type VfsFileWritten = v.InferOutput<typeof VfsFileWrittenSchema>;
/** Data of `vfs.path.deleted` and `vfs.dir.created`. */
export type VfsPathEvent = v.InferOutput<typeof VfsPathDeletedSchema>;
/** Data of `vfs.path.renamed`. */
export type VfsPathRenamed = v.InferOutput<typeof VfsPathRenamedSchema>;
/** Data of `vfs.session.committed` and `vfs.session.discarded`. */
export type VfsSessionEnded = v.InferOutput<typeof VfsSessionCommittedSchema>;
/** Data of `capability.revoked`. */
export type CapabilityRevoked = v.InferOutput<typeof CapabilityRevokedSchema>;
/** Data of `capsule.delivery.completed`. */
export type CapsuleDeliveryCompleted = v.InferOutput<typeof CapsuleDeliveryCompletedSchema>;
/** Data of `capsule.delivery.failed`. */
export type CapsuleDeliveryFailed = v.InferOutput<typeof CapsuleDeliveryFailedSchema>;
/** Data of `capsule.installed`. */
export type CapsuleInstalled = v.InferOutput<typeof CapsuleInstalledSchema>;
/** Data of `capsule.removed`. */
export type CapsuleRemoved = v.InferOutput<typeof CapsuleRemovedSchema>;
/** Data of `kv.value.set`. */
export type KvValueSet = v.InferOutput<typeof KvValueSetSchema>;
/** Data of `kv.value.deleted`. */
export type KvValueDeleted = v.InferOutput<typeof KvValueDeletedSchema>;
/** Data of `route.assigned`. */
export type RouteAssigned = v.InferOutput<typeof RouteAssignedSchema>;
/** Data of `route.removed`. */
export type RouteRemoved = v.InferOutput<typeof RouteRemovedSchema>;
/** Data of `bus.message.published`. */
export type BusMessagePublished = v.InferOutput<typeof BusMessagePublishedSchema>;

interface Definition {
  /** The newest version this build understands; older ones need an upcaster. */
  readonly v: number;
  readonly schema: v.GenericSchema;
  /** Whether the envelope must carry a subject. */
  readonly subject: boolean;
}

/**
 * Every event type this build knows, with its current version and data schema. Released
 * versions are frozen: a change is a new version plus an upcaster.
 */
export const eventCatalog: Readonly<Record<string, Definition>> = {
  'home.initialized': { v: 1, schema: HomeInitializedSchema, subject: false },
  'bus.message.published': { v: 1, schema: BusMessagePublishedSchema, subject: true },
  'kv.value.set': { v: 1, schema: KvValueSetSchema, subject: false },
  'kv.value.deleted': { v: 1, schema: KvValueDeletedSchema, subject: false },
  'route.assigned': { v: 1, schema: RouteAssignedSchema, subject: false },
  'route.removed': { v: 1, schema: RouteRemovedSchema, subject: false },
  'capsule.installed': { v: 1, schema: CapsuleInstalledSchema, subject: false },
  'capsule.removed': { v: 1, schema: CapsuleRemovedSchema, subject: false },
  'capsule.delivery.completed': { v: 1, schema: CapsuleDeliveryCompletedSchema, subject: false },
  'capsule.delivery.failed': { v: 1, schema: CapsuleDeliveryFailedSchema, subject: false },
  'vfs.session.opened': { v: 1, schema: VfsSessionOpenedSchema, subject: false },
  'vfs.file.written': { v: 1, schema: VfsFileWrittenSchema, subject: false },
  'vfs.path.deleted': { v: 1, schema: VfsPathDeletedSchema, subject: false },
  'vfs.dir.created': { v: 1, schema: VfsDirCreatedSchema, subject: false },
  'vfs.path.renamed': { v: 1, schema: VfsPathRenamedSchema, subject: false },
  'vfs.session.committed': { v: 1, schema: VfsSessionCommittedSchema, subject: false },
  'vfs.session.discarded': { v: 1, schema: VfsSessionDiscardedSchema, subject: false },
  'capability.revoked': { v: 1, schema: CapabilityRevokedSchema, subject: false },
};

/**
 * Checks that an event read from a log can be interpreted by this build: a known type must
 * not carry a newer version than this build writes. Unknown types (added by a newer Astrid)
 * pass: no projection of this build reads them.
 * @throws KernelError EVENT_VERSION_UNSUPPORTED for a known type at a newer version.
 */
export function assertReadableEvent(event: { readonly seq: number; readonly type: string; readonly v: number }): void {
  const def = eventCatalog[event.type];
  if (def !== undefined && event.v > def.v) {
    throw new KernelError(
      ErrorCode.EventVersionUnsupported,
      `Cannot interpret event ${event.seq} as "${event.type}" v${event.v} is newer than this Astrid understands`,
      { details: { seq: event.seq, type: event.type, v: event.v, known: def.v } },
    );
  }
}

/**
 * Validates a fact before it is appended: known type, current version, data schema, subject.
 * @throws KernelError EVENT_INVALID naming the failing field.
 */
export function validateNewEvent(event: NewEvent): void {
  const def = eventCatalog[event.type];
  if (def === undefined) {
    throw new KernelError(ErrorCode.EventInvalid, `Cannot append event as type "${event.type}" is unknown`, {
      details: { type: event.type },
    });
  }
  if (event.v !== def.v) {
    throw new KernelError(ErrorCode.EventInvalid, `Cannot append "${event.type}" v${event.v} as only v${def.v} is written`, {
      details: { type: event.type, v: event.v },
    });
  }
  if (def.subject !== (event.subject !== undefined)) {
    throw new KernelError(
      ErrorCode.EventInvalid,
      `Cannot append "${event.type}" as it ${def.subject ? 'needs' : 'must not have'} a subject`,
      { details: { type: event.type } },
    );
  }
  const result = v.safeParse(def.schema, event.data);
  if (!result.success) {
    const issue = result.issues[0];
    const path = issue === undefined ? '' : (v.getDotPath(issue) ?? '');
    throw new KernelError(
      ErrorCode.EventInvalid,
      `Cannot append "${event.type}" as data${path === '' ? '' : `.${path}`} is invalid: ${issue?.message ?? 'unknown issue'}`,
      { details: { type: event.type, path } },
    );
  }
}
