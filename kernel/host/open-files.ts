import { ErrorCode, KernelError } from '../errors/index.ts';
import type { HostFile } from './services.ts';

/** Most files one call may hold open at once. */
export const MAX_OPEN_FILES = 64;

/**
 * The files one call of a capsule holds open, by fd. Fds are never reused within an
 * instance generation, so an fd from an earlier call is simply unknown (`NOT_FOUND`).
 * `abandonAll()` runs when the call ends however it ends: open read files are released and
 * the bytes of write files never closed are dropped.
 */
export class OpenFiles {
  readonly #files = new Map<number, HostFile>();
  #next = 3;

  /** Registers a file and returns its fd. Throws `INVALID_ARGUMENT` past {@link MAX_OPEN_FILES}. */
  add(file: HostFile): number {
    if (this.#files.size >= MAX_OPEN_FILES) {
      void file.abandon();
      throw new KernelError(ErrorCode.InvalidArgument, `Cannot open more than ${MAX_OPEN_FILES} files in one call`);
    }
    const fd = this.#next++;
    this.#files.set(fd, file);
    return fd;
  }

  /** The open file `fd`. Throws `NOT_FOUND`. */
  get(fd: number): HostFile {
    const file = this.#files.get(fd);
    if (file === undefined) throw new KernelError(ErrorCode.NotFound, `Cannot use fd ${fd} as this call has no such open file`);
    return file;
  }

  /** Forgets `fd` and returns its file (the caller closes it). Throws `NOT_FOUND`. */
  take(fd: number): HostFile {
    const file = this.get(fd);
    this.#files.delete(fd);
    return file;
  }

  /** Releases every open file without landing anything. Never throws. */
  async abandonAll(): Promise<void> {
    const files = [...this.#files.values()];
    this.#files.clear();
    await Promise.allSettled(files.map((f) => f.abandon()));
  }
}
