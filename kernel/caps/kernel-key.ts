import { constants } from 'node:fs';
import { link, lstat, open, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ErrorCode, KernelError } from '../errors/index.ts';

/** Size of the kernel key in bytes. */
export const KERNEL_KEY_BYTES = 32;

/** File name of the kernel key inside the home. */
export const KERNEL_KEY_FILE = 'kernel.key';

/**
 * Loads the per-home kernel key that signs capability handles, creating it on first use:
 * 32 random bytes in `<home>/kernel.key`, mode 0600.
 *
 * Creation is race-safe across processes: the bytes are written and synced into a private
 * temp file opened with `wx`, then published with `link()`, which fails if another process
 * published first (then its key is read instead). A reader therefore never sees a partly
 * written key. An existing key is refused with `HOME_INVALID` when it is a symlink, not a
 * regular file, not exactly 32 bytes, readable or writable by group or others, or owned by
 * another user. Throws `HOME_NOT_INITIALIZED` when `home` is not an existing directory.
 */
export async function loadOrCreateKernelKey(home: string): Promise<Buffer> {
  const stats = await lstat(home).catch((error: unknown) => {
    throw new KernelError(ErrorCode.HomeNotInitialized, `Cannot load the kernel key as the home "${home}" does not exist`, { cause: error });
  });
  if (!stats.isDirectory()) {
    throw new KernelError(ErrorCode.HomeNotInitialized, `Cannot load the kernel key as the home "${home}" is not a directory`);
  }
  const path = join(home, KERNEL_KEY_FILE);
  const existing = await readKey(path);
  if (existing !== null) return existing;
  await publishKey(home, path);
  const created = await readKey(path);
  if (created === null) throw invalidHome(path, 'it vanished right after it was created');
  return created;
}

async function readKey(path: string): Promise<Buffer | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const errno = errnoOf(error);
    if (errno === 'ENOENT') return null;
    if (errno === 'ELOOP') throw invalidHome(path, 'it is a symbolic link');
    throw invalidHome(path, `it cannot be opened (${errno ?? 'unknown error'})`, error);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw invalidHome(path, 'it is not a regular file');
    if ((stats.mode & 0o077) !== 0) throw invalidHome(path, `its mode ${(stats.mode & 0o777).toString(8)} is not 600`);
    const uid = process.getuid?.();
    if (uid !== undefined && stats.uid !== uid) throw invalidHome(path, 'it belongs to another user');
    if (stats.size !== KERNEL_KEY_BYTES) throw invalidHome(path, `it has ${stats.size} bytes instead of ${KERNEL_KEY_BYTES}`);
    const key = Buffer.alloc(KERNEL_KEY_BYTES);
    const { bytesRead } = await handle.read(key, 0, KERNEL_KEY_BYTES, 0);
    if (bytesRead !== KERNEL_KEY_BYTES) throw invalidHome(path, 'it is shorter than its size');
    return key;
  } finally {
    await handle.close();
  }
}

async function publishKey(home: string, path: string): Promise<void> {
  const temp = join(home, `.${KERNEL_KEY_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    try {
      await handle.chmod(0o600);
      await handle.writeFile(randomBytes(KERNEL_KEY_BYTES));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temp, path);
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST') throw error;
      return; // another process published first; its key wins
    }
    const dir = await open(home, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

function errnoOf(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

function invalidHome(path: string, why: string, cause?: unknown): KernelError {
  return new KernelError(ErrorCode.HomeInvalid, `Cannot use the kernel key "${path}" as ${why}`, cause === undefined ? {} : { cause });
}
