import type { StoredEvent, VfsFileWritten, VfsPathEvent, VfsPathRenamed, VfsSessionEnded, VfsSessionOpened } from '../kernel/events/index.ts';
import type { ProjectionDefinition, StateWriter } from '../kernel/projection/index.ts';
import {
  VFS_PROJECTION,
  entryKey,
  entryValue,
  sessionKey,
  type UpperEntry,
} from '../kernel/vfs/overlay/index.ts';

/**
 * The upper layer of every VFS session: `s/<session>` → {lower, status, openedSeq}, and
 * `e/<session><path>` → a file (blob, size, mode), a directory (opaque or not) or a
 * whiteout. A delete drops the entries below the path and leaves a whiteout; a rename moves
 * the entries at and below `from` to `to` (the kernel copies lower content up in the same
 * unit first) and leaves a whiteout at `from`. A committed or discarded session keeps only
 * its status: its entries are dropped.
 */
export const vfsProjection: ProjectionDefinition = {
  name: VFS_PROJECTION,
  version: 1,
  types: [
    'vfs.session.opened',
    'vfs.file.written',
    'vfs.path.deleted',
    'vfs.dir.created',
    'vfs.path.renamed',
    'vfs.session.committed',
    'vfs.session.discarded',
  ],
  apply(state, event: StoredEvent) {
    switch (event.type) {
      case 'vfs.session.opened': {
        const { session, lower } = event.data as VfsSessionOpened;
        state.put(sessionKey(session), { lower, status: 'open', openedSeq: event.seq });
        return;
      }
      case 'vfs.file.written': {
        const { session, path, blob, size, mode } = event.data as VfsFileWritten;
        const tree = new Tree(state, session);
        tree.dropBelow(path);
        tree.put(path, mode === undefined ? { kind: 'file', blob, size } : { kind: 'file', blob, size, mode });
        return;
      }
      case 'vfs.path.deleted': {
        const { session, path } = event.data as VfsPathEvent;
        const tree = new Tree(state, session);
        tree.dropBelow(path);
        tree.put(path, { kind: 'whiteout' });
        return;
      }
      case 'vfs.dir.created': {
        const { session, path } = event.data as VfsPathEvent;
        const tree = new Tree(state, session);
        const current = tree.entry(path);
        if (current?.kind === 'dir') return;
        tree.put(path, { kind: 'dir', opaque: current?.kind === 'whiteout' });
        return;
      }
      case 'vfs.path.renamed': {
        const { session, from, to } = event.data as VfsPathRenamed;
        const tree = new Tree(state, session);
        const moved: Array<[string, UpperEntry]> = [];
        const top = tree.entry(from);
        if (top !== null && top.kind !== 'whiteout') moved.push(['', top.kind === 'dir' ? { kind: 'dir', opaque: true } : top]);
        for (const [path, entry] of tree.below(from)) if (entry.kind !== 'whiteout') moved.push([path.slice(from.length), entry]);
        tree.dropBelow(from);
        tree.put(from, { kind: 'whiteout' });
        tree.dropBelow(to);
        tree.remove(to);
        for (const [rest, entry] of moved) tree.put(`${to}${rest}`, entry);
        return;
      }
      case 'vfs.session.committed':
      case 'vfs.session.discarded': {
        const { session } = event.data as VfsSessionEnded;
        const info = state.get(sessionKey(session)) as { lower: string; openedSeq: number } | undefined;
        if (info === undefined) return;
        new Tree(state, session).dropBelow('/');
        state.put(sessionKey(session), { lower: info.lower, openedSeq: info.openedSeq, status: event.type === 'vfs.session.committed' ? 'committed' : 'discarded' });
        return;
      }
    }
  },
};

/**
 * The upper entries of one session with a children index (`c/<session><dir>` → sorted child
 * names, for every directory with an entry at or below it), because a projection's writer
 * offers no range reads: deletes and renames walk the index instead.
 */
class Tree {
  readonly #state: StateWriter;
  readonly #session: string;

  constructor(state: StateWriter, session: string) {
    this.#state = state;
    this.#session = session;
  }

  entry(path: string): UpperEntry | null {
    return (this.#state.get(entryKey(this.#session, path)) as UpperEntry | undefined) ?? null;
  }

  put(path: string, entry: UpperEntry): void {
    this.#state.put(entryKey(this.#session, path), entryValue(entry));
    let child = path;
    while (child !== '/') {
      const parent = parentOf(child);
      const names = this.#children(parent);
      const name = child.slice(child.lastIndexOf('/') + 1);
      if (names.includes(name)) return;
      this.#state.put(this.#childKey(parent), [...names, name].sort(byBytes));
      child = parent;
    }
  }

  /** Removes the entry at `path` (not what is below it) and prunes the index. */
  remove(path: string): void {
    this.#state.delete(entryKey(this.#session, path));
    this.#prune(path);
  }

  /** Every entry strictly below `path`, parents first. */
  below(path: string): Array<[string, UpperEntry]> {
    const out: Array<[string, UpperEntry]> = [];
    const walk = (dir: string): void => {
      for (const name of this.#children(dir)) {
        const child = dir === '/' ? `/${name}` : `${dir}/${name}`;
        const entry = this.entry(child);
        if (entry !== null) out.push([child, entry]);
        walk(child);
      }
    };
    walk(path);
    return out;
  }

  /** Deletes every entry strictly below `path` and its index. */
  dropBelow(path: string): void {
    const walk = (dir: string): void => {
      for (const name of this.#children(dir)) {
        const child = dir === '/' ? `/${name}` : `${dir}/${name}`;
        walk(child);
        this.#state.delete(entryKey(this.#session, child));
      }
      this.#state.delete(this.#childKey(dir));
    };
    walk(path);
    this.#prune(path);
  }

  #prune(path: string): void {
    let child = path;
    while (child !== '/' && this.entry(child) === null && this.#children(child).length === 0) {
      const parent = parentOf(child);
      const name = child.slice(child.lastIndexOf('/') + 1);
      const rest = this.#children(parent).filter((n) => n !== name);
      if (rest.length === 0) this.#state.delete(this.#childKey(parent));
      else this.#state.put(this.#childKey(parent), rest);
      child = parent;
    }
  }

  #children(dir: string): string[] {
    return (this.#state.get(this.#childKey(dir)) as string[] | undefined) ?? [];
  }

  #childKey(dir: string): string {
    return `c/${this.#session}${dir}`;
  }
}

function parentOf(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
