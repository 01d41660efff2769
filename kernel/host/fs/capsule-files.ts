import type { EffectiveCapability, Right } from '../../caps/index.ts';
import { ErrorCode, KernelError } from '../../errors/index.ts';
import type { OpenedFile } from '../../vfs/overlay/index.ts';
import { MountTable, type VirtualPath } from '../../vfs/path/index.ts';
import type { FsCaller, FsEntry, FsStat, HostFile, MaybePromise } from '../services.ts';
import { pathWithin, requireRight } from './gate.ts';
import { hostDirLayer, sessionLayer, type FileLayer, type SessionFiles } from './layers.ts';

/**
 * Where a capsule's own installed files are mounted, read-only. Not `/assets`: a workspace
 * often has an `assets/` directory, which the mount would shadow. Reachable by path (with a
 * handle whose root covers it), never listed in `/`.
 */
export const CAPSULE_FILES_MOUNT = '/.capsule';

/** Default and hard cap of one `astrid_fs_read` chunk. */
export const DEFAULT_READ_CHUNK_BYTES = 64 * 1024;

/** Default cap on the bytes one write fd may accumulate before `close`. */
export const DEFAULT_WRITE_FILE_BYTES = 16 * 1024 * 1024;

/** What {@link CapsuleFiles} needs from the kernel. */
export interface CapsuleFilesOptions {
  /** Verifies a handle for a capsule now: throws `HANDLE_INVALID` (tampered, expired, revoked, another capsule's). */
  verify(handle: string, capsuleId: string): MaybePromise<EffectiveCapability>;
  /** The VFS sessions (`VfsService`). */
  readonly sessions: SessionFiles;
  /** The host directory of a capsule's installed files, or null (then nothing is mounted at `/.capsule`). */
  installedDir?(capsuleId: string): string | null;
  /** Most bytes one read returns (default 64 KiB). */
  readonly readChunkBytes?: number;
  /** Most bytes one write fd accumulates (default 16 MiB). */
  readonly writeFileBytes?: number;
}

interface Target {
  readonly cap: EffectiveCapability;
  /** The virtual path as the capsule sees it. */
  readonly path: VirtualPath;
  readonly layer: FileLayer;
  /** The prefix of the mount serving the path. */
  readonly mount: VirtualPath;
  /** The path inside the layer. */
  readonly rest: VirtualPath;
  readonly readOnly: boolean;
  /** Whether the manifest's fs grants apply (the session overlay; not the capsule's own files). */
  readonly manifest: boolean;
}

/**
 * A capsule's files through capability handles: the kernel side of the `astrid_fs_*`
 * airlocks, shared by the kernel's host services and their in-memory twin. Every operation
 * verifies the handle, confines the path to the handle's root, checks the right on the handle
 * and the manifest, then resolves the mount: the handle's VFS session overlay at `/` (the
 * ignore boundary applies there) and the capsule's installed files read-only at
 * {@link CAPSULE_FILES_MOUNT}. Holds no resources; the files it opens are the caller's.
 */
export class CapsuleFiles {
  readonly #options: CapsuleFilesOptions;
  readonly #chunk: number;
  readonly #writeCap: number;

  constructor(options: CapsuleFilesOptions) {
    this.#options = options;
    this.#chunk = options.readChunkBytes ?? DEFAULT_READ_CHUNK_BYTES;
    this.#writeCap = options.writeFileBytes ?? DEFAULT_WRITE_FILE_BYTES;
  }

  /** Opens a file to read (`r`: right `read`) or to replace (`w`: `write`, or `create` when it does not exist). */
  async open(caller: FsCaller, handle: string, path: string, mode: 'r' | 'w'): Promise<HostFile> {
    const target = await this.#target(caller, handle, path);
    if (mode === 'r') {
      requireRight(target.cap, caller, target.path, ['read'], target.manifest);
      return readFile(await target.layer.open(target.rest), this.#chunk);
    }
    if (mode !== 'w') throw new KernelError(ErrorCode.InvalidArgument, `Cannot open "${target.path}" with mode "${String(mode)}": expected "r" or "w"`);
    await this.#checkWrite(caller, target);
    return writeFile(this.#writeCap, target.path, async (bytes) => {
      // The bytes land now: check everything again, the handle may have been revoked meanwhile.
      const again = await this.#target(caller, handle, path);
      const change = await this.#checkWrite(caller, again);
      await change.write(again.rest, bytes);
    });
  }

  /** A path's kind and size, or null when absent. Needs `read` or `list`. */
  async stat(caller: FsCaller, handle: string, path: string): Promise<FsStat | null> {
    const target = await this.#target(caller, handle, path);
    requireRight(target.cap, caller, target.path, ['read', 'list'], target.manifest);
    const found = await target.layer.stat(target.rest);
    return found === null ? null : { ...found, path: target.path };
  }

  /** The visible entries of a directory, sorted by name. Needs `list`. */
  async readdir(caller: FsCaller, handle: string, path: string): Promise<FsEntry[]> {
    const target = await this.#target(caller, handle, path);
    requireRight(target.cap, caller, target.path, ['list'], target.manifest);
    const join = (name: string): string => (target.path === '/' ? `/${name}` : `${target.path}/${name}`);
    return (await target.layer.list(target.rest)).map((e) => ({ ...e, path: join(e.name) }));
  }

  /** Creates a directory. Needs `create`. */
  async mkdir(caller: FsCaller, handle: string, path: string): Promise<void> {
    const target = await this.#target(caller, handle, path);
    await this.#changer(caller, target, 'create').mkdir(target.rest);
  }

  /** Deletes a file or a directory tree. Needs `delete`. */
  async remove(caller: FsCaller, handle: string, path: string): Promise<void> {
    const target = await this.#target(caller, handle, path);
    await this.#changer(caller, target, 'delete').remove(target.rest);
  }

  /** Moves a path within one mount. Needs `delete` on `from` and `create` on `to`. */
  async rename(caller: FsCaller, handle: string, from: string, to: string): Promise<void> {
    const source = await this.#target(caller, handle, from);
    const dest = await this.#target(caller, handle, to);
    const change = this.#changer(caller, source, 'delete');
    this.#changer(caller, dest, 'create');
    if (source.mount !== dest.mount) {
      throw new KernelError(ErrorCode.InvalidArgument, `Cannot move "${source.path}" to "${dest.path}" as they are on different mounts`);
    }
    await change.rename(source.rest, dest.rest);
  }

  async #target(caller: FsCaller, handle: string, input: string): Promise<Target> {
    const cap = await this.#options.verify(handle, caller.capsuleId);
    const path = pathWithin(cap, input);
    const mounts = new MountTable<FileLayer>();
    if (cap.session !== undefined) {
      this.#options.sessions.info(cap.session);
      mounts.mount({ prefix: '/', layer: sessionLayer(this.#options.sessions, cap.session, `capsule:${caller.capsuleId}`), readOnly: false });
    }
    const installed = this.#options.installedDir?.(caller.capsuleId) ?? null;
    if (installed !== null) mounts.mount({ prefix: CAPSULE_FILES_MOUNT, layer: hostDirLayer(`capsule:${caller.capsuleId}`, installed), readOnly: true });
    const hit = mounts.resolve(path);
    if (hit === null) {
      throw new KernelError(ErrorCode.CapabilityDenied, `Cannot use "${path}" as the handle is bound to no VFS session`, { details: { capsuleId: caller.capsuleId } });
    }
    return { cap, path, layer: hit.mount.layer, mount: hit.mount.prefix, rest: hit.rest, readOnly: hit.mount.readOnly, manifest: hit.mount.prefix === '/' };
  }

  #changer(caller: FsCaller, target: Target, right: Right): NonNullable<FileLayer['change']> {
    requireRight(target.cap, caller, target.path, [right], target.manifest);
    if (target.readOnly || target.layer.change === undefined) {
      throw new KernelError(ErrorCode.ReadOnly, `Cannot change "${target.path}" as its mount is read-only`);
    }
    return target.layer.change;
  }

  async #checkWrite(caller: FsCaller, target: Target): Promise<NonNullable<FileLayer['change']>> {
    if (target.readOnly || target.layer.change === undefined) {
      throw new KernelError(ErrorCode.ReadOnly, `Cannot write "${target.path}" as its mount is read-only`);
    }
    // Existence decides the right; a hidden path throws PATH_IGNORED here, before any byte is taken.
    const existing = await target.layer.stat(target.rest);
    if (existing?.kind === 'dir') throw new KernelError(ErrorCode.PathIsDirectory, `Cannot write "${target.path}" as it is a directory`);
    return this.#changer(caller, target, existing === null ? 'create' : 'write');
  }
}

function readFile(file: OpenedFile, chunk: number): HostFile {
  let position = 0;
  return {
    mode: 'r',
    size: file.size,
    async read(max) {
      const bytes = await file.read(position, Math.max(1, Math.min(max, chunk)));
      position += bytes.byteLength;
      return { bytes, eof: bytes.byteLength === 0 || position >= file.size };
    },
    write() {
      throw new KernelError(ErrorCode.InvalidArgument, 'Cannot write to a file opened for reading');
    },
    async close() {
      await file.close();
      return file.size;
    },
    abandon: () => file.close(),
  };
}

function writeFile(cap: number, path: VirtualPath, land: (bytes: Uint8Array) => Promise<void>): HostFile {
  const chunks: Uint8Array[] = [];
  let size = 0;
  return {
    mode: 'w',
    get size() {
      return size;
    },
    async read() {
      throw new KernelError(ErrorCode.InvalidArgument, 'Cannot read from a file opened for writing');
    },
    write(bytes) {
      if (size + bytes.byteLength > cap) {
        throw new KernelError(ErrorCode.PayloadTooLarge, `Cannot write more than ${cap} bytes to "${path}" through one open`);
      }
      chunks.push(bytes.slice());
      size += bytes.byteLength;
    },
    async close() {
      const bytes = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        bytes.set(c, at);
        at += c.byteLength;
      }
      chunks.length = 0;
      await land(bytes);
      return size;
    },
    async abandon() {
      chunks.length = 0;
    },
  };
}
