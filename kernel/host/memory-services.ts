import { ErrorCode, KernelError } from '../errors/index.ts';
import { CapsuleFiles, createMemorySessions, type CapsuleFilesOptions } from './fs/index.ts';
import { patternCovers, subjectTokens } from './grant.ts';
import type { CallEffects, CapsuleLogLevel, HostServices, IpcBatch, IpcMessage } from './services.ts';

interface Subscription {
  readonly capsuleId: string;
  readonly tokens: readonly string[];
  cursor: number;
}

/** One captured `astrid_log` line. */
export interface CapturedLog {
  readonly capsuleId: string;
  readonly level: CapsuleLogLevel;
  readonly message: string;
}

/** The in-memory twin of {@link HostServices}, with handles for tests to look inside. */
export interface MemoryHostServices extends HostServices {
  /** Every message published so far, in order (seq = index + 1). */
  readonly messages: readonly IpcMessage[];
  readonly logs: readonly CapturedLog[];
  /** How many `commit()` calls were made (0 when built with `commit: false`). */
  readonly commits: number;
  /** A capsule's KV namespace (a live map; empty when it has none). */
  kvOf(capsuleId: string): ReadonlyMap<string, string>;
  /** Publishes as someone else (`source` such as `user:test`), for a capsule to poll. */
  publishAs(source: string, subject: string, payloadJson: string): void;
  /** Sets the resolved `[env]` value a capsule reads with `astrid_config_get`. */
  setConfig(capsuleId: string, key: string, value: string): void;
  /** Open subscription ids of a capsule. */
  subscriptionsOf(capsuleId: string): string[];
}

/**
 * Creates an in-memory {@link HostServices}: a message list with cursor subscriptions,
 * per-capsule KV maps, config values and a log capture. With `commit: false` it has no
 * `commit()` method, so the host falls back to the per-airlock methods. The file airlocks go
 * through {@link CapsuleFiles} with `files` (for example a real verifier over in-memory
 * sessions from `createMemorySessions()`); without it every handle is refused.
 */
export function createMemoryHostServices(options: { commit?: boolean; files?: CapsuleFilesOptions } = {}): MemoryHostServices {
  const files = new CapsuleFiles(
    options.files ?? {
      verify: () => {
        throw new KernelError(ErrorCode.HandleInvalid, 'Cannot use the capability handle as this host verifies none', { details: { reason: 'signature' } });
      },
      sessions: createMemorySessions(),
    },
  );
  const messages: IpcMessage[] = [];
  const logs: CapturedLog[] = [];
  const kv = new Map<string, Map<string, string>>();
  const config = new Map<string, Map<string, string>>();
  const subs = new Map<string, Subscription>();
  let nextSub = 0;
  let commits = 0;

  const namespace = (capsuleId: string): Map<string, string> => {
    let ns = kv.get(capsuleId);
    if (ns === undefined) {
      ns = new Map();
      kv.set(capsuleId, ns);
    }
    return ns;
  };
  const publish = (source: string, subject: string, payloadJson: string): void => {
    messages.push({ seq: messages.length + 1, subject, source, payloadJson });
  };
  const own = (capsuleId: string, id: string): Subscription => {
    const sub = subs.get(id);
    if (sub === undefined || sub.capsuleId !== capsuleId) {
      throw new KernelError(ErrorCode.NotFound, `Cannot use subscription "${id}" as capsule "${capsuleId}" does not own it`);
    }
    return sub;
  };

  const services: MemoryHostServices = {
    messages,
    logs,
    get commits() {
      return commits;
    },
    kvOf: (capsuleId) => namespace(capsuleId),
    publishAs: publish,
    setConfig(capsuleId, key, value) {
      let c = config.get(capsuleId);
      if (c === undefined) config.set(capsuleId, (c = new Map()));
      c.set(key, value);
    },
    subscriptionsOf: (capsuleId) => [...subs].filter(([, s]) => s.capsuleId === capsuleId).map(([id]) => id),
    ipcPublish(capsuleId, subject, payloadJson) {
      publish(`capsule:${capsuleId}`, subject, payloadJson);
    },
    ipcSubscribe(capsuleId, pattern) {
      const tokens = subjectTokens(pattern, true);
      if (tokens === null) throw new KernelError(ErrorCode.PatternInvalid, `Cannot subscribe to "${pattern}" as it is not a valid pattern`);
      const id = `sub-${++nextSub}`;
      subs.set(id, { capsuleId, tokens, cursor: messages.length });
      return id;
    },
    ipcUnsubscribe(capsuleId, id) {
      const sub = subs.get(id);
      if (sub === undefined || sub.capsuleId !== capsuleId) return false;
      return subs.delete(id);
    },
    ipcPoll(capsuleId, id, max): IpcBatch {
      const sub = own(capsuleId, id);
      const out: IpcMessage[] = [];
      while (sub.cursor < messages.length && out.length < max) {
        const m = messages[sub.cursor++] as IpcMessage;
        const t = subjectTokens(m.subject, false);
        if (t !== null && patternCovers(sub.tokens, t)) out.push(m);
      }
      return { messages: out };
    },
    kvGet: (capsuleId, key) => kv.get(capsuleId)?.get(key) ?? null,
    kvSet(capsuleId, key, value) {
      namespace(capsuleId).set(key, value);
    },
    kvDelete: (capsuleId, key) => kv.get(capsuleId)?.delete(key) ?? false,
    kvList: (capsuleId, prefix) => [...(kv.get(capsuleId)?.keys() ?? [])].filter((k) => k.startsWith(prefix)).sort(),
    log(capsuleId, level, message) {
      logs.push({ capsuleId, level, message });
    },
    configGet: (capsuleId, key) => config.get(capsuleId)?.get(key) ?? null,
    fsOpen: (caller, handle, path, mode) => files.open(caller, handle, path, mode),
    fsStat: (caller, handle, path) => files.stat(caller, handle, path),
    fsReaddir: (caller, handle, path) => files.readdir(caller, handle, path),
    fsMkdir: (caller, handle, path) => files.mkdir(caller, handle, path),
    fsRemove: (caller, handle, path) => files.remove(caller, handle, path),
    fsRename: (caller, handle, from, to) => files.rename(caller, handle, from, to),
  };
  if (options.commit !== false) {
    services.commit = async (capsuleId: string, effects: CallEffects): Promise<void> => {
      commits++;
      const ns = namespace(capsuleId);
      for (const w of effects.kv) {
        if (w.value === null) ns.delete(w.key);
        else ns.set(w.key, w.value);
      }
      for (const p of effects.published) publish(`capsule:${capsuleId}`, p.subject, p.payloadJson);
    };
  }
  return services;
}
