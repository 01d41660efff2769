import type { FileHandle } from 'node:fs/promises';

/**
 * A file opened for reading by offset, so a caller can hand out bounded chunks without
 * loading the whole file. A lower-layer file is a descriptor opened safely inside the root:
 * a path swapped for a symlink after the open changes nothing, reads keep hitting the inode
 * that was opened. An upper-layer file is its blob's bytes (already in the log's memory map).
 * Close it (`await using`); closing twice is harmless.
 */
export interface OpenedFile extends AsyncDisposable {
  /** Size in bytes at the moment of the open. */
  readonly size: number;
  /** Up to `max` bytes from `position`; an empty array at or past the end. */
  read(position: number, max: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** An {@link OpenedFile} over bytes already in memory. */
export function bytesFile(bytes: Uint8Array): OpenedFile {
  const close = async (): Promise<void> => {};
  return {
    size: bytes.byteLength,
    read: async (position, max) => bytes.slice(Math.min(position, bytes.byteLength), Math.min(position + max, bytes.byteLength)),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** An {@link OpenedFile} over an open descriptor; takes ownership of `handle`. */
export function handleFile(handle: FileHandle, size: number): OpenedFile {
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => (closed ??= handle.close());
  return {
    size,
    async read(position, max) {
      const buffer = new Uint8Array(max);
      const { bytesRead } = await handle.read(buffer, 0, max, position);
      return bytesRead === max ? buffer : buffer.slice(0, bytesRead);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
