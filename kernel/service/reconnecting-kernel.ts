import { ErrorCode, isKernelError } from '../errors/index.ts';
import type { KernelApi } from './api.ts';

/** The most times one call is retried on a new connection before its error is thrown. */
export const MAX_RECONNECTS = 20;

/**
 * Operations whose repetition changes nothing (reads, and replay, which rebuilds the same
 * state): retried after any lost connection, not only one that certainly never started.
 */
const IDEMPOTENT: ReadonlySet<PropertyKey> = new Set<PropertyKey>([
  'status', 'read', 'verify', 'projectionGet', 'projectionPage', 'replay',
  'vfsList', 'vfsRead', 'vfsStat', 'vfsDiff', 'capVerify',
]);

/**
 * Streams that only read: started again after a lost connection, as long as they had yielded
 * nothing (a stream that fails part-way throws, since its consumer has already used part).
 */
const RESTARTABLE_STREAMS: ReadonlySet<PropertyKey> = new Set<PropertyKey>(['vfsReadChunks']);

/** Operations passed straight through: streams (callers resume them by seq) and closing. */
const PASS_THROUGH: ReadonlySet<PropertyKey> = new Set<PropertyKey>(['subscribe', 'follow', 'close', Symbol.asyncDispose]);

/**
 * Whether `error` says a request certainly never started: the owner was leaving (it had
 * said `bye`, or refused the request for that reason) or the connection failed during the
 * handshake. Such a request is safe to send again, whatever it does.
 */
export function isRetryableLoss(error: unknown): boolean {
  return isKernelError(error, ErrorCode.ConnectionLost) && error.details?.['retryable'] === true;
}

type AnyMethod = (...args: unknown[]) => unknown;

/**
 * Wraps a kernel so a call refused because its owner was leaving (a command that owned the
 * home finished, a daemon stopped) is sent again through `reconnect()`, which may make this
 * process the owner. A write is sent again only when it certainly never started (see
 * {@link isRetryableLoss}); a read or a replay after any lost connection. Any other error,
 * and the last one after {@link MAX_RECONNECTS} tries, is thrown as is. Streams are not wrapped: their callers resume them from a seq.
 */
export function reconnectingKernel(first: KernelApi, reconnect: () => Promise<KernelApi>): KernelApi {
  let current = first;
  const retrying = (name: PropertyKey) =>
    async (...args: unknown[]): Promise<unknown> => {
      for (let attempt = 1; ; attempt++) {
        const method = Reflect.get(current, name, current) as AnyMethod;
        try {
          return await Reflect.apply(method, current, args);
        } catch (error) {
          const again = isRetryableLoss(error) || (IDEMPOTENT.has(name) && isKernelError(error, ErrorCode.ConnectionLost));
          if (!again || attempt >= MAX_RECONNECTS) throw error;
          await current.close().catch(() => undefined);
          current = await reconnect();
        }
      }
    };
  const restarting = (name: PropertyKey) =>
    async function* (...args: unknown[]): AsyncGenerator<unknown> {
      for (let attempt = 1; ; attempt++) {
        const method = Reflect.get(current, name, current) as AnyMethod;
        let yielded = false;
        try {
          for await (const item of Reflect.apply(method, current, args) as AsyncIterable<unknown>) {
            yielded = true;
            yield item;
          }
          return;
        } catch (error) {
          if (yielded || !isKernelError(error, ErrorCode.ConnectionLost) || attempt >= MAX_RECONNECTS) throw error;
          await current.close().catch(() => undefined);
          current = await reconnect();
        }
      }
    };
  return new Proxy(first, {
    get(_target, name) {
      const value: unknown = Reflect.get(current, name, current);
      if (typeof value !== 'function') return value;
      if (PASS_THROUGH.has(name)) return (...args: unknown[]) => Reflect.apply(value as AnyMethod, current, args);
      if (RESTARTABLE_STREAMS.has(name)) return restarting(name);
      return retrying(name);
    },
  });
}
