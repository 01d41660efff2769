import type { HashedEvent, NewEvent } from '../events/index.ts';
import type { VerifyReport } from '../log/index.ts';
import type { JsonValue, ProjectionStatus } from '../projection/index.ts';
import type { EffectiveCapability } from '../caps/index.ts';
import type { CommitSummary, DiffEntry, OverlayEntry, VfsChangeReceipt, VfsStat } from '../vfs/overlay/index.ts';

/** Which kind of process owns the home. */
export type OwnerRole = 'daemon' | 'command';

/** What `astrid daemon status` reports. */
export interface KernelStatus {
  readonly pid: number;
  readonly role: OwnerRole;
  readonly home: string;
  readonly origin: string;
  readonly head: { readonly seq: number; readonly hash: string };
  readonly projections: readonly ProjectionStatus[];
  readonly startedAt: string;
}

/** A bus message as a subscriber receives it. */
export interface BusMessage {
  readonly seq: number;
  readonly id: string;
  readonly ts: number;
  readonly source: string;
  readonly subject: string;
  readonly kind: string;
  readonly payload: unknown;
}

/** A message to publish. */
export interface OutgoingMessage {
  readonly subject: string;
  readonly payload: unknown;
}

/** The answer to a durable publish. */
export interface PublishReceipt {
  readonly seq: number;
  readonly id: string;
  readonly subject: string;
  readonly kind: string;
}

/** A page of a projection's state, with where the projection stood. */
export interface ProjectionPage {
  readonly status: ProjectionStatus;
  readonly head: number;
  /** The seq this state reflects: the checkpoint, or `at` when computed as of a seq. */
  readonly asOf: number;
  readonly entries: ReadonlyArray<readonly [string, JsonValue]>;
}

/** Progress of a replay. */
export interface ReplayProgress {
  readonly seq: number;
  readonly head: number;
}

/** The outcome of a replay. */
export interface ReplayResult {
  readonly projections: readonly ProjectionStatus[];
  readonly head: number;
  readonly until: number | null;
}

/** The answer to a capsule install. */
export interface CapsuleInstallReceipt {
  readonly capsuleId: string;
  readonly version: string;
  /** The version it replaced, or null. */
  readonly replaced: string | null;
  readonly seq: number;
  /** Where its files are, under the home. */
  readonly dir: string;
}

/** A freshly minted capability handle and what it grants. */
export interface MintedCapability extends EffectiveCapability {
  readonly handle: string;
}

/**
 * What to mint: a capsule, a virtual root, rights, an absolute expiry (ms epoch) and
 * optionally the VFS session whose overlay the capsule sees at `/`.
 */
export interface CapabilityRequest {
  readonly capsuleId: string;
  readonly root: string;
  readonly rights: readonly string[];
  readonly expiresAt: number;
  readonly session?: string;
}

/** The largest chunk {@link KernelApi.vfsReadChunks} yields. */
export const VFS_CHUNK_BYTES = 1024 * 1024;

/** Options of a streaming call. */
export interface StreamOptions {
  readonly signal?: AbortSignal;
}

/**
 * Everything a CLI command (or any local client) can ask of the kernel. The owner process
 * implements it directly over the log; every other process gets the same interface over the
 * home's socket, so commands behave the same with and without a daemon. Errors are
 * `KernelError`s with stable codes in both cases.
 */
export interface KernelApi extends AsyncDisposable {
  /** `local` when this process owns the home, `remote` when it talks to the owner. */
  readonly mode: 'local' | 'remote';
  status(): Promise<KernelStatus>;
  /** Appends facts as one unit; resolves once durable. Sources from clients must be `user:*`. */
  append(events: readonly NewEvent[]): Promise<HashedEvent[]>;
  /** Publishes messages as one durable unit, after subject, payload and quota checks. */
  publish(messages: readonly OutgoingMessage[], options: { source: string }): Promise<PublishReceipt[]>;
  /** Messages whose subject matches `pattern`, from seq `from` (default: only new ones), then live. */
  subscribe(pattern: string, options: StreamOptions & { from?: number; source?: string }): AsyncIterable<BusMessage>;
  /** Events in seq order. At most 10,000 per call. */
  read(options: { from?: number; to?: number; limit?: number }): Promise<HashedEvent[]>;
  /** Every event from `from` (default: only new ones), then live. */
  follow(options: StreamOptions & { from?: number }): AsyncIterable<HashedEvent>;
  verify(): Promise<VerifyReport>;
  /** One projection value, or null. */
  projectionGet(name: string, key: string): Promise<JsonValue | null>;
  /** A page of a projection, as stored now or, with `at`, computed as of that seq. */
  projectionPage(name: string, options: { prefix?: string; after?: string; limit?: number; at?: number }): Promise<ProjectionPage>;
  /** Drops and rebuilds projections (all by default), up to `until` when given. */
  replay(options: { until?: number; names?: readonly string[]; onProgress?: (p: ReplayProgress) => void }): Promise<ReplayResult>;
  /**
   * Checks a `.capsule` archive completely, then records `capsule.installed` carrying it as
   * a blob; resolves once its files are materialised under `<home>/capsules/<id>/`.
   * @throws KernelError ARCHIVE_*, MANIFEST_INVALID, CAPSULE_INVALID (nothing written)
   */
  installCapsule(archive: Uint8Array, options: { source: string }): Promise<CapsuleInstallReceipt>;
  /**
   * Calls an exported function of an installed capsule with UTF-8 `input`; its effects are
   * recorded as one unit when it returns.
   * @throws KernelError CAPSULE_NOT_FOUND, WASM_EXPORT_MISSING, CAPSULE_TRAPPED, CAPSULE_TIMEOUT, CAPSULE_MEMORY_EXCEEDED, CAPABILITY_DENIED
   */
  callCapsule(capsuleId: string, fn: string, input: string, options?: { component?: string }): Promise<{ output: string }>;
  /** Records `capsule.removed`. @throws KernelError CAPSULE_NOT_FOUND */
  removeCapsule(capsuleId: string, options: { source: string }): Promise<{ capsuleId: string; seq: number }>;
  /** Opens an overlay session over an existing directory (read-only until commit). @throws KernelError NOT_FOUND, PATH_NOT_DIRECTORY */
  vfsOpen(lower: string, options: { source: string }): Promise<{ id: string; lower: string; seq: number }>;
  /** Writes a file into a session's upper layer. @throws KernelError SESSION_NOT_FOUND, PATH_* */
  vfsWrite(session: string, path: string, bytes: Uint8Array, options: { source: string; mode?: number }): Promise<VfsChangeReceipt & { size: number }>;
  /** Deletes a path from a session (a whiteout). @throws KernelError SESSION_NOT_FOUND, PATH_* */
  vfsRemove(session: string, path: string, options: { source: string }): Promise<VfsChangeReceipt>;
  /** Creates a directory in a session. @throws KernelError SESSION_NOT_FOUND, PATH_* */
  vfsMkdir(session: string, path: string, options: { source: string }): Promise<VfsChangeReceipt>;
  /** Moves a path within a session. @throws KernelError SESSION_NOT_FOUND, PATH_* */
  vfsRename(session: string, from: string, to: string, options: { source: string }): Promise<VfsChangeReceipt>;
  /** The merged listing of a directory. @throws KernelError SESSION_NOT_FOUND, PATH_* */
  vfsList(session: string, path: string): Promise<OverlayEntry[]>;
  /** A file's bytes through the overlay. @throws KernelError SESSION_NOT_FOUND, PATH_* */
  vfsRead(session: string, path: string): Promise<Uint8Array>;
  /**
   * A file's bytes through the overlay in chunks of at most {@link VFS_CHUNK_BYTES}, read from
   * one open of the file, so a file of any size streams with bounded memory (and through a
   * daemon, whose frames are limited). @throws KernelError SESSION_NOT_FOUND, PATH_*
   */
  vfsReadChunks(session: string, path: string, options?: StreamOptions): AsyncIterable<Uint8Array>;
  /** A path's kind and size, or null. @throws KernelError SESSION_NOT_FOUND, PATH_IGNORED */
  vfsStat(session: string, path: string): Promise<VfsStat | null>;
  /** What committing the session would change. @throws KernelError SESSION_NOT_FOUND */
  vfsDiff(session: string): Promise<DiffEntry[]>;
  /** Applies the upper onto the lower, then records `vfs.session.committed`. @throws KernelError SESSION_NOT_FOUND, PATH_* */
  vfsCommit(session: string, options: { source: string }): Promise<VfsChangeReceipt & CommitSummary>;
  /** Records `vfs.session.discarded`. @throws KernelError SESSION_NOT_FOUND */
  vfsDiscard(session: string, options: { source: string }): Promise<VfsChangeReceipt>;
  /** Mints a handle signed with the home's kernel key. @throws KernelError INVALID_ARGUMENT */
  capMint(request: CapabilityRequest): Promise<MintedCapability>;
  /** Records `capability.revoked` for a genuine handle's own id. @throws KernelError HANDLE_INVALID (forged or malformed) */
  capRevoke(handle: string, options: { source: string }): Promise<{ id: string; seq: number }>;
  /** Verifies a handle for a capsule now. @throws KernelError HANDLE_INVALID (tampered, expired, revoked, other capsule) */
  capVerify(handle: string, capsuleId: string): Promise<EffectiveCapability>;
  /** Asks a daemon to stop. @throws KernelError DAEMON_NOT_RUNNING when the owner is a command. */
  shutdown(): Promise<void>;
  /**
   * Asks a command that owns the home only to follow it (`bus subscribe`, `log tail`) to
   * give the home up, so a daemon can take it; the follower reconnects through the daemon.
   * @throws KernelError DAEMON_ALREADY_RUNNING (the owner is a daemon), HOME_LOCKED (busy, retry)
   */
  handover(): Promise<void>;
  close(): Promise<void>;
}

/** The most events one `read` returns. */
export const MAX_READ = 10_000;
