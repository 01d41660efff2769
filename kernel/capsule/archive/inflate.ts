import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { isKernelError } from '../../errors/index.ts';
import { invalidArchive, tooLarge, type ArchiveLimits } from './limits.ts';

/**
 * Inflates a gzip stream chunk by chunk, counting the output: past `limits.maxTotalBytes` it
 * stops with ARCHIVE_TOO_LARGE before inflating further, so a gzip bomb costs at most that much
 * work and one chunk of memory. Input that is not gzip, or is truncated, is ARCHIVE_INVALID.
 * Honours `signal` between chunks (rethrows its reason). Destroys its streams when the caller
 * stops iterating early.
 */
export async function* inflate(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  name: string,
  limits: ArchiveLimits,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  const input = Readable.from(source, { objectMode: false });
  const gunzip = createGunzip();
  input.on('error', (error) => gunzip.destroy(error));
  input.pipe(gunzip);
  let total = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      total += chunk.length;
      if (total > limits.maxTotalBytes) {
        throw tooLarge(name, `it inflates to more than ${limits.maxTotalBytes} bytes`, 'maxTotalBytes', limits.maxTotalBytes);
      }
      yield chunk;
    }
  } catch (error) {
    if (isKernelError(error) || (signal?.aborted === true && error === signal.reason)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw invalidArchive(name, `it is not a valid gzip stream (${code ?? 'unknown error'})`, error);
  } finally {
    input.unpipe(gunzip);
    input.destroy();
    gunzip.destroy();
  }
}
