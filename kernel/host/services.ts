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
}
