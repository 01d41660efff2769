import type { HashedEvent, NewEvent } from '../events/index.ts';
import type { VerifyReport } from '../log/index.ts';
import type { JsonValue } from '../projection/index.ts';
import type {
  BusMessage,
  CapsuleInstallReceipt,
  KernelApi,
  KernelStatus,
  OutgoingMessage,
  ProjectionPage,
  PublishReceipt,
  ReplayProgress,
  ReplayResult,
  StreamOptions,
} from './api.ts';
import type { CallOp, StreamOp } from './ops.ts';

/** The part of the socket client the remote kernel needs. */
export interface RpcChannel {
  call(op: string, args: unknown, options?: { signal?: AbortSignal }): Promise<unknown>;
  stream(op: string, args: unknown, options?: { signal?: AbortSignal }): AsyncIterable<unknown>;
  close(): Promise<void>;
}

const opt = (signal: AbortSignal | undefined) => (signal === undefined ? {} : { signal });

/**
 * The kernel as seen from a process that does not own the home: each call crosses the
 * home's socket to the owner, which answers from its log. Errors arrive as KernelErrors
 * with the owner's codes. The owner's replies are trusted (same user, private socket).
 */
export class RemoteKernel implements KernelApi {
  readonly mode = 'remote' as const;
  readonly #rpc: RpcChannel;

  constructor(rpc: RpcChannel) {
    this.#rpc = rpc;
  }

  #call<T>(op: CallOp, args: object = {}): Promise<T> {
    return this.#rpc.call(op, args) as Promise<T>;
  }

  /** A stream that, like the local kernel's, ends quietly when `signal` aborts. */
  async *#stream<T>(op: StreamOp, args: object, signal: AbortSignal | undefined): AsyncGenerator<T> {
    try {
      for await (const item of this.#rpc.stream(op, args, opt(signal))) yield item as T;
    } catch (error) {
      if (signal?.aborted === true) return;
      throw error;
    }
  }

  status(): Promise<KernelStatus> {
    return this.#call('status');
  }

  append(events: readonly NewEvent[]): Promise<HashedEvent[]> {
    return this.#call('append', { events });
  }

  publish(messages: readonly OutgoingMessage[], options: { source: string }): Promise<PublishReceipt[]> {
    return this.#call('publish', { messages, source: options.source });
  }

  subscribe(pattern: string, options: StreamOptions & { from?: number; source?: string } = {}): AsyncIterable<BusMessage> {
    const { signal, ...rest } = options;
    return this.#stream('subscribe', { pattern, ...rest }, signal);
  }

  read(options: { from?: number; to?: number; limit?: number }): Promise<HashedEvent[]> {
    return this.#call('read', options);
  }

  follow(options: StreamOptions & { from?: number } = {}): AsyncIterable<HashedEvent> {
    const { signal, ...rest } = options;
    return this.#stream('follow', rest, signal);
  }

  verify(): Promise<VerifyReport> {
    return this.#call('verify');
  }

  projectionGet(name: string, key: string): Promise<JsonValue | null> {
    return this.#call('projectionGet', { name, key });
  }

  projectionPage(name: string, options: { prefix?: string; after?: string; limit?: number; at?: number }): Promise<ProjectionPage> {
    return this.#call('projectionPage', { name, ...options });
  }

  async replay(options: { until?: number; names?: readonly string[]; onProgress?: (p: ReplayProgress) => void }): Promise<ReplayResult> {
    const { onProgress, ...args } = options;
    let result: ReplayResult | null = null;
    for await (const item of this.#stream<{ progress?: ReplayProgress; done?: ReplayResult }>('replay', args, undefined)) {
      if (item.progress !== undefined) onProgress?.(item.progress);
      if (item.done !== undefined) result = item.done;
    }
    if (result === null) throw new Error('replay stream ended without a result');
    return result;
  }

  async shutdown(): Promise<void> {
    await this.#call('shutdown');
  }

  installCapsule(archive: Uint8Array, options: { source: string }): Promise<CapsuleInstallReceipt> {
    return this.#call('installCapsule', { archive: Buffer.from(archive).toString('base64'), source: options.source });
  }

  callCapsule(capsuleId: string, fn: string, input: string, options: { component?: string } = {}): Promise<{ output: string }> {
    return this.#call('callCapsule', { capsuleId, fn, input, ...options });
  }

  removeCapsule(capsuleId: string, options: { source: string }): Promise<{ capsuleId: string; seq: number }> {
    return this.#call('removeCapsule', { capsuleId, source: options.source });
  }

  async handover(): Promise<void> {
    await this.#call('handover');
  }

  close(): Promise<void> {
    return this.#rpc.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
