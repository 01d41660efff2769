import type { Socket } from 'node:net';
import * as v from 'valibot';
import { ErrorCode, isKernelError, KernelError, type WireError } from '../errors/index.ts';
import type { Logger } from '../logger/index.ts';
import { encodeFrame, FrameDecoder } from './frames.ts';
import { ClientHelloSchema, ClientMessageSchema, PROTOCOL_VERSION, type ServerInfo } from './messages.ts';

/** What a handler learns about the request it serves. */
export interface RpcContext {
  /** Fires when the client cancels, disconnects, or the server gives up on the request at close. */
  readonly signal: AbortSignal;
  /** The connection the request came from; ids are unique within one server. */
  readonly peer: { readonly id: number };
}

/**
 * What a server exposes, generic over operation names and JSON values. Both methods receive
 * unvalidated `args` (JSON from the peer) and must validate them. An unknown `op` should throw
 * a KernelError; a KernelError reaches the client with its code, anything else becomes INTERNAL
 * with a generic message (and is logged).
 */
export interface RpcHandler {
  /** Answers one request with one JSON value (`undefined` is sent as null). */
  call(op: string, args: unknown, ctx: RpcContext): Promise<unknown>;
  /** Answers one request with a sequence of JSON values, pulled only as fast as the client reads. */
  stream(op: string, args: unknown, ctx: RpcContext): AsyncIterable<unknown>;
}

interface Request {
  readonly kind: 'call' | 'stream';
  readonly op: string;
  readonly controller: AbortController;
  /** Set once nothing more may be sent for this id (cancelled, answered at shutdown, or the peer left). */
  silenced: boolean;
  settled: Promise<void>;
}

/** One accepted socket: handshake, request dispatch, flow control and teardown. Internal to the server. */
export class ServerConnection {
  readonly id: number;
  readonly #socket: Socket;
  readonly #handler: RpcHandler;
  readonly #info: ServerInfo;
  readonly #logger: Logger;
  readonly #decoder = new FrameDecoder();
  readonly #requests = new Map<number, Request>();
  readonly #closed: Promise<void>;
  #handshaken = false;
  #ending = false;
  #leaving = false;
  #drain: Promise<void> | null = null;
  #corked = false;
  #handshakeTimer: NodeJS.Timeout | null;

  constructor(
    id: number,
    socket: Socket,
    handler: RpcHandler,
    options: { readonly info: ServerInfo; readonly logger: Logger; readonly handshakeTimeoutMs: number },
  ) {
    const { info, logger } = options;
    this.id = id;
    this.#socket = socket;
    this.#handler = handler;
    this.#info = info;
    this.#logger = logger;
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    this.#handshakeTimer = setTimeout(() => {
      this.#logger.debug('Dropping a peer that sent no hello', { peer: id });
      socket.destroy();
    }, options.handshakeTimeoutMs);
    this.#handshakeTimer.unref();
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#updateFlow());
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.#logger.debug('Peer socket failed', { peer: id, errno: error.code ?? null });
    });
    socket.once('close', () => this.#onClose());
  }

  /** Bytes queued in user space for this peer. */
  get bufferedBytes(): number {
    return this.#socket.writableLength;
  }

  /** Resolves once the socket is closed. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Resolves once every call (not stream) in flight has settled. */
  callsSettled(): Promise<void> {
    return Promise.all([...this.#requests.values()].filter((r) => r.kind === 'call').map((r) => r.settled)).then(
      () => undefined,
    );
  }

  /** Resolves once every handler of this connection has settled. */
  allSettled(): Promise<void> {
    return Promise.all([...this.#requests.values()].map((r) => r.settled)).then(() => undefined);
  }

  /** Starts shutdown: sends `bye`, ends every stream with CONNECTION_LOST, refuses new requests. */
  beginShutdown(): void {
    this.#leaving = true;
    if (!this.#handshaken) {
      this.#socket.destroy();
      return;
    }
    this.#send({ t: 'bye', started: [...this.#requests.keys()] });
    for (const [id, request] of this.#requests) {
      if (request.kind === 'stream') this.#giveUp(id, request, 'Cannot continue the stream as the owner is shutting down');
    }
  }

  /** Answers every call still in flight with CONNECTION_LOST and aborts its handler. */
  abandonCalls(): void {
    for (const [id, request] of this.#requests) {
      this.#giveUp(id, request, `Cannot complete "${request.op}" as the owner is shutting down`);
    }
  }

  /** Flushes what is queued, then closes the socket. */
  end(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#uncork();
    this.#socket.end(() => this.#socket.destroy());
  }

  /**
   * Ends a connection the owner is leaving: flushes what is queued (the `bye` first) and
   * half-closes, but keeps reading until the client closes its side. Destroying the socket
   * at once could make the client's next write fail (EPIPE) before it read the `bye`, and it
   * would then take a request that never started for one that might have run. The server
   * destroys a client that does not close within its grace.
   */
  finish(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#uncork();
    this.#socket.end();
  }

  /** Closes the socket at once. */
  destroy(): void {
    this.#socket.destroy();
  }

  #giveUp(id: number, request: Request, message: string): void {
    if (request.silenced) return;
    request.silenced = true;
    this.#send({ t: 'error', id, error: { code: ErrorCode.ConnectionLost, message } });
    request.controller.abort(new KernelError(ErrorCode.ConnectionLost, message));
  }

  #onData(chunk: Buffer): void {
    let frames: unknown[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      this.#violation(error);
      return;
    }
    for (const frame of frames) {
      if (this.#ending) return;
      if (this.#handshaken) this.#onMessage(frame);
      else this.#onHello(frame);
    }
  }

  #onHello(frame: unknown): void {
    const hello = v.safeParse(ClientHelloSchema, frame);
    if (!hello.success) {
      this.#violation(new KernelError(ErrorCode.ProtocolViolation, 'Cannot accept a peer as its first frame is not a hello'));
      return;
    }
    if (this.#handshakeTimer !== null) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = null;
    const received = hello.output.protocol;
    if (received !== PROTOCOL_VERSION) {
      const mismatch = new KernelError(
        ErrorCode.ProtocolMismatch,
        `Cannot talk protocol ${received} as this owner speaks protocol ${PROTOCOL_VERSION}`,
        { details: { expected: PROTOCOL_VERSION, received } },
      );
      this.#send({ t: 'error', error: mismatch.toJSON() });
      this.end();
      return;
    }
    this.#handshaken = true;
    this.#send({ t: 'hello', protocol: PROTOCOL_VERSION, server: this.#info });
  }

  #onMessage(frame: unknown): void {
    const parsed = v.safeParse(ClientMessageSchema, frame);
    if (!parsed.success) {
      this.#violation(new KernelError(ErrorCode.ProtocolViolation, 'Cannot accept a frame as it is not a valid message'));
      return;
    }
    const message = parsed.output;
    if (message.t === 'cancel') {
      const request = this.#requests.get(message.id);
      if (request === undefined || request.silenced) return; // already answered: the race is expected
      request.silenced = true;
      request.controller.abort(new KernelError(ErrorCode.Aborted, 'Cannot continue the request as the client cancelled it'));
      return;
    }
    if (this.#requests.has(message.id)) {
      this.#violation(
        new KernelError(ErrorCode.ProtocolViolation, `Cannot start request ${message.id} as that id is in flight`),
      );
      return;
    }
    if (this.#leaving) {
      // Never started, so the client may send it again to the next owner.
      const error = { code: ErrorCode.ConnectionLost, message: `Cannot start "${message.op}" as the owner is shutting down`, details: { retryable: true } };
      this.#send({ t: 'error', id: message.id, error });
      return;
    }
    const request: Request = {
      kind: message.t,
      op: message.op,
      controller: new AbortController(),
      silenced: false,
      settled: Promise.resolve(),
    };
    this.#requests.set(message.id, request);
    const run = message.t === 'call' ? this.#runCall(message.id, request, message.args) : this.#runStream(message.id, request, message.args);
    request.settled = run
      .catch((error: unknown) => this.#logger.error('Cannot answer a request', { op: message.op, error: String(error) }))
      .finally(() => {
        this.#requests.delete(message.id);
      });
  }

  async #runCall(id: number, request: Request, args: unknown): Promise<void> {
    const ctx: RpcContext = { signal: request.controller.signal, peer: { id: this.id } };
    let frame: Buffer;
    try {
      const value = await this.#handler.call(request.op, args, ctx);
      frame = encodeFrame({ t: 'result', id, value: value ?? null });
    } catch (error) {
      if (!request.silenced) this.#send({ t: 'error', id, error: this.#toWire(error, request.op) });
      return;
    }
    if (!request.silenced) this.#write(frame);
  }

  async #runStream(id: number, request: Request, args: unknown): Promise<void> {
    const signal = request.controller.signal;
    const ctx: RpcContext = { signal, peer: { id: this.id } };
    try {
      for await (const value of this.#handler.stream(request.op, args, ctx)) {
        if (request.silenced) break;
        // Backpressure: the next item is pulled only once the socket has room for it.
        if (!this.#write(encodeFrame({ t: 'item', id, value: value ?? null }))) await this.#drained(signal);
        if (request.silenced) break;
      }
      if (!request.silenced) this.#send({ t: 'end', id });
    } catch (error) {
      if (!request.silenced) this.#send({ t: 'error', id, error: this.#toWire(error, request.op) });
    }
  }

  /** Resolves when the socket drains or closes, or `signal` aborts. */
  #drained(signal: AbortSignal): Promise<void> {
    this.#uncork();
    this.#drain ??= new Promise<void>((resolve) => {
      const done = (): void => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        this.#drain = null;
        resolve();
      };
      this.#socket.on('drain', done);
      this.#socket.on('close', done);
    });
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const onAbort = (): void => resolve();
      signal.addEventListener('abort', onAbort, { once: true });
      void this.#drain?.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  #toWire(error: unknown, op: string): WireError {
    if (isKernelError(error)) return error.toJSON();
    this.#logger.error('Handler failed', {
      op,
      peer: this.id,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return { code: ErrorCode.Internal, message: `Cannot complete "${op}" as the owner failed` };
  }

  #send(message: object): void {
    this.#write(encodeFrame(message));
  }

  /**
   * Writes a frame; false when the socket is full (or gone) and the writer should wait. Frames
   * written in one turn of the event loop are corked into a single writev.
   */
  #write(frame: Buffer): boolean {
    if (this.#socket.destroyed || this.#socket.writableEnded) return false;
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(this.#uncork);
    }
    const ok = this.#socket.write(frame);
    if (!ok) this.#updateFlow();
    return ok;
  }

  readonly #uncork = (): void => {
    if (!this.#corked) return;
    this.#corked = false;
    this.#socket.uncork();
  };

  /** Stops reading requests while replies are backed up, so a peer that does not read cannot grow our memory. */
  #updateFlow(): void {
    if (this.#socket.writableNeedDrain) this.#socket.pause();
    else if (!this.#ending) this.#socket.resume();
  }

  #violation(error: unknown): void {
    const wire = isKernelError(error) ? error.toJSON() : { code: ErrorCode.ProtocolViolation, message: 'Cannot decode a frame' };
    this.#logger.warn('Closing a peer that broke the protocol', { peer: this.id, code: wire.code, reason: wire.message });
    this.#send({ t: 'error', error: wire });
    this.#silenceAll(error);
    this.end();
  }

  #silenceAll(reason: unknown): void {
    for (const request of this.#requests.values()) {
      request.silenced = true;
      request.controller.abort(reason);
    }
  }

  #onClose(): void {
    if (this.#handshakeTimer !== null) clearTimeout(this.#handshakeTimer);
    this.#ending = true;
    this.#silenceAll(new KernelError(ErrorCode.ConnectionLost, 'Cannot answer the client as it disconnected'));
  }
}
