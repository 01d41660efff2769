// Large byte arguments (a file for `vfs write`, a capsule archive) sent to an owner in pieces:
// a socket frame holds at most 16 MiB, so a client stages bigger payloads here first.
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import { ErrorCode, KernelError } from '../errors/index.ts';
import { KeyedSerial } from '../concurrency/index.ts';

/** An upload's id: 32 lowercase hex characters, chosen at random by the client. */
export const UploadIdSchema = v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/, 'Expected 32 lowercase hex characters'));

/** What a call names instead of inline bytes: a staged upload, its size and its SHA-256. */
export const UploadRefSchema = v.object({
  id: UploadIdSchema,
  size: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'Expected a lowercase hex SHA-256')),
});
/** See {@link UploadRefSchema}. */
export type UploadRef = v.InferOutput<typeof UploadRefSchema>;

/** Options of {@link UploadStore}. */
export interface UploadStoreOptions {
  /** Largest upload, in bytes (default 1 GiB). */
  readonly maxBytes?: number;
  /** Staged uploads untouched for this long are deleted by {@link UploadStore.sweep} (default 1 h). */
  readonly maxAgeMs?: number;
  readonly clock?: () => number;
}

/**
 * Staged uploads, one file each (mode 0600) in a directory of the home, so they outlive a
 * change of owner: the next owner finishes what a leaving one started. Pieces arrive in order;
 * a piece sent again (after a lost connection) is accepted when it ends within what is stored.
 * Taking an upload checks its size and digest and deletes it.
 */
export class UploadStore {
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #maxAgeMs: number;
  readonly #clock: () => number;
  readonly #serial = new KeyedSerial();

  constructor(dir: string, options: UploadStoreOptions = {}) {
    this.#dir = dir;
    this.#maxBytes = options.maxBytes ?? 1024 ** 3;
    this.#maxAgeMs = options.maxAgeMs ?? 60 * 60_000;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Adds `bytes` at `offset` to upload `id` (created on first use) and returns its size.
   * @throws KernelError INVALID_ARGUMENT (a gap or an overlap past the end), PAYLOAD_TOO_LARGE
   */
  stage(id: string, offset: number, bytes: Uint8Array): Promise<number> {
    return this.#serial.run(id, async () => {
      const path = this.#path(id);
      const size = await stat(path).then((s) => s.size, () => 0);
      if (offset + bytes.byteLength <= size) return size; // already stored: a piece sent again
      if (offset !== size) {
        throw new KernelError(ErrorCode.InvalidArgument, `Cannot add bytes at ${offset} to upload ${id} as it holds ${size}`, {
          details: { id, offset, size },
        });
      }
      if (size + bytes.byteLength > this.#maxBytes) {
        await rm(path, { force: true });
        throw new KernelError(ErrorCode.PayloadTooLarge, `Cannot take an upload of more than ${this.#maxBytes} bytes`, {
          details: { id, limit: this.#maxBytes, retryAfterMs: null },
        });
      }
      await mkdir(this.#dir, { recursive: true, mode: 0o700 });
      await appendFile(path, bytes, { mode: 0o600 });
      return size + bytes.byteLength;
    });
  }

  /**
   * The bytes of a complete upload, which is deleted.
   * @throws KernelError INVALID_ARGUMENT when it is missing, incomplete or not the bytes named
   */
  take(ref: UploadRef): Promise<Buffer> {
    return this.#serial.run(ref.id, async () => {
      const path = this.#path(ref.id);
      const bytes = await readFile(path).catch(() => null);
      if (bytes === null) throw new KernelError(ErrorCode.InvalidArgument, `Cannot use upload ${ref.id} as none is staged`, { details: { id: ref.id } });
      await rm(path, { force: true });
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      if (bytes.byteLength !== ref.size || sha256 !== ref.sha256) {
        throw new KernelError(ErrorCode.InvalidArgument, `Cannot use upload ${ref.id} as it holds ${bytes.byteLength} bytes that are not the ${ref.size} named`, {
          details: { id: ref.id, size: bytes.byteLength, expected: ref.size },
        });
      }
      return bytes;
    });
  }

  /** Deletes uploads nobody added to for longer than the maximum age. Never throws. */
  async sweep(): Promise<void> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    const cutoff = this.#clock() - this.#maxAgeMs;
    for (const name of names) {
      const path = join(this.#dir, name);
      const old = await stat(path).then((s) => s.mtimeMs < cutoff, () => false);
      if (old) await rm(path, { force: true }).catch(() => undefined);
    }
  }

  #path(id: string): string {
    if (!v.is(UploadIdSchema, id)) throw new KernelError(ErrorCode.InvalidArgument, 'Cannot use an upload id that is not 32 lowercase hex characters');
    return join(this.#dir, `${id}.part`);
  }
}
