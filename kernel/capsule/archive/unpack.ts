import { constants, createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ErrorCode, KernelError, isKernelError } from '../../errors/index.ts';
import {
  MANIFEST_FILE_NAME,
  MAX_MANIFEST_BYTES,
  manifestFileReferences,
  parseManifest,
  type CapsuleManifest,
} from '../manifest/index.ts';
import { inflate } from './inflate.ts';
import { invalidArchive, resolveLimits, type ArchiveLimits, type ArchiveLimitsInput } from './limits.ts';
import { readTarEntries, type ArchiveEntry } from './tar-reader.ts';

/** Options of {@link unpackCapsule}: any archive limit, and a signal to stop early. */
export interface UnpackOptions extends ArchiveLimitsInput {
  readonly signal?: AbortSignal;
}

/** What {@link unpackCapsule} placed at `dir`. */
export interface UnpackResult {
  /** Absolute path of the unpacked capsule (the `destDir` given). */
  readonly dir: string;
  readonly manifest: CapsuleManifest;
  readonly files: number;
  readonly directories: number;
  /** Sum of the file sizes. */
  readonly bytes: number;
}

type Source = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

async function fileSource(file: string): Promise<Source> {
  let info;
  try {
    info = await stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const missing = code === 'ENOENT' || code === 'ENOTDIR';
    throw new KernelError(
      missing ? ErrorCode.NotFound : ErrorCode.Internal,
      missing ? `Cannot read archive "${file}" as it does not exist` : `Cannot read archive "${file}" as it cannot be opened (${code ?? 'unknown error'})`,
      { cause: error, details: { source: file } },
    );
  }
  if (!info.isFile()) throw invalidArchive(file, 'it is not a regular file');
  return createReadStream(file);
}

function bufferSource(archive: Uint8Array): Source {
  return [Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength)];
}

function entries(source: Source, name: string, limits: ArchiveLimits, signal?: AbortSignal): AsyncGenerator<ArchiveEntry> {
  return readTarEntries(inflate(source, name, limits, signal), name, limits);
}

/** Reads the body of the `Capsule.toml` entry (at most {@link MAX_MANIFEST_BYTES}). */
async function manifestEntryBytes(entry: ArchiveEntry, name: string): Promise<Buffer> {
  if (entry.kind !== 'file') throw invalidArchive(name, `its ${MANIFEST_FILE_NAME} is not a file`);
  if (entry.size > MAX_MANIFEST_BYTES) {
    const source = `${name}:${MANIFEST_FILE_NAME}`;
    throw new KernelError(ErrorCode.ManifestInvalid, `Cannot load manifest "${source}" as it is larger than ${MAX_MANIFEST_BYTES} bytes`, {
      details: { source },
    });
  }
  const pieces: Buffer[] = [];
  for await (const piece of entry.body()) pieces.push(Buffer.from(piece));
  return Buffer.concat(pieces);
}

function parseManifestBytes(bytes: Buffer, name: string): CapsuleManifest {
  const source = `${name}:${MANIFEST_FILE_NAME}`;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new KernelError(ErrorCode.ManifestInvalid, `Cannot load manifest "${source}" as it is not valid UTF-8`, { cause: error, details: { source } });
  }
  return parseManifest(text, { source });
}

// Maps a file-system error to a coded one; anything else (a KernelError from the reader, an
// abort reason) passes through unchanged.
function fsFailure(name: string, path: string, error: unknown): unknown {
  if (isKernelError(error) || !(error instanceof Error) || !('syscall' in error)) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
    return invalidArchive(name, `entry "${path}" conflicts with another entry`, error);
  }
  return new KernelError(ErrorCode.Internal, `Cannot unpack entry "${path}" of archive "${name}" as writing it failed (${code ?? 'unknown error'})`, {
    cause: error,
    details: { source: name, entry: path },
  });
}

function checkReferences(manifest: CapsuleManifest, files: ReadonlySet<string>, name: string): void {
  for (const reference of manifestFileReferences(manifest)) {
    if (!files.has(reference.path)) {
      throw new KernelError(
        ErrorCode.CapsuleInvalid,
        `Cannot accept archive "${name}" as key "${reference.key}" names "${reference.path}", which is not a file in it`,
        { details: { source: name, key: reference.key, path: reference.path } },
      );
    }
  }
}

/**
 * First pass, writing nothing: every entry check, conflicts between entries (a file where a
 * directory must go), the manifest and the files it names. A hostile archive fails here, before
 * anything touches the disk.
 */
async function scan(stream: AsyncGenerator<ArchiveEntry>, name: string): Promise<CapsuleManifest> {
  let manifest: CapsuleManifest | null = null;
  const files = new Set<string>();
  const dirs = new Set<string>();
  for await (const entry of stream) {
    const parts = entry.path.split('/');
    for (let i = 1; i < parts.length; i += 1) {
      const ancestor = parts.slice(0, i).join('/');
      if (files.has(ancestor)) throw invalidArchive(name, `entry "${entry.path}" needs "${ancestor}" to be a directory, but it is a file`);
      dirs.add(ancestor);
    }
    if (entry.kind === 'directory') {
      dirs.add(entry.path);
      continue;
    }
    if (dirs.has(entry.path)) throw invalidArchive(name, `entry "${entry.path}" is a file, but other entries need it to be a directory`);
    files.add(entry.path);
    if (entry.path === MANIFEST_FILE_NAME) manifest = parseManifestBytes(await manifestEntryBytes(entry, name), name);
  }
  if (manifest === null) throw invalidArchive(name, `it has no ${MANIFEST_FILE_NAME} at its root`);
  checkReferences(manifest, files, name);
  return manifest;
}

/** Second pass: writes every entry under `staging`, repeating every check of the first. */
async function extract(stream: AsyncGenerator<ArchiveEntry>, name: string, staging: string): Promise<Omit<UnpackResult, 'dir'>> {
  let manifest: CapsuleManifest | null = null;
  const files = new Set<string>();
  const made = new Set<string>();
  let directories = 0;
  let bytes = 0;
  const mkdirOnce = async (dir: string): Promise<void> => {
    if (made.has(dir)) return;
    await mkdir(dir, { recursive: true, mode: 0o755 });
    made.add(dir);
  };
  for await (const entry of stream) {
    const target = join(staging, entry.path);
    let manifestBody: Buffer | null = null;
    if (entry.path === MANIFEST_FILE_NAME) {
      manifestBody = await manifestEntryBytes(entry, name);
      manifest = parseManifestBytes(manifestBody, name);
    }
    try {
      if (entry.kind === 'directory') {
        await mkdirOnce(target);
        directories += 1;
        continue;
      }
      await mkdirOnce(dirname(target));
      // Exclusive create, never through a link: the staging dir is ours and holds no links,
      // so this is defence in depth.
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
      const handle = await open(target, flags, entry.executable ? 0o755 : 0o644);
      try {
        if (manifestBody !== null) await handle.writeFile(manifestBody);
        else for await (const piece of entry.body()) await handle.write(piece);
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw fsFailure(name, entry.path, error);
    }
    files.add(entry.path);
    bytes += entry.size;
  }
  if (manifest === null) throw invalidArchive(name, `it has no ${MANIFEST_FILE_NAME} at its root`);
  checkReferences(manifest, files, name);
  return { manifest, files: files.size, directories, bytes };
}

async function unpackFrom(source: () => Promise<Source> | Source, name: string, destDir: string, options: UnpackOptions): Promise<UnpackResult> {
  const { signal, ...limitInput } = options;
  signal?.throwIfAborted();
  const limits = resolveLimits(limitInput);
  const dest = resolve(destDir);
  // Pass one writes nothing; the second pass re-reads the source and repeats every check, so
  // an archive file that changes in between gains nothing.
  await scan(entries(await source(), name, limits, signal), name);
  const exists = await lstat(dest).then(
    () => true,
    () => false,
  );
  if (exists) {
    throw new KernelError(ErrorCode.PathExists, `Cannot unpack archive "${name}" into "${dest}" as it already exists`, { details: { path: dest } });
  }
  let staging: string;
  try {
    staging = await mkdtemp(join(dirname(dest), `.${basename(dest)}.unpack-`));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KernelError(
      code === 'ENOENT' ? ErrorCode.PathNotFound : ErrorCode.Internal,
      `Cannot unpack archive "${name}" into "${dest}" as its parent directory is not usable (${code ?? 'unknown error'})`,
      { cause: error, details: { path: dest } },
    );
  }
  try {
    const result = await extract(entries(await source(), name, limits, signal), name, staging);
    await chmod(staging, 0o755);
    try {
      await rename(staging, dest);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const raced = code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'EISDIR';
      throw new KernelError(
        raced ? ErrorCode.PathExists : ErrorCode.Internal,
        raced ? `Cannot unpack archive "${name}" into "${dest}" as it appeared meanwhile` : `Cannot unpack archive "${name}" into "${dest}" as the final rename failed (${code ?? 'unknown error'})`,
        { cause: error, details: { path: dest } },
      );
    }
    return { dir: dest, ...result };
  } catch (error) {
    // Best effort: the error that stopped the unpack is the one worth reporting.
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
}

/**
 * Unpacks a `.capsule` file into `destDir`, which must not exist yet (its parent must).
 * Everything is checked while extracting into a fresh temp dir beside `destDir`
 * (`.<name>.unpack-*`), which is renamed into place only when every entry passed and the
 * manifest is valid; a refused archive leaves nothing at `destDir` and nothing beside it.
 * Refuses every link (symbolic or hard, even one pointing inside the archive: simplest and
 * safest), devices, FIFOs and other special entries, absolute paths, `..`, NUL or control
 * characters and over-long names (ARCHIVE_UNSAFE_ENTRY); too many entries, too many bytes or
 * a too-large file (ARCHIVE_TOO_LARGE, see {@link ArchiveLimits}); bad gzip or tar, duplicate
 * or conflicting entries, no `Capsule.toml` at the root (ARCHIVE_INVALID); an invalid manifest
 * (MANIFEST_INVALID); a manifest naming a file the archive lacks (CAPSULE_INVALID).
 * Also NOT_FOUND (no such archive), PATH_EXISTS (`destDir` exists), PATH_NOT_FOUND (no parent).
 * Files get mode 0644, or 0755 when the entry had an execute bit; directories 0755.
 * Honours `options.signal`: an abort rethrows its reason and leaves nothing behind.
 */
export async function unpackCapsule(file: string, destDir: string, options: UnpackOptions = {}): Promise<UnpackResult> {
  return unpackFrom(() => fileSource(file), file, destDir, options);
}

/**
 * Same as {@link unpackCapsule}, from an archive held in memory (a blob from the event log).
 * Errors name the archive `<buffer>`.
 */
export async function unpackCapsuleBuffer(archive: Uint8Array, destDir: string, options: UnpackOptions = {}): Promise<UnpackResult> {
  return unpackFrom(() => bufferSource(archive), '<buffer>', destDir, options);
}

/**
 * Reads and validates only the `Capsule.toml` of an archive (a file path or the bytes), writing
 * nothing. Entries before it pass the same safety checks as in {@link unpackCapsule}; reading
 * stops at the manifest (packed archives put it first). Throws ARCHIVE_INVALID when there is
 * none, MANIFEST_INVALID when it is invalid, and the other archive codes for unsafe entries.
 */
export async function readCapsuleManifest(archive: string | Uint8Array, options: UnpackOptions = {}): Promise<CapsuleManifest> {
  const { signal, ...limitInput } = options;
  signal?.throwIfAborted();
  const limits = resolveLimits(limitInput);
  const name = typeof archive === 'string' ? archive : '<buffer>';
  const source = typeof archive === 'string' ? await fileSource(archive) : bufferSource(archive);
  for await (const entry of entries(source, name, limits, signal)) {
    if (entry.path === MANIFEST_FILE_NAME) return parseManifestBytes(await manifestEntryBytes(entry, name), name);
  }
  throw invalidArchive(name, `it has no ${MANIFEST_FILE_NAME} at its root`);
}
