import type { StoredEvent } from '../events/index.ts';
import type { JsonValue, ProjectionDefinition, StateReader, StateWriter } from './types.ts';

const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * The in-memory twin of a projection's stored state: used to compute state as of any seq
 * without touching the stored projection, and in tests. Values are kept as their JSON text,
 * exactly as the LMDB store keeps them.
 */
export class MemoryState implements StateReader, StateWriter {
  readonly #map = new Map<string, string>();

  get(key: string): JsonValue | undefined {
    const text = this.#map.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as JsonValue);
  }

  put(key: string, value: JsonValue): void {
    this.#map.set(key, JSON.stringify(value));
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  *entries(prefix = '', options: { limit?: number; after?: string } = {}): Iterable<readonly [string, JsonValue]> {
    let n = 0;
    for (const [key, text] of this.dump()) {
      if (!key.startsWith(prefix)) continue;
      if (options.after !== undefined && byBytes(key, options.after) <= 0) continue;
      if (options.limit !== undefined && n >= options.limit) return;
      n++;
      yield [key, JSON.parse(text) as JsonValue];
    }
  }

  /** Every key and stored JSON text, in key order: comparable with the LMDB store's dump. */
  dump(): Array<readonly [string, string]> {
    return [...this.#map.entries()].sort(([a], [b]) => byBytes(a, b));
  }
}

/** Folds `events` into a fresh {@link MemoryState} with `projection`. */
export function foldInMemory(projection: ProjectionDefinition, events: Iterable<StoredEvent>): MemoryState {
  const state = new MemoryState();
  const types = new Set(projection.types);
  for (const event of events) {
    if (types.has(event.type)) projection.apply(state, event);
  }
  return state;
}
