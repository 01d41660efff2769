/**
 * Messages between the capsule host (main thread) and a capsule worker. Both ends are our
 * own code; the guest's bytes never cross as structure, only as checked strings and bytes.
 */
import type { MessagePort } from 'node:worker_threads';
import type { WireError } from '../errors/index.ts';
import type { CapsuleGrant } from './grant.ts';
import type { WasmModule } from './wasm-api.ts';
import type { CallEffects, CapsuleLogLevel } from './services.ts';

/** Index of the reply flag in the bridge's Int32Array. */
export const FLAG = 0;

/**
 * Call inputs and outputs of at least this many bytes cross by transfer; smaller ones are
 * copied by `postMessage`, which costs less than detaching and adopting a small buffer.
 */
export const TRANSFER_MIN_BYTES = 4096;

/** The transfer list for `bytes` (an exact, unshared buffer) under {@link TRANSFER_MIN_BYTES}. */
export function transferList(bytes: Uint8Array): ArrayBuffer[] {
  return bytes.byteLength >= TRANSFER_MIN_BYTES ? [bytes.buffer as ArrayBuffer] : [];
}

/** Sent once to a booted worker: which capsule it runs. The reply port goes in the transfer list. */
export interface InitMessage {
  readonly type: 'init';
  readonly capsuleId: string;
  readonly module: WasmModule;
  readonly grant: CapsuleGrant;
  /** Linear memory cap in pages (null when the module has no memory) and Extism block budget. */
  readonly maxPages: number | null;
  readonly memoryBytes: number;
  /** Int32Array flag the main thread sets after posting a bridge reply. */
  readonly flag: SharedArrayBuffer;
  readonly replyPort: MessagePort;
}

/** Calls an export; `input` is an exact copy, never a view over a larger buffer. */
export interface CallMessage {
  readonly type: 'call';
  readonly id: number;
  readonly fn: string;
  readonly input: Uint8Array;
}

/** Main → worker. */
export type ToWorker = InitMessage | CallMessage;

/** The kernel services a worker asks for synchronously (it blocks until the reply). */
export type BridgeRequest =
  | { readonly op: 'kvGet'; readonly key: string }
  | { readonly op: 'kvList'; readonly prefix: string }
  | { readonly op: 'configGet'; readonly key: string }
  | { readonly op: 'ipcSubscribe'; readonly pattern: string }
  | { readonly op: 'ipcUnsubscribe'; readonly id: string }
  | { readonly op: 'ipcPoll'; readonly id: string; readonly max: number }
  | { readonly op: 'fsOpen'; readonly handle: string; readonly path: string; readonly mode: string }
  | { readonly op: 'fsRead'; readonly fd: number; readonly max: number }
  | { readonly op: 'fsWrite'; readonly fd: number; readonly bytes: Uint8Array }
  | { readonly op: 'fsClose'; readonly fd: number }
  | { readonly op: 'fsStat' | 'fsReaddir' | 'fsMkdir' | 'fsRemove'; readonly handle: string; readonly path: string }
  | { readonly op: 'fsRename'; readonly handle: string; readonly from: string; readonly to: string };

/** The reply to a bridge request, posted on the reply port before the flag is set. */
export type BridgeReply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: WireError };

/** Worker → main. */
export type FromWorker =
  | { readonly type: 'booted' }
  | { readonly type: 'initialized' }
  | { readonly type: 'init-failed'; readonly error: WireError }
  | { readonly type: 'host'; readonly request: BridgeRequest }
  | { readonly type: 'log'; readonly level: CapsuleLogLevel; readonly message: string }
  | { readonly type: 'done'; readonly id: number; readonly output: Uint8Array; readonly effects: CallEffects }
  | { readonly type: 'failed'; readonly id: number; readonly error: WireError; readonly recycled: boolean };
