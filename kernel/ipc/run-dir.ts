import { chmod, lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, isKernelError, KernelError } from '../errors/index.ts';

/** The directory of a home that holds its socket and owner record: `<home>/run`. */
export function runDir(home: string): string {
  return join(home, 'run');
}

/** Where the owner of a home serves its RPC socket by convention: `<home>/run/kernel.sock`. */
export function ownerSocketPath(home: string): string {
  return join(runDir(home), 'kernel.sock');
}

/** Where the owner of a home records itself: `<home>/run/owner.json`. */
export function ownerInfoPath(home: string): string {
  return join(runDir(home), 'owner.json');
}

/**
 * Creates `dir` (and its parents) if needed and makes it private: a real directory (not a
 * symlink), owned by this user, mode 0700 (tightened if it was looser).
 *
 * Throws KernelError HOME_INVALID when the path is not such a directory.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  try {
    await makePrivateDir(dir);
  } catch (error) {
    if (isKernelError(error)) throw error;
    throw new KernelError(ErrorCode.HomeInvalid, `Cannot prepare "${dir}" as a private directory`, {
      cause: error,
      details: { path: dir, errno: (error as NodeJS.ErrnoException).code ?? null },
    });
  }
}

async function makePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const stat = await lstat(dir);
  if (!stat.isDirectory()) {
    throw new KernelError(ErrorCode.HomeInvalid, `Cannot use "${dir}" as a private directory as it is not a directory`);
  }
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw new KernelError(
      ErrorCode.HomeInvalid,
      `Cannot use "${dir}" as a private directory as it belongs to uid ${stat.uid}`,
      { details: { path: dir, uid: stat.uid } },
    );
  }
  if ((stat.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
}
