import { Bus, compilePattern, type SubjectMatcher } from '../bus/index.ts';
import { ErrorCode, KernelError } from '../errors/index.ts';
import type { NewEvent } from '../events/index.ts';
import type { CallEffects, CapsuleLogLevel, FsCaller, FsEntry, FsStat, HostFile, HostServices, IpcBatch, IpcMessage } from '../host/index.ts';
import { CapsuleFiles, type CapsuleFilesOptions } from '../host/fs/index.ts';
import type { EventLog } from '../log/index.ts';
import type { Logger } from '../logger/index.ts';

/** The KV namespace a capsule's airlocks act on. */
export function capsuleNamespace(capsuleId: string): string {
  return `capsule-${capsuleId}`;
}

/** The KV namespace where a user sets a capsule's `[env]` values (`astrid kv set env-<id> NAME '"v"'`). */
export function capsuleEnvNamespace(capsuleId: string): string {
  return `env-${capsuleId}`;
}

/** A delivery that the next commit of a capsule's call completes, in the same unit. */
export interface PendingDelivery {
  readonly handler: string;
  readonly seq: number;
}

interface Subscription {
  readonly capsuleId: string;
  readonly matches: SubjectMatcher;
  next: number;
}

/** How many log events one `astrid_ipc_poll` scans at most, so a poll stays short. */
const POLL_SCAN = 10_000;

/**
 * The airlocks' kernel side, over the event log: every effect is an event whose source is
 * `capsule:<id>`. A successful call's KV writes and publications, plus the handler delivery
 * it completes, are appended as one unit (`commit`), so a call is recorded whole or not at all.
 */
export class KernelHostServices implements HostServices {
  readonly #log: EventLog;
  readonly #bus: Bus;
  readonly #logger: Logger;
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #pending = new Map<string, PendingDelivery>();
  readonly #env: (capsuleId: string) => Readonly<Record<string, string | undefined>>;
  readonly #files: CapsuleFiles | null;
  #nextSub = 1;

  /** Without `files` the file airlocks answer `UNSUPPORTED`. */
  constructor(
    log: EventLog,
    bus: Bus,
    options: { logger: Logger; envDefaults: (capsuleId: string) => Readonly<Record<string, string | undefined>>; files?: CapsuleFilesOptions },
  ) {
    this.#log = log;
    this.#bus = bus;
    this.#logger = options.logger;
    this.#env = options.envDefaults;
    this.#files = options.files === undefined ? null : new CapsuleFiles(options.files);
  }

  /** Makes the next commit of `capsuleId` also complete `delivery`; returns a function telling whether it did. */
  expectDelivery(capsuleId: string, delivery: PendingDelivery): () => boolean {
    this.#pending.set(capsuleId, delivery);
    return () => {
      const left = this.#pending.get(capsuleId) === delivery;
      this.#pending.delete(capsuleId);
      return !left;
    };
  }

  async ipcPublish(capsuleId: string, subject: string, payloadJson: string): Promise<void> {
    await this.#log.append(this.#publishEvents(capsuleId, [{ subject, payloadJson }]));
  }

  ipcSubscribe(capsuleId: string, pattern: string): string {
    const id = `s${this.#nextSub++}`;
    this.#subscriptions.set(id, { capsuleId, matches: compilePattern(pattern), next: this.#log.head().seq + 1 });
    return id;
  }

  ipcUnsubscribe(capsuleId: string, subscriptionId: string): boolean {
    const sub = this.#subscriptions.get(subscriptionId);
    if (sub === undefined || sub.capsuleId !== capsuleId) return false;
    return this.#subscriptions.delete(subscriptionId);
  }

  ipcPoll(capsuleId: string, subscriptionId: string, max: number): IpcBatch {
    const sub = this.#subscriptions.get(subscriptionId);
    if (sub === undefined || sub.capsuleId !== capsuleId) {
      throw new KernelError(ErrorCode.NotFound, `Cannot poll subscription "${subscriptionId}" as this capsule has none by that id`);
    }
    const messages: IpcMessage[] = [];
    for (const event of this.#log.read({ from: sub.next, limit: POLL_SCAN })) {
      if (messages.length >= max) break;
      sub.next = event.seq + 1;
      if (event.type !== 'bus.message.published' || event.subject === undefined || !sub.matches(event.subject)) continue;
      const payload = (event.data as { payload: unknown }).payload;
      messages.push({ seq: event.seq, subject: event.subject, source: event.source, payloadJson: JSON.stringify(payload) });
    }
    return { messages };
  }

  kvGet(capsuleId: string, key: string): string | null {
    const stored = this.#log.projection('kv').get(`${capsuleNamespace(capsuleId)}/${key}`) as { value: unknown } | undefined;
    return stored === undefined ? null : typeof stored.value === 'string' ? stored.value : JSON.stringify(stored.value);
  }

  async kvSet(capsuleId: string, key: string, value: string): Promise<void> {
    await this.#log.append([this.#kvEvent(capsuleId, key, value)]);
  }

  async kvDelete(capsuleId: string, key: string): Promise<boolean> {
    const existed = this.kvGet(capsuleId, key) !== null;
    if (existed) await this.#log.append([this.#kvEvent(capsuleId, key, null)]);
    return existed;
  }

  kvList(capsuleId: string, prefix: string): string[] {
    const ns = `${capsuleNamespace(capsuleId)}/`;
    return [...this.#log.projection('kv').entries(`${ns}${prefix}`)].map(([k]) => k.slice(ns.length));
  }

  log(capsuleId: string, level: CapsuleLogLevel, message: string): void {
    this.#logger[level](message, { capsuleId });
  }

  configGet(capsuleId: string, key: string): string | null {
    const stored = this.#log.projection('kv').get(`${capsuleEnvNamespace(capsuleId)}/${key}`) as { value: unknown } | undefined;
    if (stored !== undefined) return typeof stored.value === 'string' ? stored.value : JSON.stringify(stored.value);
    return this.#env(capsuleId)[key] ?? null;
  }

  async commit(capsuleId: string, effects: CallEffects): Promise<void> {
    const events: NewEvent[] = effects.kv.map((w) => this.#kvEvent(capsuleId, w.key, w.value));
    events.push(...this.#publishEvents(capsuleId, effects.published));
    const delivery = this.#pending.get(capsuleId);
    if (delivery !== undefined) {
      events.push({ type: 'capsule.delivery.completed', v: 1, source: `capsule:${capsuleId}`, data: { capsuleId, ...delivery } });
      this.#pending.delete(capsuleId);
    }
    await this.#log.append(events);
  }

  fsOpen(caller: FsCaller, handle: string, path: string, mode: 'r' | 'w'): Promise<HostFile> {
    return this.#fs().open(caller, handle, path, mode);
  }

  fsStat(caller: FsCaller, handle: string, path: string): Promise<FsStat | null> {
    return this.#fs().stat(caller, handle, path);
  }

  fsReaddir(caller: FsCaller, handle: string, path: string): Promise<FsEntry[]> {
    return this.#fs().readdir(caller, handle, path);
  }

  fsMkdir(caller: FsCaller, handle: string, path: string): Promise<void> {
    return this.#fs().mkdir(caller, handle, path);
  }

  fsRemove(caller: FsCaller, handle: string, path: string): Promise<void> {
    return this.#fs().remove(caller, handle, path);
  }

  fsRename(caller: FsCaller, handle: string, from: string, to: string): Promise<void> {
    return this.#fs().rename(caller, handle, from, to);
  }

  #fs(): CapsuleFiles {
    if (this.#files === null) throw new KernelError(ErrorCode.Unsupported, 'Cannot use files as this kernel mounts none for capsules');
    return this.#files;
  }

  #kvEvent(capsuleId: string, key: string, value: string | null): NewEvent {
    const namespace = capsuleNamespace(capsuleId);
    return value === null
      ? { type: 'kv.value.deleted', v: 1, source: `capsule:${capsuleId}`, data: { namespace, key } }
      : { type: 'kv.value.set', v: 1, source: `capsule:${capsuleId}`, data: { namespace, key, value } };
  }

  #publishEvents(capsuleId: string, published: CallEffects['published']): NewEvent[] {
    const messages = published.map((p) => {
      try {
        return { subject: p.subject, payload: JSON.parse(p.payloadJson) as unknown };
      } catch (cause) {
        throw new KernelError(ErrorCode.PayloadInvalid, `Cannot publish to "${p.subject}" as the payload is not JSON`, { cause });
      }
    });
    return this.#bus.prepare(messages, { source: `capsule:${capsuleId}` });
  }
}
