import type { KvValueDeleted, KvValueSet, StoredEvent } from '../kernel/events/index.ts';
import type { JsonValue, ProjectionDefinition, StateReader } from '../kernel/projection/index.ts';

/** A KV entry as the projection stores it: the value and the seq that set it. */
export interface KvEntry {
  readonly namespace: string;
  readonly key: string;
  readonly value: JsonValue;
  readonly seq: number;
}

/** The stored key of a namespaced KV key. Namespaces contain no "/", so this is unambiguous. */
export function kvStoreKey(namespace: string, key: string): string {
  return `${namespace}/${key}`;
}

/** The KV store: `kv.value.set` and `kv.value.deleted`, namespaced. */
export const kvProjection: ProjectionDefinition = {
  name: 'kv',
  version: 1,
  types: ['kv.value.set', 'kv.value.deleted'],
  apply(state, event: StoredEvent) {
    if (event.type === 'kv.value.set') {
      const { namespace, key, value } = event.data as KvValueSet;
      state.put(kvStoreKey(namespace, key), { value: value as JsonValue, seq: event.seq });
    } else {
      const { namespace, key } = event.data as KvValueDeleted;
      state.delete(kvStoreKey(namespace, key));
    }
  },
};

/** Decodes a stored KV entry (its store key and stored value). */
export function kvEntryOf(storeKey: string, stored: JsonValue): KvEntry {
  const slash = storeKey.indexOf('/');
  const { value, seq } = stored as { value: JsonValue; seq: number };
  return { namespace: storeKey.slice(0, slash), key: storeKey.slice(slash + 1), value, seq };
}

/** One KV entry, or null. */
export function kvGet(state: StateReader, namespace: string, key: string): KvEntry | null {
  const stored = state.get(kvStoreKey(namespace, key));
  return stored === undefined ? null : kvEntryOf(kvStoreKey(namespace, key), stored);
}

/** The entries of a namespace whose key starts with `prefix`, in key order. */
export function kvList(
  state: StateReader,
  namespace: string,
  options: { prefix?: string; limit?: number; after?: string } = {},
): KvEntry[] {
  const entries: KvEntry[] = [];
  const after = options.after === undefined ? {} : { after: kvStoreKey(namespace, options.after) };
  const limit = options.limit === undefined ? {} : { limit: options.limit };
  for (const [k, v] of state.entries(kvStoreKey(namespace, options.prefix ?? ''), { ...after, ...limit })) {
    entries.push(kvEntryOf(k, v));
  }
  return entries;
}
