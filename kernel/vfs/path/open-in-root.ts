import { constants, existsSync, type Stats } from 'node:fs';
import { open, readlink, lstat, type FileHandle } from 'node:fs/promises';
import { ErrorCode, KernelError } from '../../errors/index.ts';
import { errnoOf, toPathError } from './errno.ts';
import { openExact, readExact, type ExactFile } from './open-exact.ts';
import { canonicalRoot, resolveInRoot } from './resolve-in-root.ts';
import { normalizeVirtualPath, type VirtualPath } from './virtual-path.ts';
import { walkInRoot, type SymlinkPolicy, type WalkBackend } from './walk.ts';

/** How a file is opened, as Node's flag strings (`w`/`a` create, `x` refuses an existing file). */
export type OpenFlags = 'r' | 'r+' | 'w' | 'w+' | 'wx' | 'a' | 'ax';

/** Options of {@link openInRoot}. */
export interface OpenInRootOptions {
  /** Follow a symlink in the final component (default true); when false a final link is refused. */
  readonly followFinal?: boolean;
  /** Follow symlinks that stay inside the root (default), or refuse every symlink met. */
  readonly symlinks?: SymlinkPolicy;
  /** Permission bits of a created file, before umask (default 0o644). */
  readonly mode?: number;
  /** Allow opening for writing a file with more than one hard link (default false). */
  readonly allowHardlinks?: boolean;
  /**
   * `procfs` (Linux, race-free) walks through held directory descriptors; `check-then-open`
   * (portable) resolves then opens, leaving a window for a swapped middle directory.
   * Default: `procfs` when `/proc/self/fd` exists.
   */
  readonly strategy?: 'procfs' | 'check-then-open';
  /**
   * `root` is already canonical (as {@link canonicalRoot} returned it, e.g. a VFS session's
   * recorded lower), so it is not resolved again. A root that is not canonical, or a path to it
   * that has changed since, fails closed: the descriptor check no longer matches.
   */
  readonly rootIsCanonical?: boolean;
}

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK } = constants;

// O_TRUNC is never passed to open: the file is truncated only after it passed every check.
const FLAG_BITS: Readonly<Record<OpenFlags, { bits: number; truncate: boolean; write: boolean }>> = {
  r: { bits: O_RDONLY, truncate: false, write: false },
  'r+': { bits: O_RDWR, truncate: false, write: true },
  w: { bits: O_WRONLY | O_CREAT, truncate: true, write: true },
  'w+': { bits: O_RDWR | O_CREAT, truncate: true, write: true },
  wx: { bits: O_WRONLY | O_CREAT | O_EXCL, truncate: false, write: true },
  a: { bits: O_WRONLY | O_CREAT | O_APPEND, truncate: false, write: true },
  ax: { bits: O_WRONLY | O_CREAT | O_APPEND | O_EXCL, truncate: false, write: true },
};

let procfs: boolean | undefined;

/**
 * Opens a regular file at a virtual path, guaranteed to lie inside `root`.
 *
 * The TOCTOU problem: checking a path and then opening it by name lets a component be
 * swapped for a symlink in between. On Linux this walks the path one component at a time
 * through open directory descriptors (`/proc/self/fd/<dir>/<name>` acts as `openat`), each
 * opened with `O_NOFOLLOW`, so a link created after any check is met as a link at the moment
 * of the open, and it is either followed by the same rules or refused. The opened descriptor's
 * real path is then read back from `/proc/self/fd/N` and must equal the expected host path.
 * Writes are never opened with `O_TRUNC`: truncation happens only after those checks, and a
 * file with several hard links is refused for writing unless allowed. FIFOs and devices are
 * refused (opened non-blocking, then checked).
 *
 * Returns a Node `FileHandle`; the caller owns it (`await using`). Throws the `PATH_*` codes of
 * {@link resolveInRoot}, plus `PATH_NOT_FOUND` (missing file or parent without create),
 * `PATH_EXISTS` (`wx`/`ax` on an existing entry, a symlink included), `PATH_IS_DIRECTORY`,
 * `PATH_ESCAPE` (a final symlink with `followFinal: false`, a hard link, a descriptor that
 * ended up elsewhere) and `READ_ONLY`.
 */
export async function openInRoot(
  root: string,
  virtualPath: string,
  flags: OpenFlags,
  options: OpenInRootOptions = {},
): Promise<FileHandle> {
  const vpath = normalizeVirtualPath(virtualPath);
  const spec = FLAG_BITS[flags];
  if (spec === undefined) throw new KernelError(ErrorCode.InvalidArgument, `Cannot open with flags "${String(flags)}"`);
  const rootReal = options.rootIsCanonical === true ? root : await canonicalRoot(root);
  procfs ??= existsSync('/proc/self/fd');
  const strategy = options.strategy ?? (procfs ? 'procfs' : 'check-then-open');
  const expected = (v: VirtualPath): string => (rootReal === '/' ? v : `${rootReal}${v}`);
  // Reads of a plain file (no symlink anywhere) skip the walk; anything else takes it.
  if (!spec.write && strategy === 'procfs' && (options.symlinks ?? 'follow-inside') === 'follow-inside') {
    const exact = await openExact(expected(vpath));
    if (exact !== null) return exact.handle;
  }
  const finish = async (handle: FileHandle, at: VirtualPath, proc: boolean): Promise<FileHandle> => {
    try {
      const stats = await handle.stat();
      if (stats.isDirectory()) throw new KernelError(ErrorCode.PathIsDirectory, `Cannot open "${at}" as it is a directory`);
      if (!stats.isFile()) throw new KernelError(ErrorCode.PathInvalid, `Cannot open "${at}" as it is not a regular file`);
      if (spec.write && stats.nlink > 1 && options.allowHardlinks !== true) {
        throw escape(`Cannot open "${at}" for writing as it has ${stats.nlink} hard links`, 'hardlink');
      }
      if (proc) {
        const actual = await readlink(`/proc/self/fd/${handle.fd}`);
        if (actual !== expected(at)) throw escape(`Cannot open "${at}" as it moved during resolution`, 'race');
      }
      if (spec.truncate) await handle.truncate(0);
      return handle;
    } catch (error) {
      await handle.close();
      throw toPathError(error, at, 'open');
    }
  };

  if (strategy === 'check-then-open') {
    const resolved = await resolveInRoot(rootReal, vpath, pickResolve(options));
    let handle: FileHandle;
    try {
      handle = await open(resolved.hostPath, spec.bits | O_NOFOLLOW | O_NONBLOCK, options.mode ?? 0o644);
    } catch (error) {
      throw finalError(error, resolved.virtualPath);
    }
    // Narrow the window: the opened inode must still be the one at the checked path.
    const [now, held] = await Promise.all([lstat(resolved.hostPath).catch(() => null), handle.stat()]);
    if (now === null || now.ino !== held.ino || now.dev !== held.dev) {
      await handle.close();
      throw escape(`Cannot open "${resolved.virtualPath}" as it changed during resolution`, 'race');
    }
    return finish(handle, resolved.virtualPath, false);
  }

  const fdPath = (dir: FileHandle, name: string): string => `/proc/self/fd/${dir.fd}/${name}`;
  const backend: WalkBackend<FileHandle, FileHandle> = {
    async step(dir, name) {
      try {
        return { kind: 'directory', ref: await open(fdPath(dir, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW) };
      } catch (error) {
        switch (errnoOf(error)) {
          case 'ENOENT':
            return { kind: 'missing' };
          case 'ENOTDIR':
          case 'ELOOP': {
            // Linux reports a symlink opened with O_DIRECTORY|O_NOFOLLOW as ENOTDIR: ask it.
            const target = await readlink(fdPath(dir, name)).catch((e: unknown) => {
              if (errnoOf(e) === 'EINVAL') return null;
              throw escape(`Cannot resolve "${vpath}" as it changed during resolution`, 'race');
            });
            if (target !== null) return { kind: 'symlink', target };
            // Neither a directory nor a link; a directory now means it was swapped meanwhile.
            const now = await lstat(fdPath(dir, name)).catch(() => null);
            if (now?.isDirectory() === true) throw escape(`Cannot resolve "${vpath}" as it changed during resolution`, 'race');
            return { kind: 'not-directory' };
          }
          default:
            throw toPathError(error, vpath, 'resolve');
        }
      }
    },
    async final(dir, name, at, followLink) {
      let handle: FileHandle;
      try {
        handle = await open(fdPath(dir, name), spec.bits | O_NOFOLLOW | O_NONBLOCK, options.mode ?? 0o644);
      } catch (error) {
        if (errnoOf(error) !== 'ELOOP') throw finalError(error, at);
        if (!followLink) throw escape(`Cannot open "${at}" as it is a symbolic link`, 'symlink');
        return { link: await linkTarget(fdPath(dir, name), vpath) };
      }
      return { value: await finish(handle, at, true) };
    },
    async atRoot() {
      throw new KernelError(ErrorCode.PathIsDirectory, 'Cannot open "/" as it is a directory');
    },
    async missing(_dir, virtualDir, rest) {
      const gone = virtualDir === '/' ? `/${rest[0] ?? ''}` : `${virtualDir}/${rest[0] ?? ''}`;
      throw new KernelError(ErrorCode.PathNotFound, `Cannot open "${vpath}" as "${gone}" does not exist`);
    },
    async release(ref) {
      await ref.close();
    },
  };
  let rootHandle: FileHandle;
  try {
    rootHandle = await open(rootReal, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (error) {
    throw toPathError(error, '/', 'open the root of');
  }
  return walkInRoot(rootReal, rootHandle, vpath, backend, {
    followFinal: options.followFinal ?? true,
    symlinks: options.symlinks ?? 'follow-inside',
  });
}

/**
 * Opens for reading the regular file at exactly `virtualPath` under the canonical `rootReal`:
 * no symbolic link on the way or at the end, the real path of the descriptor checked. Returns
 * null for anything else (missing, a link met, not a regular file, no `/proc/self/fd`, any
 * error); the caller then takes {@link openInRoot} or its own careful path for the precise
 * answer. As no link was followed, the file is the one `virtualPath` names, so a check made on
 * that name (the ignore boundary) holds for the file. Throws only for a bad virtual path.
 */
export async function openExactInRoot(rootReal: string, virtualPath: string): Promise<ExactFile | null> {
  const host = exactHostPath(rootReal, virtualPath);
  return host === null ? null : openExact(host);
}

/** The whole content of the file {@link openExactInRoot} would open, or null in the same cases. */
export async function readExactInRoot(rootReal: string, virtualPath: string): Promise<{ bytes: Buffer; stats: Stats } | null> {
  const host = exactHostPath(rootReal, virtualPath);
  return host === null ? null : readExact(host);
}

/** The host path of `virtualPath` under the canonical root, or null when the exact way cannot be taken. */
function exactHostPath(rootReal: string, virtualPath: string): string | null {
  const vpath = normalizeVirtualPath(virtualPath);
  procfs ??= existsSync('/proc/self/fd');
  if (!procfs || vpath === '/') return null;
  return rootReal === '/' ? vpath : `${rootReal}${vpath}`;
}

function pickResolve(options: OpenInRootOptions): { followFinal?: boolean; symlinks?: SymlinkPolicy; rootIsCanonical: true } {
  return {
    rootIsCanonical: true,
    ...(options.followFinal === undefined ? {} : { followFinal: options.followFinal }),
    ...(options.symlinks === undefined ? {} : { symlinks: options.symlinks }),
  };
}

function finalError(error: unknown, at: VirtualPath): KernelError {
  if (errnoOf(error) === 'ELOOP') return escape(`Cannot open "${at}" as it is a symbolic link`, 'symlink');
  return toPathError(error, at, 'open');
}

function escape(message: string, reason: string): KernelError {
  return new KernelError(ErrorCode.PathEscape, message, { details: { reason } });
}

async function linkTarget(path: string, vpath: VirtualPath): Promise<string> {
  try {
    return await readlink(path);
  } catch (error) {
    throw escape(`Cannot resolve "${vpath}" as it changed during resolution`, 'race');
  }
}
