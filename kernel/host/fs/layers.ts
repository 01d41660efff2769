import { readdir, stat } from 'node:fs/promises';
import { ErrorCode, KernelError, isKernelError } from '../../errors/index.ts';
import { handleFile, type OpenedFile, type OverlayEntry, type VfsStat } from '../../vfs/overlay/index.ts';
import { openInRoot, resolveInRoot, type Layer, type VirtualPath } from '../../vfs/path/index.ts';
import type { FsEntry, FsStat } from '../services.ts';

/**
 * What a mount serves. Paths are inside the layer (rooted at `/`), already normalised and
 * authorised. A read-only layer has no change methods.
 */
export interface FileLayer extends Layer {
  stat(path: VirtualPath): Promise<FsStat | null>;
  list(path: VirtualPath): Promise<FsEntry[]>;
  open(path: VirtualPath): Promise<OpenedFile>;
  readonly change?: {
    write(path: VirtualPath, bytes: Uint8Array): Promise<void>;
    mkdir(path: VirtualPath): Promise<void>;
    remove(path: VirtualPath): Promise<void>;
    rename(from: VirtualPath, to: VirtualPath): Promise<void>;
  };
}

/** The session operations a session layer needs: `VfsService` has them. */
export interface SessionFiles {
  /** Throws `SESSION_NOT_FOUND` unless the session is open. */
  info(session: string): unknown;
  stat(session: string, path: string): Promise<VfsStat | null>;
  list(session: string, path: string): Promise<OverlayEntry[]>;
  openFile(session: string, path: string): Promise<OpenedFile>;
  write(session: string, path: string, bytes: Uint8Array, options: { source: string }): Promise<unknown>;
  mkdir(session: string, path: string, options: { source: string }): Promise<unknown>;
  remove(session: string, path: string, options: { source: string }): Promise<unknown>;
  rename(session: string, from: string, to: string, options: { source: string }): Promise<unknown>;
}

/** A VFS session's overlay as a layer; its changes are recorded with `source`. */
export function sessionLayer(files: SessionFiles, session: string, source: string): FileLayer {
  const options = { source };
  return {
    id: `session:${session}`,
    async stat(path) {
      const found = await files.stat(session, path);
      return found === null ? null : { path: found.path, kind: found.kind, size: found.size };
    },
    async list(path) {
      return (await files.list(session, path)).map(({ name, path: p, kind, size }) => ({ name, path: p, kind, size }));
    },
    open: (path) => files.openFile(session, path),
    change: {
      write: async (path, bytes) => void (await files.write(session, path, bytes, options)),
      mkdir: async (path) => void (await files.mkdir(session, path, options)),
      remove: async (path) => void (await files.remove(session, path, options)),
      rename: async (from, to) => void (await files.rename(session, from, to, options)),
    },
  };
}

/**
 * A host directory as a read-only layer (a capsule's installed files). Every lookup goes
 * through the safe resolver: a symlink leaving the directory is `PATH_ESCAPE` when named and
 * left out of listings; entries other than files and directories are left out too.
 */
export function hostDirLayer(id: string, dir: string): FileLayer {
  const node = async (path: VirtualPath): Promise<FsStat | null> => {
    let resolved;
    try {
      resolved = await resolveInRoot(dir, path);
    } catch (error) {
      if (isKernelError(error) && (error.code === ErrorCode.PathNotFound || error.code === ErrorCode.PathNotDirectory)) return null;
      throw error;
    }
    if (!resolved.exists) return null;
    if (resolved.type === 'directory') return { path, kind: 'dir', size: null };
    if (resolved.type !== 'file') return null;
    const stats = await stat(resolved.hostPath).catch(() => null);
    return stats?.isFile() === true ? { path, kind: 'file', size: stats.size } : null;
  };
  return {
    id,
    stat: node,
    async list(path) {
      const here = await node(path);
      if (here === null) throw new KernelError(ErrorCode.PathNotFound, `Cannot list "${path}" as it does not exist`);
      if (here.kind !== 'dir') throw new KernelError(ErrorCode.PathNotDirectory, `Cannot list "${path}" as it is not a directory`);
      const resolved = await resolveInRoot(dir, path);
      const out: FsEntry[] = [];
      for (const name of (await readdir(resolved.hostPath)).sort()) {
        const child = (path === '/' ? `/${name}` : `${path}/${name}`) as VirtualPath;
        const found = await node(child).catch(() => null);
        if (found !== null) out.push({ name, ...found });
      }
      return out;
    },
    async open(path) {
      const handle = await openInRoot(dir, path, 'r');
      try {
        return handleFile(handle, (await handle.stat()).size);
      } catch (error) {
        await handle.close();
        throw error;
      }
    },
  };
}
