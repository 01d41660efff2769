import { constants, type Dirent } from 'node:fs';
import { lstat, open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, KernelError } from '../errors/index.ts';
import { silentLogger } from '../logger/index.ts';
import { IGNORE_FILE, IgnoreBoundary, type IgnoreBoundaryOptions } from './boundary.ts';

/** Largest ignore file read, in bytes. */
export const MAX_IGNORE_FILE_BYTES = 1024 * 1024;

/**
 * Builds an {@link IgnoreBoundary} from every `.astridignore` under `root`, as git reads
 * `.gitignore` files: top-down, not descending into a directory the rules found so far
 * already ignore (its files could only affect paths that are ignored anyway), nor into
 * symlinked directories or `.git`. A symlinked `.astridignore` is skipped with a warning, as git does,
 * since it could point outside the root. Throws `NOT_FOUND` when `root` is not a directory
 * and `CONFIG_INVALID` for an ignore file over 1 MiB or one that cannot be read.
 */
export async function loadIgnoreBoundary(root: string, options: IgnoreBoundaryOptions = {}): Promise<IgnoreBoundary> {
  const logger = options.logger ?? silentLogger;
  const stats = await lstat(root).catch(() => null);
  if (stats === null || !stats.isDirectory()) {
    throw new KernelError(ErrorCode.NotFound, `Cannot load the ignore boundary as "${root}" is not a directory`);
  }
  const files = new Map<string, string>();
  let boundary = IgnoreBoundary.fromFiles(files, options);
  const pending: string[] = [''];
  while (pending.length > 0) {
    const dir = pending.pop() as string;
    const host = dir === '' ? root : join(root, dir);
    let entries: Dirent[];
    try {
      entries = await readdir(host, { withFileTypes: true });
    } catch (error) {
      // A directory that vanished or cannot be listed holds no rules we could read.
      logger.warn('ignore boundary skipped a directory', { dir, code: errnoOf(error) });
      continue;
    }
    const file = entries.find((e) => e.name === IGNORE_FILE);
    if (file !== undefined) {
      const source = dir === '' ? IGNORE_FILE : `${dir}/${IGNORE_FILE}`;
      if (file.isFile()) {
        files.set(dir, await readRules(join(host, IGNORE_FILE), source));
        boundary = IgnoreBoundary.fromFiles(files, options);
      } else {
        logger.warn('ignore boundary skipped an ignore file that is not a regular file', { source });
      }
    }
    const subdirs = entries
      // git never reads ignore files inside `.git`, builtins or not.
      .filter((e) => e.isDirectory() && e.name !== '.git')
      .map((e) => (dir === '' ? e.name : `${dir}/${e.name}`))
      .filter((rel) => !boundary.isIgnored(rel, true))
      .sort()
      .reverse();
    pending.push(...subdirs);
  }
  return boundary;
}

async function readRules(path: string, source: string): Promise<string> {
  let handle: FileHandle;
  try {
    // O_NOFOLLOW: a file swapped for a symlink after the listing is not followed out of the root.
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    throw new KernelError(ErrorCode.ConfigInvalid, `Cannot load "${source}" as it cannot be opened`, { cause: error });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile() || stats.size > MAX_IGNORE_FILE_BYTES) {
      throw new KernelError(ErrorCode.ConfigInvalid, `Cannot load "${source}" as it is not a regular file of at most ${MAX_IGNORE_FILE_BYTES} bytes`);
    }
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

function errnoOf(error: unknown): string | null {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : null;
}
