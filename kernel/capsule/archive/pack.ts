import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Header, Pax } from 'tar';
import { ErrorCode, KernelError, isKernelError } from '../../errors/index.ts';
import { MANIFEST_FILE_NAME, loadManifest, manifestFileReferences, type CapsuleManifest } from '../manifest/index.ts';
import { entryPathProblem, resolveLimits, tooLarge, type ArchiveLimits, type ArchiveLimitsInput } from './limits.ts';

const BLOCK = 512;
const EPOCH = new Date(0);
const READ_CHUNK = 64 * 1024;

/** Options of {@link packCapsule}. */
export interface PackOptions extends ArchiveLimitsInput {
  /** Keeps a path (relative, `/`-separated) when it returns true; a skipped directory skips its contents. */
  readonly filter?: (path: string) => boolean;
  readonly signal?: AbortSignal;
}

/** What {@link packCapsule} wrote. */
export interface PackResult {
  readonly manifest: CapsuleManifest;
  /** Lower-case hex sha256 of the archive bytes. */
  readonly sha256: string;
  /** Size of the archive in bytes. */
  readonly bytes: number;
  /** Number of file and directory entries. */
  readonly entries: number;
}

interface Planned {
  readonly path: string;
  readonly header: Buffer;
  /** Absolute path to read the body from; null for a directory. */
  readonly from: string | null;
  readonly size: number;
}

function refuse(dir: string, path: string, why: string): KernelError {
  return new KernelError(ErrorCode.ArchiveUnsafeEntry, `Cannot pack "${path}" of "${dir}" as ${why}`, { details: { source: dir, entry: path } });
}

// File-system errors while packing become INTERNAL; coded errors and abort reasons pass through.
function asKernelError(dir: string, error: unknown): unknown {
  if (isKernelError(error) || !(error instanceof Error) || !('syscall' in error)) return error;
  const { code, path } = error as NodeJS.ErrnoException;
  return new KernelError(ErrorCode.Internal, `Cannot pack "${dir}" as reading "${path ?? dir}" failed (${code ?? 'unknown error'})`, {
    cause: error,
    details: { path: dir },
  });
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

// Fixed metadata, so the same tree always gives the same bytes: mtime 0, uid/gid 0, no names,
// 0644 or 0755, no atime/ctime; a pax header only for a path ustar cannot hold.
function encodeHeader(path: string, kind: 'file' | 'directory', size: number, executable: boolean): Buffer {
  const name = kind === 'directory' ? `${path}/` : path;
  const header = new Header({
    path: name,
    mode: kind === 'directory' || executable ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    size: kind === 'file' ? size : 0,
    mtime: EPOCH,
    type: kind === 'directory' ? 'Directory' : 'File',
    uname: '',
    gname: '',
  });
  const block = Buffer.alloc(BLOCK);
  header.encode(block, 0);
  return header.needPax ? Buffer.concat([new Pax({ path: name }).encode(), block]) : block;
}

function inside(root: string, target: string): boolean {
  return target === root || target.startsWith(root + sep);
}

async function plan(root: string, exclude: string, options: PackOptions, limits: ArchiveLimits): Promise<Planned[]> {
  const out: Planned[] = [];
  let streamBytes = 2 * BLOCK;
  const add = (entry: Planned): void => {
    out.push(entry);
    streamBytes += entry.header.length + padded(entry.size);
    if (out.length > limits.maxEntries) throw tooLarge(root, `it has more than ${limits.maxEntries} entries`, 'maxEntries', limits.maxEntries);
    if (streamBytes > limits.maxTotalBytes) {
      throw tooLarge(root, `it would pack to more than ${limits.maxTotalBytes} bytes`, 'maxTotalBytes', limits.maxTotalBytes);
    }
  };
  const walk = async (absDir: string, relDir: string): Promise<void> => {
    options.signal?.throwIfAborted();
    const children = (await readdir(absDir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const child of children) {
      const abs = join(absDir, child.name);
      const rel = relDir === '' ? child.name : `${relDir}/${child.name}`;
      if (abs === exclude || rel === MANIFEST_FILE_NAME || options.filter?.(rel) === false) continue;
      const problem = entryPathProblem(rel, limits.maxPathBytes);
      if (problem !== null) throw refuse(root, rel, `its path is unsafe: ${problem}`);
      let from = abs;
      if (child.isSymbolicLink()) {
        from = await realpath(abs).catch(() => {
          throw refuse(root, rel, 'it is a dangling symbolic link');
        });
        if (!inside(root, from)) throw refuse(root, rel, 'it is a symbolic link that leaves the capsule directory');
      }
      const info = await stat(from);
      if (info.isDirectory() && child.isSymbolicLink()) throw refuse(root, rel, 'it is a symbolic link to a directory');
      if (info.isDirectory()) {
        add({ path: rel, header: encodeHeader(rel, 'directory', 0, true), from: null, size: 0 });
        await walk(abs, rel);
      } else if (info.isFile()) {
        if (info.size > limits.maxFileBytes) {
          throw tooLarge(root, `"${rel}" is larger than ${limits.maxFileBytes} bytes`, 'maxFileBytes', limits.maxFileBytes);
        }
        add({ path: rel, header: encodeHeader(rel, 'file', info.size, (info.mode & 0o111) !== 0), from, size: info.size });
      } else {
        throw refuse(root, rel, 'it is a special file (socket, FIFO or device)');
      }
    }
  };
  const manifestPath = await realpath(join(root, MANIFEST_FILE_NAME));
  if (!inside(root, manifestPath)) throw refuse(root, MANIFEST_FILE_NAME, 'it is a symbolic link that leaves the capsule directory');
  const manifestInfo = await stat(manifestPath);
  add({ path: MANIFEST_FILE_NAME, header: encodeHeader(MANIFEST_FILE_NAME, 'file', manifestInfo.size, false), from: manifestPath, size: manifestInfo.size });
  await walk(root, '');
  return out;
}

async function* tarStream(root: string, entries: readonly Planned[], signal?: AbortSignal): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    signal?.throwIfAborted();
    yield entry.header;
    if (entry.from === null) continue;
    const handle = await open(entry.from, 'r');
    try {
      let left = entry.size;
      while (left > 0) {
        const { buffer, bytesRead } = await handle.read(Buffer.alloc(Math.min(READ_CHUNK, left)), 0, Math.min(READ_CHUNK, left), null);
        if (bytesRead === 0) break;
        left -= bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
      const extra = await handle.read(Buffer.alloc(1), 0, 1, null);
      if (left !== 0 || extra.bytesRead !== 0) {
        throw new KernelError(ErrorCode.CapsuleInvalid, `Cannot pack "${entry.path}" of "${root}" as it changed while being packed`, {
          details: { source: root, entry: entry.path },
        });
      }
    } finally {
      await handle.close();
    }
    const padding = padded(entry.size) - entry.size;
    if (padding > 0) yield Buffer.alloc(padding);
  }
  yield Buffer.alloc(2 * BLOCK);
}

async function prepare(dir: string, exclude: string, options: PackOptions): Promise<{ root: string; manifest: CapsuleManifest; entries: Planned[] }> {
  options.signal?.throwIfAborted();
  const limits = resolveLimits({ ...options });
  const root = await realpath(dir).catch((error: unknown) => {
    throw new KernelError(ErrorCode.NotFound, `Cannot pack "${dir}" as it does not exist`, { cause: error, details: { path: dir } });
  });
  const manifest = await loadManifest(root);
  if (manifest === null) {
    throw new KernelError(ErrorCode.CapsuleInvalid, `Cannot pack "${root}" as it has no ${MANIFEST_FILE_NAME}`, { details: { path: root } });
  }
  const entries = await plan(root, exclude, options, limits);
  const files = new Set(entries.filter((entry) => entry.from !== null).map((entry) => entry.path));
  for (const reference of manifestFileReferences(manifest)) {
    if (!files.has(reference.path)) {
      throw new KernelError(
        ErrorCode.CapsuleInvalid,
        `Cannot pack "${root}" as key "${reference.key}" names "${reference.path}", which is not a file in it`,
        { details: { path: root, key: reference.key, file: reference.path } },
      );
    }
  }
  return { root, manifest, entries };
}

function digest(): { hash: ReturnType<typeof createHash>; count: { bytes: number }; tap: (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> } {
  const hash = createHash('sha256');
  const count = { bytes: 0 };
  return {
    hash,
    count,
    async *tap(source) {
      for await (const chunk of source) {
        hash.update(chunk);
        count.bytes += chunk.length;
        yield chunk;
      }
    },
  };
}

/**
 * Packs the capsule directory `dir` into the `.capsule` file `outFile` (tar.gz), written to a
 * temp file beside it and renamed into place. Deterministic: the same tree gives the same
 * bytes (Capsule.toml first, then entries in sorted depth-first order; mtime 0, uid/gid 0, no
 * user or group names, mode 0644 or 0755 for directories and executables, no atime/ctime,
 * gzip header mtime 0). `outFile` itself is never packed. Symbolic links to files inside `dir`
 * are packed as the files they point to; links that leave `dir`, dangle or point to a directory,
 * and special files, are refused (ARCHIVE_UNSAFE_ENTRY), as are names an unpack would refuse.
 * Throws NOT_FOUND (no `dir`), CAPSULE_INVALID (no Capsule.toml, a file the manifest names is
 * missing, a file changed while packing), MANIFEST_INVALID, ARCHIVE_TOO_LARGE (the same
 * {@link ArchiveLimits} as unpacking). Honours `options.signal` (rethrows its reason).
 */
export async function packCapsule(dir: string, outFile: string, options: PackOptions = {}): Promise<PackResult> {
  try {
    return await packToFile(dir, outFile, options);
  } catch (error) {
    throw asKernelError(dir, error);
  }
}

async function packToFile(dir: string, outFile: string, options: PackOptions): Promise<PackResult> {
  const target = resolve(outFile);
  const targetDir = await realpath(dirname(target)).catch(() => dirname(target));
  const { root, manifest, entries } = await prepare(dir, join(targetDir, basename(target)), options);
  const temp = join(targetDir, `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const { hash, count, tap } = digest();
  try {
    await pipeline(Readable.from(tarStream(root, entries, options.signal)), createGzip({ level: 9 }), tap, createWriteStream(temp, { flags: 'wx', mode: 0o644 }));
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
  return { manifest, sha256: hash.digest('hex'), bytes: count.bytes, entries: entries.length };
}

/**
 * Same as {@link packCapsule}, returning the archive bytes instead of writing a file (for the
 * event log's blob table). Same determinism and error codes.
 */
export async function packCapsuleBuffer(dir: string, options: PackOptions = {}): Promise<PackResult & { readonly archive: Buffer }> {
  try {
    return await packToBuffer(dir, options);
  } catch (error) {
    throw asKernelError(dir, error);
  }
}

async function packToBuffer(dir: string, options: PackOptions): Promise<PackResult & { readonly archive: Buffer }> {
  const { root, manifest, entries } = await prepare(dir, '', options);
  const { hash, count, tap } = digest();
  const chunks: Buffer[] = [];
  await pipeline(Readable.from(tarStream(root, entries, options.signal)), createGzip({ level: 9 }), tap, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) chunks.push(chunk);
  });
  return { manifest, sha256: hash.digest('hex'), bytes: count.bytes, entries: entries.length, archive: Buffer.concat(chunks) };
}
