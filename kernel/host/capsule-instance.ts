import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { ErrorCode, KernelError } from '../errors/index.ts';
import type { Logger } from '../logger/index.ts';
import { AirlockLimits, type CapsuleGrant, GrantChecker } from './grant.ts';
import { FLAG, transferList, type BridgeReply, type BridgeRequest, type FromWorker, type InitMessage } from './protocol.ts';
import { KernelPort, toWire } from './kernel-port.ts';
import { OpenFiles } from './open-files.ts';
import type { CallEffects, HostServices } from './services.ts';
import type { CompiledCapsule } from './wasm-module.ts';
import type { WorkerPool } from './worker-pool.ts';

/**
 * Per-instance limits: wall-clock time per call, time to instantiate (a start function may
 * loop), and memory (the linear memory cap, also the per-call Extism allocation budget).
 */
export interface CapsuleLimits {
  readonly timeoutMs: number;
  readonly startTimeoutMs: number;
  readonly memoryBytes: number;
}

/** Options of one call. */
export interface CallOptions {
  /** Aborting ends the call at once (the worker is terminated and recycled); rejects with the reason. */
  readonly signal?: AbortSignal;
  /** Overrides the instance's `timeoutMs` for this call. */
  readonly timeoutMs?: number;
}

/** What an instance needs from the host that loaded it. */
export interface InstanceContext {
  readonly capsuleId: string;
  readonly compiled: CompiledCapsule;
  readonly grant: CapsuleGrant;
  readonly limits: CapsuleLimits;
  readonly services: HostServices;
  readonly logger: Logger;
  readonly pool: WorkerPool;
  readonly onClose: (instance: CapsuleInstance) => void;
}

interface Pending {
  readonly id: number;
  readonly fn: string;
  settle(error: unknown, output?: Uint8Array): void;
}

/** One live worker serving an instance; replaced whole when the instance is recycled. */
interface Generation {
  readonly worker: Worker;
  readonly flag: Int32Array;
  readonly replyPort: MessagePort;
  readonly subscriptions: Set<string>;
  /** Files the call in progress holds open; released when it ends. */
  readonly files: OpenFiles;
  pending: Pending | null;
  dead: boolean;
}

const encoder = new TextEncoder();

/**
 * A loaded capsule: one wasm instance in its own worker thread. Calls are serialized (an
 * instance is not reentrant). A call that exceeds its time limit, or is aborted, terminates
 * the worker and the instance is recycled: a fresh worker and a fresh wasm instance. A trap
 * recycles the wasm instance inside the worker. Subscriptions the instance opened are
 * closed whenever it is recycled, since the fresh guest no longer knows their ids.
 *
 * **Effects.** A call's KV writes and publications are buffered and committed through
 * {@link HostServices} only after the call returns successfully (via `commit()` when the
 * port has it, in one log transaction). A call that traps, times out, is aborted, runs out
 * of memory or reports an error leaves no KV write and no publication behind: in an
 * event-sourced kernel a call is one transaction, so replay never sees half a call.
 * File changes through `astrid_fs_*` (a closed write, mkdir, remove, rename) land in the
 * handle's VFS session at once and are not undone either: they are overlay changes a user
 * reviews (`vfs diff`) and drops (`vfs discard`). Files a call left open are released when it
 * ends; an unclosed write fd lands nothing.
 * Subscribing, unsubscribing and polling act at once and are not undone: messages polled
 * by a call that then fails count as delivered. Work that must not lose a message belongs
 * in a `[[handler]]`, whose delivery the kernel acknowledges only when the call succeeds.
 *
 * Close with `close()` or `await using`; idempotent.
 */
export class CapsuleInstance implements AsyncDisposable {
  readonly capsuleId: string;
  /** sha256 of the wasm bytes the instance runs. */
  readonly digest: string;
  readonly #ctx: InstanceContext;
  readonly #port: KernelPort;
  #current: Promise<Generation> | null = null;
  #live: Generation | null = null;
  #tail: Promise<unknown> = Promise.resolve();
  #nextId = 0;
  #closed = false;
  #closing: Promise<void> | null = null;

  /** Use `host.load()`; starts the first worker before returning. */
  constructor(ctx: InstanceContext) {
    this.#ctx = ctx;
    this.capsuleId = ctx.capsuleId;
    this.digest = ctx.compiled.digest;
    this.#port = new KernelPort(ctx.capsuleId, ctx.services, new GrantChecker(ctx.capsuleId, ctx.grant), ctx.logger);
  }

  /** Starts the first generation; rejects with the instantiation error. */
  async start(): Promise<void> {
    await this.#generation();
  }

  /**
   * Calls the exported function `fn` with `input` and returns its output bytes. Errors:
   * `CAPSULE_TIMEOUT`, `CAPSULE_TRAPPED` (trap, stack overflow, abort, ABI misuse),
   * `CAPSULE_MEMORY_EXCEEDED`, `CAPSULE_FAILED` (the capsule set an error; its own code is
   * in `details.capsuleCode`), `WASM_EXPORT_MISSING`, `PAYLOAD_TOO_LARGE`, `CAPSULE_CLOSED`,
   * a commit error from the port, or `signal.reason` when aborted.
   */
  call(fn: string, input: Uint8Array | string = '', options: CallOptions = {}): Promise<Uint8Array> {
    const run = this.#tail.then(() => this.#run(fn, input, options));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #run(fn: string, input: Uint8Array | string, options: CallOptions): Promise<Uint8Array> {
    const { signal } = options;
    if (this.#closed) throw this.#closedError();
    signal?.throwIfAborted();
    if (!this.#ctx.compiled.exports.has(fn)) {
      throw new KernelError(ErrorCode.WasmExportMissing, `Cannot call "${fn}" as capsule "${this.capsuleId}" does not export it`);
    }
    const bytes = typeof input === 'string' ? encoder.encode(input) : input.slice();
    if (bytes.byteLength > AirlockLimits.payloadBytes) {
      throw new KernelError(ErrorCode.PayloadTooLarge, `Cannot call "${fn}" with ${bytes.byteLength} bytes of input as the limit is ${AirlockLimits.payloadBytes}`);
    }
    const gen = await this.#generation();
    signal?.throwIfAborted();
    const timeoutMs = options.timeoutMs ?? this.#ctx.limits.timeoutMs;
    const id = ++this.#nextId;
    return new Promise<Uint8Array>((resolve, reject) => {
      const onAbort = (): void => this.#kill(gen, signal?.reason);
      const timer = setTimeout(() => {
        this.#kill(gen, new KernelError(ErrorCode.CapsuleTimeout, `Capsule "${this.capsuleId}" did not return from "${fn}" within ${timeoutMs} ms`, {
          details: { timeoutMs },
        }));
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      gen.pending = {
        id,
        fn,
        settle: (error, output) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          gen.pending = null;
          if (output === undefined) reject(error);
          else resolve(output);
        },
      };
      gen.worker.postMessage({ type: 'call', id, fn, input: bytes }, transferList(bytes));
    });
  }

  #generation(): Promise<Generation> {
    if (this.#current === null) {
      const next = this.#spawn();
      this.#current = next;
      next.catch(() => {
        if (this.#current === next) this.#current = null;
      });
    }
    return this.#current;
  }

  async #spawn(): Promise<Generation> {
    const { pool } = this.#ctx;
    try {
      return await this.#handshake(await pool.take());
    } finally {
      // Only after this start has been answered: constructing a Worker blocks this thread
      // for about a millisecond, and its boot competes for the CPU.
      setImmediate(() => pool.replenish());
    }
  }

  /** Sends the module to a booted worker and waits until it is instantiated. */
  async #handshake(worker: Worker): Promise<Generation> {
    const { compiled } = this.#ctx;
    const channel = new MessageChannel();
    const flagBuffer = new SharedArrayBuffer(4);
    const gen: Generation = { worker, flag: new Int32Array(flagBuffer), replyPort: channel.port1, subscriptions: new Set(), files: new OpenFiles(), pending: null, dead: false };
    const init: InitMessage = {
      type: 'init',
      capsuleId: this.capsuleId,
      module: compiled.module,
      grant: this.#ctx.grant,
      maxPages: compiled.maxPages,
      memoryBytes: this.#ctx.limits.memoryBytes,
      flag: flagBuffer,
      replyPort: channel.port2,
    };
    await new Promise<void>((resolve, reject) => {
      let ready = false;
      // A start function that never returns must not hang the load.
      const timer = setTimeout(() => {
        const error = new KernelError(ErrorCode.CapsuleTimeout, `Capsule "${this.capsuleId}" did not finish instantiating within ${this.#ctx.limits.startTimeoutMs} ms`);
        reject(error);
        this.#kill(gen, error);
      }, this.#ctx.limits.startTimeoutMs);
      worker.once('exit', () => clearTimeout(timer));
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'initialized') {
          ready = true;
          clearTimeout(timer);
          resolve();
        } else if (msg.type === 'init-failed') {
          clearTimeout(timer);
          this.#retire(gen);
          reject(KernelError.fromWire(msg.error));
        } else {
          this.#onMessage(gen, msg);
        }
      });
      worker.on('error', (error: Error & { code?: string }) => {
        const oom = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
        const code = oom ? ErrorCode.CapsuleMemoryExceeded : ErrorCode.CapsuleTrapped;
        const failure = new KernelError(code, `Capsule "${this.capsuleId}" crashed its worker: ${error.message}`, { cause: error });
        if (!ready) reject(failure);
        this.#kill(gen, failure);
      });
      worker.on('exit', () => {
        if (!ready) reject(new KernelError(ErrorCode.CapsuleTrapped, `Capsule "${this.capsuleId}" worker exited during start`));
        this.#kill(gen, new KernelError(ErrorCode.CapsuleTrapped, `Capsule "${this.capsuleId}" worker exited`));
      });
      worker.postMessage(init, [channel.port2]);
    });
    if (gen.dead) throw new KernelError(ErrorCode.CapsuleTrapped, `Capsule "${this.capsuleId}" worker exited during start`);
    this.#live = gen;
    return gen;
  }

  #onMessage(gen: Generation, msg: FromWorker): void {
    switch (msg.type) {
      case 'host':
        void this.#serve(gen, msg.request);
        return;
      case 'log':
        this.#port.log(msg.level, msg.message);
        return;
      case 'done':
        if (gen.pending?.id === msg.id) void this.#finish(gen, gen.pending, msg.effects, msg.output);
        return;
      case 'failed': {
        if (msg.recycled) this.#port.dropSubscriptions(gen.subscriptions);
        const pending = gen.pending;
        if (pending?.id === msg.id) void gen.files.abandonAll().then(() => pending.settle(KernelError.fromWire(msg.error)));
        return;
      }
      default:
        return;
    }
  }

  async #finish(gen: Generation, pending: Pending, effects: CallEffects, output: Uint8Array): Promise<void> {
    try {
      await gen.files.abandonAll();
      await this.#port.commit(effects);
      pending.settle(null, output);
    } catch (error) {
      pending.settle(error);
    }
  }

  async #serve(gen: Generation, request: BridgeRequest): Promise<void> {
    let reply: BridgeReply;
    try {
      reply = { ok: true, value: await this.#port.answer(request, gen.subscriptions, () => gen.dead, gen.files) };
    } catch (error) {
      this.#port.noteFailure(request, error);
      reply = { ok: false, error: toWire(error) };
    }
    if (gen.dead) return;
    gen.replyPort.postMessage(reply);
    Atomics.store(gen.flag, FLAG, 1);
    Atomics.notify(gen.flag, FLAG);
  }

  /** Ends a generation for good: rejects its call, terminates its worker, drops its subscriptions. */
  #kill(gen: Generation, reason: unknown): void {
    if (gen.dead) return;
    this.#retire(gen);
    gen.pending?.settle(reason);
    if (this.#closed) return;
    this.#ctx.logger.warn('capsule instance recycled', { capsuleId: this.capsuleId, reason: toWire(reason).code });
    // Respawn at once (from the pool's spare) so the next call finds a warm instance.
    this.#generation().catch(() => undefined);
  }

  #retire(gen: Generation): void {
    gen.dead = true;
    this.#port.dropSubscriptions(gen.subscriptions);
    void gen.files.abandonAll();
    gen.replyPort.close();
    void gen.worker.terminate();
    // Forget it so that the next call starts a fresh generation.
    if (this.#live === gen) {
      this.#live = null;
      this.#current = null;
    }
  }

  #closedError(): KernelError {
    return new KernelError(ErrorCode.CapsuleClosed, `Cannot call capsule "${this.capsuleId}" as its instance is closed`);
  }

  /** Terminates the worker; a call in flight rejects with `CAPSULE_CLOSED`. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      const current = this.#current;
      this.#current = null;
      const gen = await current?.catch(() => null);
      if (gen != null && !gen.dead) {
        this.#kill(gen, this.#closedError());
        await gen.worker.terminate();
      }
      this.#ctx.onClose(this);
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
