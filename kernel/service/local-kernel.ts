import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CAPSULES_PROJECTION, capsuleInstallEvent, installedCapsuleOf } from '../capsule/installed/index.ts';
import { ErrorCode, KernelError } from '../errors/index.ts';
import {
  inspectCapability,
  loadOrCreateKernelKey,
  mintCapability,
  verifierSource,
  type CapabilityVerifier,
  type EffectiveCapability,
  type MintCapabilityInput,
} from '../caps/index.ts';
import { REVOCATIONS_PROJECTION, VFS_PROJECTION, VfsService, type CommitSummary, type DiffEntry, type OverlayEntry, type VfsChangeReceipt, type VfsStat } from '../vfs/overlay/index.ts';
import type { CapsuleRuntime } from '../runtime/index.ts';
import type { HashedEvent, NewEvent } from '../events/index.ts';
import { Bus } from '../bus/bus.ts';
import type { EventLog, VerifyReport } from '../log/index.ts';
import { foldInMemory, type JsonValue, type ProjectionDefinition } from '../projection/index.ts';
import {
  MAX_READ,
  VFS_CHUNK_BYTES,
  type BusMessage,
  type CapabilityRequest,
  type CapsuleInstallReceipt,
  type KernelApi,
  type KernelStatus,
  type MintedCapability,
  type OutgoingMessage,
  type OwnerRole,
  type ProjectionPage,
  type PublishReceipt,
  type ReplayProgress,
  type ReplayResult,
  type StreamOptions,
} from './api.ts';

/**
 * The kernel as seen inside the process that owns the home: every call goes straight to
 * the event log and the bus. Closing it runs `onClose` (the owner's close, when a command
 * owns the home for its own duration).
 */
export class LocalKernel implements KernelApi {
  readonly mode = 'local' as const;
  readonly #log: EventLog;
  readonly #bus: Bus;
  readonly #info: { role: OwnerRole; home: string; startedAt: string };
  readonly #projections: ReadonlyMap<string, ProjectionDefinition>;
  readonly #onShutdown: (() => void) | undefined;
  readonly #onClose: (() => Promise<void>) | undefined;
  readonly #onHandover: (() => void) | undefined;
  readonly #materialized: () => Promise<void>;
  readonly #runtime: (() => Promise<CapsuleRuntime>) | undefined;
  readonly #vfs: VfsService;
  #key: Promise<Buffer> | null = null;
  readonly #sharedKey: (() => Promise<Buffer>) | undefined;
  readonly #verifier: () => Promise<CapabilityVerifier>;

  constructor(
    log: EventLog,
    bus: Bus,
    options: {
      role: OwnerRole;
      home: string;
      projections: readonly ProjectionDefinition[];
      onShutdown?: () => void;
      /** What closing this kernel closes: the owner, for a command that owns the home. */
      onClose?: () => Promise<void>;
      /** Set by a follower that may give the home up to a daemon: closes the owner. */
      onHandover?: () => void;
      /** Resolves once materialized files caught up with the projections. */
      materialized?: () => Promise<void>;
      /** Runs capsules for `callCapsule`. */
      runtime?: () => Promise<CapsuleRuntime>;
      /** The VFS service shared with the capsule runtime (default: a fresh one over the log). */
      vfs?: VfsService;
      /** The home's kernel key, shared with the capsule runtime (default: loaded on first use). */
      kernelKey?: () => Promise<Buffer>;
      /** The kernel's one capability verifier, shared with the capsule runtime (default: one over `kernelKey`). */
      verifier?: () => Promise<CapabilityVerifier>;
    },
  ) {
    this.#log = log;
    this.#bus = bus;
    this.#info = { role: options.role, home: options.home, startedAt: new Date().toISOString() };
    this.#projections = new Map(options.projections.map((p) => [p.name, p]));
    this.#onShutdown = options.onShutdown;
    this.#onClose = options.onClose;
    this.#onHandover = options.onHandover;
    this.#materialized = options.materialized ?? (async () => {});
    this.#runtime = options.runtime;
    this.#sharedKey = options.kernelKey;
    this.#verifier = options.verifier ?? verifierSource(() => this.#kernelKey());
    this.#vfs = options.vfs ?? new VfsService({
      state: () => log.projection(VFS_PROJECTION),
      blob: (digest) => log.getBlob(digest),
      append: async (events) => {
        const appended = await log.append(events);
        await this.#materialized();
        return appended;
      },
    });
  }

  async status(): Promise<KernelStatus> {
    return {
      pid: process.pid,
      ...this.#info,
      origin: this.#log.origin,
      head: this.#log.head(),
      projections: this.#log.projectionNames().map((n) => this.#log.projectionStatus(n)),
    };
  }

  append(events: readonly NewEvent[]): Promise<HashedEvent[]> {
    return this.#log.append(events);
  }

  publish(messages: readonly OutgoingMessage[], options: { source: string }): Promise<PublishReceipt[]> {
    return this.#bus.publish(messages, options);
  }

  subscribe(pattern: string, options: StreamOptions & { from?: number; source?: string } = {}): AsyncIterable<BusMessage> {
    return this.#bus.subscribe(pattern, options);
  }

  async read(options: { from?: number; to?: number; limit?: number }): Promise<HashedEvent[]> {
    const limit = Math.min(options.limit ?? MAX_READ, MAX_READ);
    return [...this.#log.read({ ...options, limit })];
  }

  follow(options: StreamOptions & { from?: number } = {}): AsyncIterable<HashedEvent> {
    const from = options.from ?? this.#log.head().seq + 1;
    return this.#log.follow({ from, ...(options.signal === undefined ? {} : { signal: options.signal }) });
  }

  async verify(): Promise<VerifyReport> {
    return this.#log.verify();
  }

  async projectionGet(name: string, key: string): Promise<JsonValue | null> {
    return this.#log.projection(name).get(key) ?? null;
  }

  async projectionPage(name: string, options: { prefix?: string; after?: string; limit?: number; at?: number }): Promise<ProjectionPage> {
    const status = this.#log.projectionStatus(name);
    const head = this.#log.head().seq;
    const { at, ...range } = options;
    if (at === undefined) {
      return { status, head, asOf: status.checkpoint, entries: [...this.#log.projection(name).entries(range.prefix, range)] };
    }
    if (!Number.isSafeInteger(at) || at < 0 || at > head) {
      throw new KernelError(ErrorCode.InvalidArgument, `Cannot compute "${name}" at seq ${at} as the log ends at ${head}`, { details: { at, head } });
    }
    const def = this.#projections.get(name);
    if (def === undefined) throw new KernelError(ErrorCode.ProjectionUnknown, `Cannot find projection "${name}"`, { details: { name } });
    const state = foldInMemory(def, this.#log.read({ to: at }));
    return { status, head, asOf: at, entries: [...state.entries(range.prefix, range)] };
  }

  async replay(options: { until?: number; names?: readonly string[]; onProgress?: (p: ReplayProgress) => void }): Promise<ReplayResult> {
    const head = this.#log.head().seq;
    if (options.until !== undefined && (!Number.isSafeInteger(options.until) || options.until < 0 || options.until > head)) {
      throw new KernelError(ErrorCode.InvalidArgument, `Cannot replay until seq ${options.until} as the log ends at ${head}`, {
        details: { until: options.until, head },
      });
    }
    await this.#log.rebuild({
      ...(options.names === undefined ? {} : { names: options.names }),
      ...(options.until === undefined ? {} : { until: options.until }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
    await this.#materialized();
    return {
      projections: (options.names ?? this.#log.projectionNames()).map((n) => this.#log.projectionStatus(n)),
      head: this.#log.head().seq,
      until: options.until ?? null,
    };
  }

  async installCapsule(archive: Uint8Array, options: { source: string }): Promise<CapsuleInstallReceipt> {
    const scratch = join(this.#info.home, 'capsules');
    await mkdir(scratch, { recursive: true, mode: 0o700 });
    const reader = this.#log.projection(CAPSULES_PROJECTION);
    const current = (id: string) => {
      const stored = reader.get(id);
      return stored === undefined ? null : installedCapsuleOf(id, stored);
    };
    const prepared = await capsuleInstallEvent(archive, { scratch, source: options.source, current });
    const [event] = await this.#log.append([prepared.event]);
    await this.#materialized();
    return { capsuleId: prepared.capsuleId, version: prepared.version, replaced: prepared.replaced, seq: event?.seq ?? 0, dir: join(scratch, prepared.capsuleId) };
  }

  async removeCapsule(capsuleId: string, options: { source: string }): Promise<{ capsuleId: string; seq: number }> {
    if (this.#log.projection(CAPSULES_PROJECTION).get(capsuleId) === undefined) {
      throw new KernelError(ErrorCode.CapsuleNotFound, `Cannot remove capsule "${capsuleId}" as it is not installed`, { details: { capsuleId } });
    }
    const [event] = await this.#log.append([{ type: 'capsule.removed', v: 1, source: options.source, data: { capsuleId } }]);
    await this.#materialized();
    return { capsuleId, seq: event?.seq ?? 0 };
  }

  async callCapsule(capsuleId: string, fn: string, input: string, options: { component?: string } = {}): Promise<{ output: string }> {
    if (this.#runtime === undefined) throw new KernelError(ErrorCode.Unsupported, 'Cannot call capsules as this kernel runs none');
    const output = await (await this.#runtime()).call(capsuleId, fn, input, options);
    return { output: Buffer.from(output).toString('utf8') };
  }

  vfsOpen(lower: string, options: { source: string }): Promise<{ id: string; lower: string; seq: number }> {
    return this.#vfs.open(lower, options);
  }

  vfsWrite(session: string, path: string, bytes: Uint8Array, options: { source: string; mode?: number }): Promise<VfsChangeReceipt & { size: number }> {
    return this.#vfs.write(session, path, bytes, options);
  }

  vfsRemove(session: string, path: string, options: { source: string }): Promise<VfsChangeReceipt> {
    return this.#vfs.remove(session, path, options);
  }

  vfsMkdir(session: string, path: string, options: { source: string }): Promise<VfsChangeReceipt> {
    return this.#vfs.mkdir(session, path, options);
  }

  vfsRename(session: string, from: string, to: string, options: { source: string }): Promise<VfsChangeReceipt> {
    return this.#vfs.rename(session, from, to, options);
  }

  vfsList(session: string, path: string): Promise<OverlayEntry[]> {
    return this.#vfs.list(session, path);
  }

  vfsRead(session: string, path: string): Promise<Uint8Array> {
    return this.#vfs.read(session, path);
  }

  async *vfsReadChunks(session: string, path: string, options: StreamOptions = {}): AsyncGenerator<Uint8Array> {
    await using file = await this.#vfs.openFile(session, path);
    for (let position = 0; options.signal?.aborted !== true; ) {
      const chunk = await file.read(position, VFS_CHUNK_BYTES);
      if (chunk.byteLength === 0) return;
      position += chunk.byteLength;
      yield chunk;
    }
  }

  vfsStat(session: string, path: string): Promise<VfsStat | null> {
    return this.#vfs.stat(session, path);
  }

  vfsDiff(session: string): Promise<DiffEntry[]> {
    return this.#vfs.diff(session);
  }

  vfsCommit(session: string, options: { source: string }): Promise<VfsChangeReceipt & CommitSummary> {
    return this.#vfs.commit(session, options);
  }

  vfsDiscard(session: string, options: { source: string }): Promise<VfsChangeReceipt> {
    return this.#vfs.discard(session, options);
  }

  /** Mints a handle; one bound to a session needs that session open (else `SESSION_NOT_FOUND`). */
  async capMint(request: CapabilityRequest): Promise<MintedCapability> {
    if (request.session !== undefined) this.#vfs.info(request.session);
    const handle = mintCapability(await this.#kernelKey(), request as MintCapabilityInput);
    return { handle, ...inspectCapability(handle) };
  }

  async capRevoke(handle: string, options: { source: string }): Promise<{ id: string; seq: number }> {
    const claimed = inspectCapability(handle);
    // Only a genuine handle may be revoked (its signature checked; expiry and revocation ignored).
    (await this.#verifier()).verify(handle, { capsuleId: claimed.capsuleId, now: 0, isRevoked: () => false });
    const [event] = await this.#log.append([{ type: 'capability.revoked', v: 1, source: options.source, data: { id: claimed.id } }]);
    return { id: claimed.id, seq: event?.seq ?? 0 };
  }

  async capVerify(handle: string, capsuleId: string): Promise<EffectiveCapability> {
    const revoked = this.#log.projection(REVOCATIONS_PROJECTION);
    return (await this.#verifier()).verify(handle, { capsuleId, now: Date.now(), isRevoked: (id) => revoked.get(id) !== undefined });
  }

  #kernelKey(): Promise<Buffer> {
    if (this.#sharedKey !== undefined) return this.#sharedKey();
    this.#key ??= loadOrCreateKernelKey(this.#info.home);
    this.#key.catch(() => (this.#key = null));
    return this.#key;
  }

  async shutdown(): Promise<void> {
    if (this.#onShutdown === undefined || this.#info.role !== 'daemon') {
      throw new KernelError(ErrorCode.DaemonNotRunning, 'Cannot stop the daemon as no daemon owns this home');
    }
    this.#onShutdown();
  }

  async handover(): Promise<void> {
    if (this.#info.role === 'daemon') {
      throw new KernelError(ErrorCode.DaemonAlreadyRunning, `Cannot take over the home as daemon pid ${process.pid} owns it`, { details: { pid: process.pid } });
    }
    if (this.#onHandover === undefined) {
      throw new KernelError(ErrorCode.HomeLocked, `Cannot take over the home yet as command pid ${process.pid} is using it`, { details: { pid: process.pid } });
    }
    // Answer first, then leave: the owner's close ends this call's connection.
    setImmediate(this.#onHandover);
  }

  async close(): Promise<void> {
    await this.#onClose?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
