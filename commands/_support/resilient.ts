import { ErrorCode, isKernelError } from '../../kernel/errors/index.ts';
import type { KernelApi } from '../../kernel/service/index.ts';

/**
 * Follows a stream of seq-ordered items across owner changes: when the owner leaves (a
 * daemon stops, or the command that owned the home exits), it reopens the home, which may
 * make this process the owner, and resumes right after the last item it yielded, so
 * nothing is lost or repeated. Ends when `signal` aborts.
 */
export async function* resumable<T extends { readonly seq: number }>(
  open: (afterHandover: boolean) => Promise<KernelApi>,
  stream: (kernel: KernelApi, from: number | undefined, signal: AbortSignal) => AsyncIterable<T>,
  options: { from?: number; signal: AbortSignal },
): AsyncGenerator<T> {
  let from = options.from;
  let afterHandover = false;
  while (!options.signal.aborted) {
    const kernel = await open(afterHandover);
    try {
      // A start "from now" must be pinned to a seq before a reconnect could move it.
      if (from === undefined) from = (await kernel.status()).head.seq + 1;
      for await (const item of stream(kernel, from, options.signal)) {
        from = item.seq + 1;
        yield item;
      }
      return;
    } catch (error) {
      // The owner left (CONNECTION_LOST), or this process owned the home and gave it up (LOG_CLOSED).
      const lost = isKernelError(error, ErrorCode.ConnectionLost) || isKernelError(error, ErrorCode.LogClosed);
      if (!lost || options.signal.aborted) throw error;
      afterHandover = isKernelError(error, ErrorCode.LogClosed);
    } finally {
      await kernel.close();
    }
  }
}

/** An AbortSignal that fires on SIGINT or SIGTERM, so a following command exits cleanly. */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}
