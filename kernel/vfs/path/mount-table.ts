import { ErrorCode, KernelError } from '../../errors/index.ts';
import {
  isWithinVirtual,
  normalizeVirtualPath,
  relativeVirtual,
  virtualPathParts,
  type VirtualPath,
} from './virtual-path.ts';

/**
 * Something mounted into the virtual tree: the session overlay, a capsule's scratch area,
 * read-only capsule assets. File operations on layers arrive with the overlay (issue 4,
 * part 2); here a layer only needs a stable id for messages and logs.
 */
export interface Layer {
  readonly id: string;
}

/** One mount: a virtual prefix served by a layer. */
export interface Mount<L extends Layer = Layer> {
  readonly prefix: VirtualPath;
  readonly layer: L;
  readonly readOnly: boolean;
}

/** Where a virtual path lands: its mount and the path inside the layer (rooted at `/`). */
export interface MountResolution<L extends Layer = Layer> {
  readonly mount: Mount<L>;
  readonly rest: VirtualPath;
}

/**
 * Maps virtual prefixes to layers; the longest prefix wins, by whole components (`/src`
 * serves `/src/a` but not `/srcx`). Not a resource: nothing to close.
 */
export class MountTable<L extends Layer = Layer> {
  // Longest prefix first, so the first hit in resolve() is the right one.
  #mounts: Mount<L>[] = [];

  /**
   * Mounts a layer at a prefix. Throws `PATH_INVALID`/`PATH_ESCAPE` for a bad prefix and
   * `PATH_EXISTS` when the prefix is already mounted.
   */
  mount(mount: { prefix: string; layer: L; readOnly: boolean }): Mount<L> {
    const prefix = normalizeVirtualPath(mount.prefix);
    if (this.#mounts.some((m) => m.prefix === prefix)) {
      throw new KernelError(ErrorCode.PathExists, `Cannot mount "${mount.layer.id}" at "${prefix}" as it is already a mount point`);
    }
    const entry: Mount<L> = Object.freeze({ prefix, layer: mount.layer, readOnly: mount.readOnly });
    this.#mounts.push(entry);
    this.#mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    return entry;
  }

  /** Removes the mount at exactly `prefix`; returns whether there was one. */
  unmount(prefix: string): boolean {
    const at = normalizeVirtualPath(prefix);
    const before = this.#mounts.length;
    this.#mounts = this.#mounts.filter((m) => m.prefix !== at);
    return this.#mounts.length !== before;
  }

  /**
   * The mount serving `path` and the path inside its layer, or null when no mount covers it.
   * Throws `PATH_INVALID`/`PATH_ESCAPE` for a bad path.
   */
  resolve(path: string): MountResolution<L> | null {
    const vpath = normalizeVirtualPath(path);
    for (const mount of this.#mounts) {
      const rest = relativeVirtual(mount.prefix, vpath);
      if (rest !== null) return { mount, rest };
    }
    return null;
  }

  /**
   * Names of mount points directly below `path` (so a listing of `/` can show `/scratch`
   * even when the layer at `/` has no such directory), sorted.
   */
  childMounts(path: string): string[] {
    const vpath = normalizeVirtualPath(path);
    const depth = virtualPathParts(vpath).length;
    const names = new Set<string>();
    for (const { prefix } of this.#mounts) {
      if (prefix === vpath || !isWithinVirtual(vpath, prefix)) continue;
      const name = virtualPathParts(prefix)[depth];
      if (name !== undefined) names.add(name);
    }
    return [...names].sort();
  }

  /** Every mount, longest prefix first. */
  list(): readonly Mount<L>[] {
    return [...this.#mounts];
  }
}
