import { createHash, randomBytes } from 'node:crypto';
import type { HashedEvent, NewEvent } from '../events/index.ts';
import type { VerifyReport } from '../log/index.ts';
import type { JsonValue } from '../projection/index.ts';
import type { EffectiveCapability } from '../caps/index.ts';
import type { CommitSummary, DiffEntry, OverlayEntry, VfsChangeReceipt, VfsStat } from '../vfs/overlay/index.ts';
import type {
  BusMessage,
  CapabilityRequest,
  CapsuleInstallReceipt,
  KernelApi,
  KernelStatus,
  MintedCapability,
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
/** Byte arguments up to this size go inline (base64 adds a third: still well under a 16 MiB frame). */
const INLINE_BYTES = 8 * 1024 * 1024;
/** The piece size of a staged upload. */
const UPLOAD_PIECE_BYTES = 4 * 1024 * 1024;
/** File chunks a client queues before it stops reading: a few MiB, however slow its consumer. */
const CHUNKS_IN_FLIGHT = 4;

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

  /**
   * A byte argument as the owner takes it: inline base64 when it fits a frame with room to
   * spare, else staged in pieces as an upload first (`{ [inlineKey]: base64 }` or `{ upload }`).
   */
  async #bytes(inlineKey: string, bytes: Uint8Array): Promise<object> {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (buffer.byteLength <= INLINE_BYTES) return { [inlineKey]: buffer.toString('base64') };
    const id = randomBytes(16).toString('hex');
    for (let offset = 0; offset < buffer.byteLength; offset += UPLOAD_PIECE_BYTES) {
      await this.#call('stageUpload', { upload: id, offset, bytes: buffer.subarray(offset, offset + UPLOAD_PIECE_BYTES).toString('base64') });
    }
    return { upload: { id, size: buffer.byteLength, sha256: createHash('sha256').update(buffer).digest('hex') } };
  }

  /** A stream that, like the local kernel's, ends quietly when `signal` aborts. */
  async *#stream<T>(op: StreamOp, args: object, signal: AbortSignal | undefined, highWaterMark?: number): AsyncGenerator<T> {
    try {
      const options = highWaterMark === undefined ? opt(signal) : { ...opt(signal), highWaterMark };
      for await (const item of this.#rpc.stream(op, args, options)) yield item as T;
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

  async installCapsule(archive: Uint8Array, options: { source: string }): Promise<CapsuleInstallReceipt> {
    return this.#call('installCapsule', { ...(await this.#bytes('archive', archive)), source: options.source });
  }

  callCapsule(capsuleId: string, fn: string, input: string, options: { component?: string } = {}): Promise<{ output: string }> {
    return this.#call('callCapsule', { capsuleId, fn, input, ...options });
  }

  removeCapsule(capsuleId: string, options: { source: string }): Promise<{ capsuleId: string; seq: number }> {
    return this.#call('removeCapsule', { capsuleId, source: options.source });
  }

  vfsOpen(lower: string, options: { source: string }): Promise<{ id: string; lower: string; seq: number }> {
    return this.#call('vfsOpen', { lower, source: options.source });
  }

  async vfsWrite(session: string, path: string, bytes: Uint8Array, options: { source: string; mode?: number }): Promise<VfsChangeReceipt & { size: number }> {
    return this.#call('vfsWrite', { session, path, ...(await this.#bytes('bytes', bytes)), ...options });
  }

  vfsRemove(session: string, path: string, options: { source: string }): Promise<VfsChangeReceipt> {
    return this.#call('vfsRemove', { session, path, source: options.source });
  }

  vfsMkdir(session: string, path: string, options: { source: string }): Promise<VfsChangeReceipt> {
    return this.#call('vfsMkdir', { session, path, source: options.source });
  }

  vfsRename(session: string, from: string, to: string, options: { source: string }): Promise<VfsChangeReceipt> {
    return this.#call('vfsRename', { session, from, to, source: options.source });
  }

  vfsList(session: string, path: string): Promise<OverlayEntry[]> {
    return this.#call('vfsList', { session, path });
  }

  async *vfsReadChunks(session: string, path: string, options: StreamOptions = {}): AsyncGenerator<Uint8Array> {
    for await (const { bytes } of this.#stream<{ bytes: string }>('vfsReadChunks', { session, path }, options.signal, CHUNKS_IN_FLIGHT)) {
      yield Buffer.from(bytes, 'base64');
    }
  }

  async vfsRead(session: string, path: string): Promise<Uint8Array> {
    const { bytes } = await this.#call<{ bytes: string }>('vfsRead', { session, path });
    return Buffer.from(bytes, 'base64');
  }

  vfsStat(session: string, path: string): Promise<VfsStat | null> {
    return this.#call('vfsStat', { session, path });
  }

  vfsDiff(session: string): Promise<DiffEntry[]> {
    return this.#call('vfsDiff', { session });
  }

  vfsCommit(session: string, options: { source: string }): Promise<VfsChangeReceipt & CommitSummary> {
    return this.#call('vfsCommit', { session, source: options.source });
  }

  vfsDiscard(session: string, options: { source: string }): Promise<VfsChangeReceipt> {
    return this.#call('vfsDiscard', { session, source: options.source });
  }

  capMint(request: CapabilityRequest): Promise<MintedCapability> {
    return this.#call('capMint', request);
  }

  capRevoke(handle: string, options: { source: string }): Promise<{ id: string; seq: number }> {
    return this.#call('capRevoke', { handle, source: options.source });
  }

  capVerify(handle: string, capsuleId: string): Promise<EffectiveCapability> {
    return this.#call('capVerify', { handle, capsuleId });
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
