/**
 * The port between the capsule host and the rest of the kernel. The host never talks to the
 * event log, the bus or the KV projection directly: it calls these methods, after it has
 * checked the capsule's {@link CapsuleGrant}. The kernel implements the port over the log;
 * `createMemoryHostServices()` is the in-memory twin used by tests.
 *
 * Every method may return a value or a promise of it: the host awaits on the main thread
 * while the capsule's worker blocks, so an implementation is free to await a durable append.
 * A method that fails throws a `KernelError`; the host hands its code and message to the
 * capsule as an airlock error result (`{ ok: false, code, message }`).
 */

import type { Right } from '../caps/index.ts';

/** A value or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

/** Levels a capsule may log at through `astrid_log`. */
export type CapsuleLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One bus message as a capsule receives it from `astrid_ipc_poll`. */
export interface IpcMessage {
  /** The log seq of the `bus.message.published` event. */
  readonly seq: number;
  readonly subject: string;
  /** Who published it: `capsule:<id>`, `user:<name>`, `kernel`. */
  readonly source: string;
  /** The payload as JSON text, already validated when it was published. */
  readonly payloadJson: string;
}

/** What one `astrid_ipc_poll` returns: the next messages of a subscription, oldest first. */
export interface IpcBatch {
  readonly messages: readonly IpcMessage[];
}

/** One KV change of a call: `value: null` deletes the key. */
export interface KvWrite {
  readonly key: string;
  readonly value: string | null;
}

/** One message a call published. */
export interface IpcPublication {
  readonly subject: string;
  readonly payloadJson: string;
}

/**
 * The buffered effects of one capsule call that returned successfully, in the order the
 * capsule made them. A call that traps, times out or fails leaves no effects.
 */
export interface CallEffects {
  /** The final value of every key the call wrote, in first-write order. */
  readonly kv: readonly KvWrite[];
  readonly published: readonly IpcPublication[];
}

/** One `[capabilities] fs` grant of the calling capsule, as a virtual path (`.` is `/`). */
export interface FsGrant {
  readonly path: string;
  readonly rights: readonly Right[];
}

/** Who asks for a file operation: the calling capsule and its manifest's fs grants. */
export interface FsCaller {
  readonly capsuleId: string;
  readonly grants: readonly FsGrant[];
}

/** A visible path's kind and size (null for a directory). */
export interface FsStat {
  readonly path: string;
  readonly kind: 'file' | 'dir';
  readonly size: number | null;
}

/** One entry of a directory listing. */
export interface FsEntry extends FsStat {
  readonly name: string;
}

/**
 * A file a capsule opened through `astrid_fs_open`, held on the kernel side for the rest of
 * the call. A read file reads bounded chunks by offset; a write file accumulates bytes and
 * lands them as one `vfs.file.written` at `close()`, after checking the handle again.
 */
export interface HostFile {
  readonly mode: 'r' | 'w';
  /** Size at open for a read file, bytes buffered so far for a write file. */
  readonly size: number;
  /**
   * The next at most `max` bytes (the kernel may cap `max` lower); `eof` once the end is
   * reached. Throws `INVALID_ARGUMENT` on a write file.
   */
  read(max: number): Promise<{ bytes: Uint8Array; eof: boolean }>;
  /** Buffers bytes. Throws `INVALID_ARGUMENT` on a read file, `PAYLOAD_TOO_LARGE` past the cap. */
  write(bytes: Uint8Array): void;
  /** Releases the file; a write file's bytes land now. Returns the file's size. */
  close(): Promise<number>;
  /** Releases the file without landing anything (the call ended with it open). */
  abandon(): Promise<void>;
}

/**
 * The kernel side of the airlocks. `capsuleId` is always the calling capsule: KV methods act
 * on that capsule's own namespace only, subscriptions belong to it.
 */
export interface HostServices {
  /** Publishes one message (`astrid_ipc_publish`); the subject is concrete and already allowed. */
  ipcPublish(capsuleId: string, subject: string, payloadJson: string): MaybePromise<void>;
  /** Opens a subscription (`astrid_ipc_subscribe`) and returns its id. */
  ipcSubscribe(capsuleId: string, pattern: string): MaybePromise<string>;
  /** Closes a subscription; an unknown id is not an error (returns false). */
  ipcUnsubscribe(capsuleId: string, subscriptionId: string): MaybePromise<boolean>;
  /**
   * Returns up to `max` messages of a subscription and moves its cursor past them. Throws
   * `NOT_FOUND` for an id this capsule does not own.
   */
  ipcPoll(capsuleId: string, subscriptionId: string, max: number): MaybePromise<IpcBatch>;
  /** Reads a key of the capsule's namespace; null when absent. */
  kvGet(capsuleId: string, key: string): MaybePromise<string | null>;
  /** Writes a key of the capsule's namespace. */
  kvSet(capsuleId: string, key: string, value: string): MaybePromise<void>;
  /** Deletes a key; returns whether it existed. */
  kvDelete(capsuleId: string, key: string): MaybePromise<boolean>;
  /** The keys of the capsule's namespace that start with `prefix`, sorted. */
  kvList(capsuleId: string, prefix: string): MaybePromise<readonly string[]>;
  /** One log line from the capsule (not an event; never contains secrets from the host). */
  log(capsuleId: string, level: CapsuleLogLevel, message: string): void;
  /** The resolved value of one of the capsule's declared `[env]` keys; null when unset. */
  configGet(capsuleId: string, key: string): MaybePromise<string | null>;
  /**
   * Optional: commits all effects of one successful call at once (one log transaction).
   * When absent the host calls `kvSet`/`kvDelete`/`ipcPublish` in order, all in the same
   * event-loop turn, and then awaits them.
   */
  commit?(capsuleId: string, effects: CallEffects): Promise<void>;
  /**
   * The file airlocks. Each verifies `handle` for `caller.capsuleId` (`HANDLE_INVALID`),
   * resolves the virtual path within the handle's root (`PATH_INVALID`, `PATH_ESCAPE`),
   * checks the right on both the handle and the manifest's fs grants (`CAPABILITY_DENIED`)
   * and goes through the mount at that path (the handle's session overlay at `/`, where the
   * ignore boundary hides paths: `PATH_IGNORED`). Changes land in the session at once.
   */
  fsOpen(caller: FsCaller, handle: string, path: string, mode: 'r' | 'w'): MaybePromise<HostFile>;
  fsStat(caller: FsCaller, handle: string, path: string): MaybePromise<FsStat | null>;
  fsReaddir(caller: FsCaller, handle: string, path: string): MaybePromise<readonly FsEntry[]>;
  fsMkdir(caller: FsCaller, handle: string, path: string): MaybePromise<void>;
  fsRemove(caller: FsCaller, handle: string, path: string): MaybePromise<void>;
  fsRename(caller: FsCaller, handle: string, from: string, to: string): MaybePromise<void>;
}
