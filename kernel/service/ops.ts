import * as v from 'valibot';
import { ErrorCode, KernelError } from '../errors/index.ts';
import { SourceSchema } from '../events/index.ts';
import type { KernelApi } from './api.ts';
import { UploadIdSchema, UploadRefSchema, type UploadRef, type UploadStore } from './uploads.ts';

const Seq = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const Name = v.pipe(v.string(), v.maxLength(128));
/** Clients of the socket act for a user; only the owner process itself acts as a capsule or the kernel. */
const UserSource = v.pipe(SourceSchema, v.startsWith('user:', 'Expected a source starting with "user:"'));

const VfsSession = v.pipe(v.string(), v.maxLength(64));
const VfsPath = v.pipe(v.string(), v.maxLength(4096));
const VfsHostPath = v.pipe(v.string(), v.minLength(1), v.maxLength(4096));
const Handle = v.pipe(v.string(), v.maxLength(4096));
/**
 * Whether `text` is padded base64. A plain character-class loop: valibot's `base64()` regex
 * repeats a group, which overflows V8's stack on inputs of a few MiB.
 */
const isBase64 = (text: string): boolean => text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text);
/** Bytes in base64 within one frame (frames carry at most 16 MiB); larger ones are staged uploads. */
const InlineBytes = v.pipe(v.string(), v.maxLength(16 * 1024 * 1024), v.check(isBase64, 'Expected base64'));

const NewEventWire = v.object({
  type: v.string(),
  v: v.number(),
  source: UserSource,
  subject: v.optional(v.string()),
  data: v.unknown(),
});

/** Argument schemas of every request/response operation on the kernel socket. */
export const callArgs = {
  status: v.object({}),
  append: v.object({ events: v.pipe(v.array(NewEventWire), v.maxLength(10_000)) }),
  publish: v.object({
    messages: v.pipe(v.array(v.object({ subject: v.string(), payload: v.unknown() })), v.maxLength(10_000)),
    source: UserSource,
  }),
  read: v.object({ from: v.optional(Seq), to: v.optional(Seq), limit: v.optional(Seq) }),
  verify: v.object({}),
  projectionGet: v.object({ name: Name, key: v.string() }),
  projectionPage: v.object({
    name: Name,
    prefix: v.optional(v.string()),
    after: v.optional(v.string()),
    limit: v.optional(Seq),
    at: v.optional(Seq),
  }),
  shutdown: v.object({}),
  handover: v.object({}),
  installCapsule: v.object({
    /** The archive, base64, or the upload holding it. */
    archive: v.optional(InlineBytes),
    upload: v.optional(UploadRefSchema),
    source: UserSource,
  }),
  stageUpload: v.object({ upload: UploadIdSchema, offset: Seq, bytes: InlineBytes }),
  callCapsule: v.object({
    capsuleId: v.pipe(v.string(), v.maxLength(64)),
    fn: v.pipe(v.string(), v.maxLength(256)),
    input: v.pipe(v.string(), v.maxLength(8 * 1024 * 1024)),
    component: v.optional(v.pipe(v.string(), v.maxLength(64))),
  }),
  removeCapsule: v.object({ capsuleId: v.pipe(v.string(), v.maxLength(64)), source: UserSource }),
  vfsOpen: v.object({ lower: VfsHostPath, source: UserSource }),
  vfsWrite: v.object({
    session: VfsSession,
    path: VfsPath,
    /** The bytes, base64, or the upload holding them. */
    bytes: v.optional(InlineBytes),
    upload: v.optional(UploadRefSchema),
    mode: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0o777))),
    source: UserSource,
  }),
  vfsRemove: v.object({ session: VfsSession, path: VfsPath, source: UserSource }),
  vfsMkdir: v.object({ session: VfsSession, path: VfsPath, source: UserSource }),
  vfsRename: v.object({ session: VfsSession, from: VfsPath, to: VfsPath, source: UserSource }),
  vfsList: v.object({ session: VfsSession, path: VfsPath }),
  vfsRead: v.object({ session: VfsSession, path: VfsPath }),
  vfsStat: v.object({ session: VfsSession, path: VfsPath }),
  vfsDiff: v.object({ session: VfsSession }),
  vfsCommit: v.object({ session: VfsSession, source: UserSource }),
  vfsDiscard: v.object({ session: VfsSession, source: UserSource }),
  capMint: v.object({
    capsuleId: v.pipe(v.string(), v.maxLength(64)),
    root: VfsPath,
    rights: v.pipe(v.array(v.pipe(v.string(), v.maxLength(16))), v.maxLength(16)),
    expiresAt: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
    session: v.optional(VfsSession),
  }),
  capRevoke: v.object({ handle: Handle, source: UserSource }),
  capVerify: v.object({ handle: Handle, capsuleId: v.pipe(v.string(), v.maxLength(64)) }),
} as const;

/** Argument schemas of every streaming operation on the kernel socket. */
export const streamArgs = {
  subscribe: v.object({ pattern: v.string(), from: v.optional(Seq), source: v.optional(UserSource) }),
  follow: v.object({ from: v.optional(Seq) }),
  replay: v.object({ until: v.optional(Seq), names: v.optional(v.array(Name)) }),
  vfsReadChunks: v.object({ session: VfsSession, path: VfsPath }),
} as const;

/** A request/response operation name. */
export type CallOp = keyof typeof callArgs;
/** A streaming operation name. */
export type StreamOp = keyof typeof streamArgs;

function parseArgs<S extends v.GenericSchema>(op: string, schema: S, args: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, args);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = issue === undefined ? '' : (v.getDotPath(issue) ?? '');
  throw new KernelError(ErrorCode.InvalidArgument, `Cannot run "${op}" as ${path === '' ? 'its arguments are' : `"${path}" is`} invalid: ${issue?.message ?? 'unknown issue'}`, {
    details: { op, path },
  });
}

function unknownOp(op: string): KernelError {
  return new KernelError(ErrorCode.ProtocolViolation, `Cannot run "${op}" as the kernel has no such operation`, { details: { op } });
}

const isCall = (op: string): op is CallOp => Object.hasOwn(callArgs, op);
const isStream = (op: string): op is StreamOp => Object.hasOwn(streamArgs, op);

/** The bytes a call carries inline or names as an upload: exactly one of the two. */
async function bytesArg(op: string, inline: string | undefined, upload: UploadRef | undefined, uploads: UploadStore | undefined): Promise<Buffer> {
  if (inline !== undefined && upload === undefined) return Buffer.from(inline, 'base64');
  if (inline === undefined && upload !== undefined) return storeOf(op, uploads).take(upload);
  throw new KernelError(ErrorCode.InvalidArgument, `Cannot run "${op}" as it needs its bytes either inline or as an upload, exactly one`, { details: { op } });
}

/** The owner's upload store. @throws KernelError INVALID_ARGUMENT when this owner takes no uploads */
function storeOf(op: string, uploads: UploadStore | undefined): UploadStore {
  if (uploads === undefined) throw new KernelError(ErrorCode.InvalidArgument, `Cannot run "${op}" with an upload as this owner takes none`, { details: { op } });
  return uploads;
}

/**
 * Serves a {@link KernelApi} on the socket: validates each request at the boundary, then
 * calls it. `uploads` stages byte arguments too large for one frame.
 */
export function kernelHandler(api: KernelApi, options: { uploads?: UploadStore } = {}): {
  call(op: string, args: unknown, ctx: { signal: AbortSignal }): Promise<unknown>;
  stream(op: string, args: unknown, ctx: { signal: AbortSignal }): AsyncIterable<unknown>;
} {
  return {
    async call(op, args) {
      if (!isCall(op)) throw unknownOp(op);
      switch (op) {
        case 'status':
          return api.status();
        case 'append': {
          const a = parseArgs(op, callArgs.append, args);
          return api.append(a.events.map(({ subject, ...rest }) => (subject === undefined ? rest : { ...rest, subject })));
        }
        case 'publish': {
          const a = parseArgs(op, callArgs.publish, args);
          return api.publish(a.messages, { source: a.source });
        }
        case 'read':
          return api.read(stripUndefined(parseArgs(op, callArgs.read, args)));
        case 'verify':
          return api.verify();
        case 'projectionGet': {
          const a = parseArgs(op, callArgs.projectionGet, args);
          return api.projectionGet(a.name, a.key);
        }
        case 'projectionPage': {
          const { name, ...rest } = parseArgs(op, callArgs.projectionPage, args);
          return api.projectionPage(name, stripUndefined(rest));
        }
        case 'shutdown':
          return api.shutdown();
        case 'handover':
          return api.handover();
        case 'installCapsule': {
          const a = parseArgs(op, callArgs.installCapsule, args);
          return api.installCapsule(await bytesArg(op, a.archive, a.upload, options.uploads), { source: a.source });
        }
        case 'stageUpload': {
          const a = parseArgs(op, callArgs.stageUpload, args);
          return { size: await storeOf(op, options.uploads).stage(a.upload, a.offset, Buffer.from(a.bytes, 'base64')) };
        }
        case 'callCapsule': {
          const a = parseArgs(op, callArgs.callCapsule, args);
          return api.callCapsule(a.capsuleId, a.fn, a.input, a.component === undefined ? {} : { component: a.component });
        }
        case 'removeCapsule': {
          const a = parseArgs(op, callArgs.removeCapsule, args);
          return api.removeCapsule(a.capsuleId, { source: a.source });
        }
        case 'vfsOpen': {
          const a = parseArgs(op, callArgs.vfsOpen, args);
          return api.vfsOpen(a.lower, { source: a.source });
        }
        case 'vfsWrite': {
          const a = parseArgs(op, callArgs.vfsWrite, args);
          const bytes = await bytesArg(op, a.bytes, a.upload, options.uploads);
          return api.vfsWrite(a.session, a.path, bytes, { source: a.source, ...(a.mode === undefined ? {} : { mode: a.mode }) });
        }
        case 'vfsRemove': {
          const a = parseArgs(op, callArgs.vfsRemove, args);
          return api.vfsRemove(a.session, a.path, { source: a.source });
        }
        case 'vfsMkdir': {
          const a = parseArgs(op, callArgs.vfsMkdir, args);
          return api.vfsMkdir(a.session, a.path, { source: a.source });
        }
        case 'vfsRename': {
          const a = parseArgs(op, callArgs.vfsRename, args);
          return api.vfsRename(a.session, a.from, a.to, { source: a.source });
        }
        case 'vfsList': {
          const a = parseArgs(op, callArgs.vfsList, args);
          return api.vfsList(a.session, a.path);
        }
        case 'vfsRead': {
          const a = parseArgs(op, callArgs.vfsRead, args);
          return { bytes: Buffer.from(await api.vfsRead(a.session, a.path)).toString('base64') };
        }
        case 'vfsStat': {
          const a = parseArgs(op, callArgs.vfsStat, args);
          return api.vfsStat(a.session, a.path);
        }
        case 'vfsDiff':
          return api.vfsDiff(parseArgs(op, callArgs.vfsDiff, args).session);
        case 'vfsCommit': {
          const a = parseArgs(op, callArgs.vfsCommit, args);
          return api.vfsCommit(a.session, { source: a.source });
        }
        case 'vfsDiscard': {
          const a = parseArgs(op, callArgs.vfsDiscard, args);
          return api.vfsDiscard(a.session, { source: a.source });
        }
        case 'capMint': {
          const { session, ...rest } = parseArgs(op, callArgs.capMint, args);
          return api.capMint({ ...rest, ...(session === undefined ? {} : { session }) });
        }
        case 'capRevoke': {
          const a = parseArgs(op, callArgs.capRevoke, args);
          return api.capRevoke(a.handle, { source: a.source });
        }
        case 'capVerify': {
          const a = parseArgs(op, callArgs.capVerify, args);
          return api.capVerify(a.handle, a.capsuleId);
        }
      }
    },
    stream(op, args, ctx) {
      if (!isStream(op)) throw unknownOp(op);
      switch (op) {
        case 'subscribe': {
          const { pattern, ...rest } = parseArgs(op, streamArgs.subscribe, args);
          return api.subscribe(pattern, { ...stripUndefined(rest), signal: ctx.signal });
        }
        case 'follow':
          return api.follow({ ...stripUndefined(parseArgs(op, streamArgs.follow, args)), signal: ctx.signal });
        case 'replay':
          return replayStream(api, stripUndefined(parseArgs(op, streamArgs.replay, args)));
        case 'vfsReadChunks':
          return base64Chunks(api, parseArgs(op, streamArgs.vfsReadChunks, args), ctx.signal);
      }
    },
  };
}

/** A file's chunks as `{ bytes: base64 }` items. */
async function* base64Chunks(api: KernelApi, a: { session: string; path: string }, signal: AbortSignal): AsyncGenerator<{ bytes: string }> {
  for await (const chunk of api.vfsReadChunks(a.session, a.path, { signal })) yield { bytes: Buffer.from(chunk).toString('base64') };
}

/** Replay as a stream: progress items, then one final `{ done: result }` item. */
async function* replayStream(api: KernelApi, options: { until?: number; names?: string[] }): AsyncGenerator<unknown> {
  const queue: unknown[] = [];
  let wake: (() => void) | null = null;
  let finished = false;
  let failure: unknown = null;
  const run = api
    .replay({
      ...options,
      onProgress: (p) => {
        queue.splice(0, queue.length, { progress: p });
        wake?.();
      },
    })
    .then(
      (result) => queue.push({ done: result }),
      (error: unknown) => (failure = error ?? new Error('replay failed')),
    )
    .finally(() => {
      finished = true;
      wake?.();
    });
  while (true) {
    while (queue.length > 0) yield queue.shift();
    if (finished) break;
    await new Promise<void>((resolve) => (wake = resolve));
    wake = null;
  }
  await run;
  if (failure !== null) throw failure;
}

/** Drops keys whose value is undefined (valibot keeps them as present-but-undefined). */
export function stripUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
