import type { Database, RootDatabase } from 'lmdb';
import { ErrorCode, KernelError } from '../errors/index.ts';
import type { Logger } from '../logger/index.ts';
import { assertReadableEvent, type HashedEvent } from '../events/index.ts';
import type { JsonValue, ProjectionDefinition, ProjectionStatus, StateReader, StateWriter } from '../projection/index.ts';
import { decodeRecord, peekType } from './record.ts';

/** Pending changes of one projection: key → JSON text, or null for a delete. */
type Changes = Map<string, string | null>;
/** Pending changes of every projection touched, by projection name. */
export type Overlay = Map<string, Changes>;

interface Slot {
  readonly def: ProjectionDefinition;
  readonly db: Database<string, string>;
  readonly types: ReadonlySet<string>;
}

/** A slot with its writer into one overlay, made once per batch rather than once per event. */
export interface Bound {
  readonly slot: Slot;
  readonly writer: StateWriter;
}

/** A projection behind the head during one catch-up step, and the changes it has made so far. */
interface Lagging {
  readonly slot: Slot;
  readonly from: number;
  readonly end: number;
  readonly target: number;
  readonly overlay: Overlay;
  readonly bound: readonly Bound[];
  ok: boolean;
}

interface Checkpoint {
  readonly version: number;
  readonly seq: number;
}

const checkpointKey = (name: string) => `checkpoint:${name}`;
const pinKey = (name: string) => `pin:${name}`;

/**
 * Runs projections inside the log's write transactions. Every method that writes is
 * called from inside an LMDB transaction callback and is synchronous; all reducers run
 * (into overlays) before the first put, because a throwing callback still commits the puts
 * it made.
 */
export class Projector {
  readonly #slots = new Map<string, Slot>();
  readonly #meta: Database<unknown, string>;
  readonly #events: Database<string, number>;
  readonly #failed = new Map<string, KernelError>();
  readonly #logger: Logger;

  constructor(
    root: RootDatabase,
    handles: { meta: Database<unknown, string>; events: Database<string, number> },
    defs: readonly ProjectionDefinition[],
    logger: Logger,
  ) {
    this.#meta = handles.meta;
    this.#events = handles.events;
    this.#logger = logger;
    for (const def of defs) {
      if (this.#slots.has(def.name)) throw new KernelError(ErrorCode.InvalidArgument, `Cannot register projection "${def.name}" twice`);
      const db = root.openDB<string, string>(`p.${def.name}`, { encoding: 'string' });
      this.#slots.set(def.name, { def, db, types: new Set(def.types) });
    }
  }

  /** The registered projection names, in registration order. */
  names(): string[] {
    return [...this.#slots.keys()];
  }

  /** The slot of a projection; throws PROJECTION_UNKNOWN for a name nobody registered. */
  slot(name: string): Slot {
    const slot = this.#slots.get(name);
    if (slot === undefined) {
      throw new KernelError(ErrorCode.ProjectionUnknown, `Cannot find projection "${name}": known are ${this.names().map((n) => `"${n}"`).join(', ')}`, {
        details: { name },
      });
    }
    return slot;
  }

  /** Whether some projection's stored version differs from its definition (read-only). */
  anyOutdated(): boolean {
    for (const { def } of this.#slots.values()) if (this.#checkpoint(def.name)?.version !== def.version) return true;
    return false;
  }

  /** In a write txn: resets every projection whose stored version differs from its definition. */
  resetOutdated(): string[] {
    const reset: string[] = [];
    for (const { def, db } of this.#slots.values()) {
      const cp = this.#checkpoint(def.name);
      if (cp !== null && cp.version === def.version) continue;
      db.clearSync();
      this.#meta.put(checkpointKey(def.name), { version: def.version, seq: 0 } satisfies Checkpoint);
      this.#meta.remove(pinKey(def.name));
      if (cp !== null) reset.push(def.name);
    }
    return reset;
  }

  /** Status of one projection. */
  status(name: string): ProjectionStatus {
    const { def } = this.slot(name);
    const pin = this.#meta.get(pinKey(name));
    return {
      name,
      version: def.version,
      checkpoint: this.#checkpoint(name)?.seq ?? 0,
      pinnedAt: typeof pin === 'number' ? pin : null,
    };
  }

  /** The error that stopped a projection, if one did. */
  failure(name: string): KernelError | null {
    return this.#failed.get(name) ?? null;
  }

  /** In a write txn: the projections that are exactly at `head` and will apply the next events live. */
  liveAt(head: number): Slot[] {
    const live: Slot[] = [];
    for (const slot of this.#slots.values()) {
      const st = this.status(slot.def.name);
      if (st.checkpoint === head && st.pinnedAt === null && !this.#failed.has(slot.def.name)) live.push(slot);
    }
    return live;
  }

  /**
   * Binds slots to writers into `group`, whose reads fall back to `batch` and then to the
   * stored state, for {@link Projector.applyTo}.
   */
  bind(slots: readonly Slot[], group: Overlay, batch: Overlay): Bound[] {
    return slots.map((slot) => ({ slot, writer: this.#writer(slot, group, batch) }));
  }

  /** Applies `event` to each bound slot that reads its type. */
  applyTo(bound: readonly Bound[], event: HashedEvent): void {
    for (const { slot, writer } of bound) {
      if (slot.types.has(event.type)) slot.def.apply(writer, event);
    }
  }

  /** In a write txn, after all reducers ran: writes the overlay and moves checkpoints to `head`. */
  commit(slots: readonly Slot[], overlay: Overlay, head: number): void {
    for (const [name, changes] of overlay) {
      const { db } = this.slot(name);
      for (const [key, text] of changes) {
        if (text === null) db.remove(key);
        else db.put(key, text);
      }
    }
    for (const { def } of slots) this.#meta.put(checkpointKey(def.name), { version: def.version, seq: head } satisfies Checkpoint);
  }

  /**
   * In a write txn: moves every lagging, unpinned projection forward by at most `max` events,
   * never past `until`. Returns true while some projection is still behind. Projections at
   * the same checkpoint share one read of the range, each event decoded once and only when
   * one of them reads its type; nothing is put until every reducer has run.
   */
  catchUpStep(head: number, max: number, until = head): boolean {
    const groups = new Map<number, Lagging[]>();
    for (const slot of this.#slots.values()) {
      const lag = this.#lag(slot, head, until);
      if (lag === null) continue;
      const { st, target } = lag;
      const overlay: Overlay = new Map();
      const bound = this.bind([slot], overlay, overlay);
      const member: Lagging = { slot, from: st.checkpoint, end: Math.min(target, st.checkpoint + max), target, overlay, bound, ok: true };
      const group = groups.get(st.checkpoint);
      if (group === undefined) groups.set(st.checkpoint, [member]);
      else group.push(member);
    }
    for (const [from, members] of groups) this.#replayRange(from, members);
    let behind = false;
    for (const members of groups.values()) {
      for (const m of members) {
        if (!m.ok) continue;
        this.commit([m.slot], m.overlay, m.end);
        if (m.end < m.target) behind = true;
      }
    }
    return behind;
  }

  /** Whether a catch-up step would move some projection (read-only, so no write txn is needed when none would). */
  anyBehind(head: number, until = head): boolean {
    for (const slot of this.#slots.values()) if (this.#lag(slot, head, until) !== null) return true;
    return false;
  }

  /** Where a projection stands and where catching up takes it, or null when it stays. */
  #lag(slot: Slot, head: number, until: number): { st: ProjectionStatus; target: number } | null {
    const st = this.status(slot.def.name);
    const target = Math.min(head, st.pinnedAt ?? until);
    return st.checkpoint >= target || this.#failed.has(slot.def.name) ? null : { st, target };
  }

  /** Applies events `from + 1` up to each member's `end` into its overlay; a failing member is set aside. */
  #replayRange(from: number, members: readonly Lagging[]): void {
    const last = Math.max(...members.map((m) => m.end));
    for (const { key, value } of this.#events.getRange({ start: from + 1, end: last + 1 })) {
      const type = peekType(value);
      let event: HashedEvent | null = null;
      for (const m of members) {
        if (!m.ok || key > m.end || (type !== null && !m.slot.types.has(type))) continue;
        try {
          event ??= decodeRecord(value);
          if (m.slot.types.has(event.type)) assertReadableEvent(event);
          this.applyTo(m.bound, event);
        } catch (cause) {
          // A log this build cannot read stops every replay: nothing was put yet in this txn.
          if (cause instanceof KernelError && cause.code === ErrorCode.EventVersionUnsupported) throw cause;
          this.#fail(m, cause);
        }
      }
    }
  }

  #fail(m: Lagging, cause: unknown): void {
    const name = m.slot.def.name;
    const error = new KernelError(ErrorCode.ProjectionFailed, `Cannot apply projection "${name}" after seq ${m.from}`, {
      cause,
      details: { name, seq: m.from },
    });
    m.ok = false;
    this.#failed.set(name, error);
    this.#logger.error('projection failed', { projection: name, seq: m.from, code: error.code });
  }

  /** In a write txn: clears the named projections to seq 0; `pinAt` freezes them at that seq. */
  reset(names: readonly string[], pinAt: number | null): void {
    for (const name of names) {
      const { def, db } = this.slot(name);
      db.clearSync();
      this.#failed.delete(name);
      this.#meta.put(checkpointKey(name), { version: def.version, seq: 0 } satisfies Checkpoint);
      if (pinAt === null) this.#meta.remove(pinKey(name));
      else this.#meta.put(pinKey(name), pinAt);
    }
  }

  /** A reader over a projection's stored state. */
  reader(name: string): StateReader {
    const { db } = this.slot(name);
    return {
      get(key) {
        const text = db.get(key);
        return text === undefined ? undefined : (JSON.parse(text) as JsonValue);
      },
      *entries(prefix = '', options = {}) {
        let n = 0;
        const after = options.after;
        const start = after !== undefined && after.startsWith(prefix) ? after : prefix;
        for (const { key, value } of db.getRange({ start })) {
          // Keys sharing a prefix are contiguous in byte order: the first other key ends the scan.
          if (!key.startsWith(prefix)) return;
          if (key === after) continue;
          if (options.limit !== undefined && n >= options.limit) return;
          n++;
          yield [key, JSON.parse(value) as JsonValue] as const;
        }
      },
    };
  }

  /** Every stored key and JSON text of a projection, in key order. */
  dump(name: string): Array<readonly [string, string]> {
    const { db } = this.slot(name);
    return [...db.getRange({})].map(({ key, value }) => [key, value] as const);
  }

  #checkpoint(name: string): Checkpoint | null {
    const cp = this.#meta.get(checkpointKey(name)) as Checkpoint | undefined;
    return cp ?? null;
  }

  #writer(slot: Slot, group: Overlay, batch: Overlay): StateWriter {
    const name = slot.def.name;
    const changes = (): Changes => {
      let c = group.get(name);
      if (c === undefined) group.set(name, (c = new Map()));
      return c;
    };
    return {
      get(key) {
        let text = group.get(name)?.get(key);
        if (text === undefined && group !== batch) text = batch.get(name)?.get(key);
        if (text === null) return undefined;
        if (text !== undefined) return JSON.parse(text) as JsonValue;
        const stored = slot.db.get(key);
        return stored === undefined ? undefined : (JSON.parse(stored) as JsonValue);
      },
      put(key, value) {
        changes().set(key, JSON.stringify(value));
      },
      delete(key) {
        changes().set(key, null);
      },
    };
  }
}
