import { closeSync, constants, fstatSync, openSync, read, readlinkSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';

/** A regular file opened for reading, with the stats its checks used. */
export interface ExactFile {
  readonly handle: FileHandle;
  readonly stats: Stats;
}

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;

/**
 * Linux `O_PATH`: the open only resolves the path and pins the inode it names. Nothing is
 * opened for I/O, so the driver of a device or the far end of a FIFO never sees it. Node does
 * not export it; 0o10000000 is the asm-generic value, which every Linux architecture Node
 * supports uses (only alpha, parisc and sparc differ).
 */
const O_PATH = 0o10000000;

const readFd = promisify(read);

/**
 * Opens for reading the regular file whose real path is exactly `hostPath`, or returns null
 * when it is anything else (missing, a symbolic link met on the way or at the end, not a
 * regular file, moved meanwhile, any error): the caller then takes its careful path, which
 * gives the precise error. Linux only (`/proc/self/fd`); `hostPath` must be absolute and
 * normalized (no `.`, `..` or `//`), as a canonical root joined with a virtual path is.
 *
 * Why this is safe without a component walk: the path is first pinned with
 * `O_PATH|O_NOFOLLOW`, which opens nothing even when a symlink on the way leads out of the
 * root. The pinned inode must be a regular file and `/proc/self/fd/N` must read back exactly
 * `hostPath` (any symlink on the way makes the real path differ, and a file moved or deleted
 * meanwhile does too). Only then is it opened for reading, through the magic link of the
 * pinned descriptor, which reaches that very inode and never re-resolves the name.
 *
 * The pin, its stat, the read-back and its close are synchronous, each saving a thread-pool
 * round trip: the pin is a path lookup the dentry cache answers on a local file system, the
 * read-back and the close stay in the process's own kernel state (procfs `d_path`, an `O_PATH`
 * file with nothing to flush), and the stat reads the inode the lookup just resolved (a
 * network file system answers from its attribute cache, or at worst with one round trip, the
 * price of a read there anyway). The reads themselves go to the thread pool.
 */
export async function openExact(hostPath: string): Promise<ExactFile | null> {
  const pinned = pin(hostPath);
  if (pinned === null) return null;
  try {
    const handle = await open(`/proc/self/fd/${pinned.fd}`, O_RDONLY | O_NONBLOCK);
    return { handle, stats: pinned.stats };
  } catch {
    return null;
  } finally {
    closeSync(pinned.fd);
  }
}

/**
 * The whole content of the regular file whose real path is exactly `hostPath`, checked as
 * {@link openExact} checks it, or null in the same cases. Opening is synchronous too (for a
 * regular file an open is a lookup the pin has just made); only the reads go to the thread
 * pool. The buffer is zero-filled and its own: a file that shrank yields what was there.
 * @throws the read's error once the file is open (EIO, …)
 */
export async function readExact(hostPath: string): Promise<{ bytes: Buffer; stats: Stats } | null> {
  const pinned = pin(hostPath);
  if (pinned === null) return null;
  let fd: number;
  try {
    fd = openSync(`/proc/self/fd/${pinned.fd}`, O_RDONLY | O_NONBLOCK);
  } catch {
    return null;
  } finally {
    closeSync(pinned.fd);
  }
  try {
    return { bytes: await readAll(fd, pinned.stats.size), stats: pinned.stats };
  } finally {
    closeSync(fd);
  }
}

/** Pins `hostPath` with `O_PATH|O_NOFOLLOW` if it is exactly a regular file there; the caller closes `fd`. */
function pin(hostPath: string): { fd: number; stats: Stats } | null {
  let fd: number;
  try {
    fd = openSync(hostPath, O_PATH | O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const stats = fstatSync(fd);
    if (stats.isFile() && readlinkSync(`/proc/self/fd/${fd}`) === hostPath) return { fd, stats };
  } catch {
    // Any failure: not the exact file; the caller takes its careful path.
  }
  closeSync(fd);
  return null;
}

/** Reads `fd` from 0 up to `size` bytes (to the end when `size` is 0, as files of procfs report). */
async function readAll(fd: number, size: number): Promise<Buffer> {
  if (size === 0) {
    const parts: Buffer[] = [];
    for (;;) {
      const part = Buffer.alloc(64 * 1024);
      const { bytesRead } = await readFd(fd, part, 0, part.length, null);
      if (bytesRead === 0) return Buffer.concat(parts);
      parts.push(part.subarray(0, bytesRead));
    }
  }
  const buffer = Buffer.alloc(size);
  let total = 0;
  while (total < size) {
    const { bytesRead } = await readFd(fd, buffer, total, size - total, total);
    if (bytesRead === 0) break;
    total += bytesRead;
  }
  return total === size ? buffer : buffer.subarray(0, total);
}
