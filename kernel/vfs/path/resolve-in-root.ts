import { lstat, readlink, realpath } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { ErrorCode, KernelError } from '../../errors/index.ts';
import { errnoOf, toPathError } from './errno.ts';
import { normalizeVirtualPath, virtualPathFromParts, virtualPathParts, type VirtualPath } from './virtual-path.ts';
import { walkInRoot, type SymlinkPolicy, type WalkBackend } from './walk.ts';

/** The kind of file a resolved path names. */
export type EntryType = 'file' | 'directory' | 'symlink' | 'other';

/** Where a virtual path lands on the host. */
export interface ResolvedPath {
  /** Absolute host path inside the canonical root (symlinks on the way already followed). */
  readonly hostPath: string;
  /** The virtual path after following symlinks. */
  readonly virtualPath: VirtualPath;
  /** Whether the final component existed when it was checked. */
  readonly exists: boolean;
  /** Its type when it existed, else null. */
  readonly type: EntryType | null;
}

/** Options of {@link resolveInRoot}. */
export interface ResolveOptions {
  /** Follow a symlink in the final component (default true); false resolves the link itself. */
  readonly followFinal?: boolean;
  /** Follow symlinks that stay inside the root (default), or refuse every symlink met. */
  readonly symlinks?: SymlinkPolicy;
  /** `root` is already canonical (see `OpenInRootOptions.rootIsCanonical`), so it is not resolved again. */
  readonly rootIsCanonical?: boolean;
}

/**
 * Resolves a virtual path to a host path inside `root`, checking every component with
 * `lstat`. A symlink whose target leaves the root is `PATH_ESCAPE`, as is any symlink under
 * `symlinks: 'refuse'`; a missing component ends the walk and the rest is appended as is (no
 * `..` can be in it), with `exists: false`.
 *
 * The answer is advisory: a component can be swapped for a symlink right after the check
 * (time-of-check to time-of-use). Never open the returned `hostPath` directly to read or write
 * on behalf of a capsule; use {@link openInRoot}, which re-resolves through held directory
 * descriptors. Throws `PATH_INVALID`/`PATH_ESCAPE` for a bad path, `PATH_NOT_DIRECTORY` when a
 * middle component is a file, `PATH_NOT_FOUND` for a dangling `..`, `NOT_FOUND` when `root`
 * itself does not exist.
 */
export async function resolveInRoot(root: string, virtualPath: string, options: ResolveOptions = {}): Promise<ResolvedPath> {
  const vpath = normalizeVirtualPath(virtualPath);
  const rootReal = options.rootIsCanonical === true ? root : await canonicalRoot(root);
  const at = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);
  const backend: WalkBackend<string, ResolvedPath> = {
    async step(dir, name) {
      const host = at(dir, name);
      const stats = await lstatOrNull(host, vpath);
      if (stats === null) return { kind: 'missing' };
      if (stats.isDirectory()) return { kind: 'directory', ref: host };
      if (stats.isSymbolicLink()) return { kind: 'symlink', target: await readlinkOf(host, vpath) };
      return { kind: 'not-directory' };
    },
    async final(dir, name, virtualPath, followLink) {
      const host = at(dir, name);
      const stats = await lstatOrNull(host, vpath);
      if (stats === null) return { value: { hostPath: host, virtualPath, exists: false, type: null } };
      if (stats.isSymbolicLink() && followLink) return { link: await readlinkOf(host, vpath) };
      return { value: { hostPath: host, virtualPath, exists: true, type: typeOf(stats) } };
    },
    async atRoot() {
      return { hostPath: rootReal, virtualPath: virtualPathFromParts([]), exists: true, type: 'directory' };
    },
    async missing(dir, virtualDir, rest) {
      const hostPath = [dir === '/' ? '' : dir, ...rest].join('/');
      const virtualPath = virtualPathFromParts([...virtualPathParts(virtualDir), ...rest]);
      return { hostPath, virtualPath, exists: false, type: null };
    },
    async release() {},
  };
  return walkInRoot(rootReal, rootReal, vpath, backend, {
    followFinal: options.followFinal ?? true,
    symlinks: options.symlinks ?? 'follow-inside',
  });
}

/** The canonical (symlink-free) absolute form of a root directory. Throws `NOT_FOUND`/`PATH_NOT_DIRECTORY`. */
export async function canonicalRoot(root: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(root);
  } catch (error) {
    throw new KernelError(ErrorCode.NotFound, `Cannot use "${root}" as a root as it does not exist`, { cause: error });
  }
  const stats = await lstat(real);
  if (!stats.isDirectory()) {
    throw new KernelError(ErrorCode.PathNotDirectory, `Cannot use "${root}" as a root as it is not a directory`);
  }
  return real;
}

/** Maps `Stats` to an {@link EntryType}. */
export function typeOf(stats: Stats): EntryType {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symlink';
  return 'other';
}

async function lstatOrNull(host: string, vpath: VirtualPath): Promise<Stats | null> {
  try {
    return await lstat(host);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return null;
    throw toPathError(error, vpath, 'resolve');
  }
}

async function readlinkOf(host: string, vpath: VirtualPath): Promise<string> {
  try {
    return await readlink(host);
  } catch (error) {
    // Swapped between lstat and readlink: fail closed.
    throw new KernelError(ErrorCode.PathEscape, `Cannot resolve "${vpath}" as it changed during resolution`, {
      cause: error,
      details: { reason: 'race' },
    });
  }
}
