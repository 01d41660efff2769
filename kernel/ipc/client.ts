import { createConnection, type Socket } from 'node:net';
import * as v from 'valibot';
import { ErrorCode, isKernelError, KernelError } from '../errors/index.ts';
import { ClientStream, type StreamHost } from './client-stream.ts';
import { encodeFrame, FrameDecoder } from './frames.ts';
import { errorFromWire, MAX_OP_LENGTH, PROTOCOL_VERSION, ServerHelloSchema, ServerMessageSchema, type ServerInfo } from './messages.ts';

/** Options of {@link connectSocket}. */
export interface ConnectSocketOptions {
  /** Aborts connecting and the handshake (not the connection once made). */
  readonly signal?: AbortSignal;
  /** Bound on connecting plus the handshake; default 5000 ms. */
  readonly timeoutMs?: number;
}

/** Options of {@link RpcClient.call}. */
export interface CallOptions {
  /** Rejects the call with `signal.reason` and tells the server to abort its handler. */
  readonly signal?: AbortSignal;
}

/** Options of {@link RpcClient.stream}. */
export interface StreamOptions extends CallOptions {
  /** Items buffered before the connection stops reading from the socket; default 1024. */
  readonly highWaterMark?: number;
}

/**
 * A connection to the owner of a home. Requests are multiplexed over one socket; note that a
 * stream whose consumer stalls pauses the whole connection (other requests wait behind it).
 *
 * When the connection is lost every pending call rejects and every stream throws KernelError
 * CONNECTION_LOST (or PROTOCOL_VIOLATION if the server broke the protocol). `close()` (also
 * `await using`) is idempotent and never throws.
 */
export interface RpcClient extends AsyncDisposable {
  /** The server's pid and role, from its hello. */
  readonly server: ServerInfo;
  /** Resolves (never rejects) once the connection is closed, by either side. */
  readonly closed: Promise<void>;
  /**
   * Runs `op` on the server and resolves its JSON result. `args` must be JSON (undefined is
   * sent as null). Rejects with the server's KernelError, PAYLOAD_TOO_LARGE or INVALID_ARGUMENT
   * when `op` or `args` cannot be sent, CONNECTION_LOST, or `signal.reason` when aborted.
   */
  call(op: string, args: unknown, options?: CallOptions): Promise<unknown>;
  /**
   * Runs a streaming `op`: each `for await` over the result starts one request. Leaving the
   * loop early (break, throw) or aborting `signal` cancels it on the server. Throws the same
   * errors as {@link RpcClient.call}.
   */
  stream(op: string, args: unknown, options?: StreamOptions): AsyncIterable<unknown>;
  /** Closes the connection; pending requests fail with CONNECTION_LOST. */
  close(): Promise<void>;
}

/**
 * Connects to an RPC socket and performs the handshake. Resolves null when nothing listens
 * there (no socket file, or a stale one: ENOENT, ECONNREFUSED).
 *
 * Throws KernelError PROTOCOL_MISMATCH when the server speaks another protocol revision,
 * PROTOCOL_VIOLATION when it answers garbage, TIMEOUT past `timeoutMs`, CONNECTION_LOST when
 * the connection fails or closes during the handshake, or `signal.reason` when aborted.
 */
export function connectSocket(socketPath: string, options: ConnectSocketOptions = {}): Promise<RpcClient | null> {
  const { signal } = options;
  const timeoutMs = options.timeoutMs ?? 5_000;
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const socket = createConnection({ path: socketPath });
    const decoder = new FrameDecoder();
    let connected = false;
    let settled = false;
    const settle = (outcome: () => void, keepSocket = false): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (!keepSocket) socket.destroy();
      outcome();
    };
    const fail = (error: unknown): void => settle(() => reject(error));
    const onAbort = (): void => fail(signal?.reason);
    const onError = (error: NodeJS.ErrnoException): void => {
      if (!connected && (error.code === 'ENOENT' || error.code === 'ECONNREFUSED')) {
        settle(() => resolve(null));
        return;
      }
      fail(lost(`Cannot connect to "${socketPath}" as the socket failed`, error, { retryable: true }));
    };
    const onClose = (): void => fail(lost(`Cannot connect to "${socketPath}" as the owner closed the connection`, undefined, { retryable: true }));
    const onData = (chunk: Buffer): void => {
      let frames: unknown[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        fail(error);
        return;
      }
      const [first, ...rest] = frames;
      if (first === undefined) return;
      const hello = v.safeParse(ServerHelloSchema, first);
      if (!hello.success) {
        fail(new KernelError(ErrorCode.ProtocolViolation, `Cannot connect to "${socketPath}" as its hello is invalid`));
      } else if (hello.output.t === 'error') {
        fail(errorFromWire(hello.output.error));
      } else if (hello.output.protocol !== PROTOCOL_VERSION) {
        const received = hello.output.protocol;
        fail(
          new KernelError(
            ErrorCode.ProtocolMismatch,
            `Cannot talk protocol ${PROTOCOL_VERSION} as the owner speaks protocol ${received}`,
            { details: { expected: PROTOCOL_VERSION, received } },
          ),
        );
      } else {
        const info = hello.output.server;
        settle(() => resolve(new SocketRpcClient(socket, decoder, info, rest)), true);
      }
    };
    const timer = setTimeout(
      () =>
        fail(new KernelError(ErrorCode.Timeout, `Cannot connect to "${socketPath}" as the owner did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('data', onData);
    socket.once('connect', () => {
      connected = true;
      socket.write(encodeFrame({ t: 'hello', protocol: PROTOCOL_VERSION }));
    });
  });
}

type PendingCall = { readonly resolve: (value: unknown) => void; readonly reject: (error: unknown) => void };

class SocketRpcClient implements RpcClient {
  readonly server: ServerInfo;
  readonly closed: Promise<void>;
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  readonly #calls = new Map<number, PendingCall>();
  /** The request ids the owner said it had started when it said `bye`. */
  #started: ReadonlySet<number> = new Set();
  readonly #streams = new Map<number, ClientStream>();
  readonly #overfull = new Set<ClientStream>();
  #nextId = 1;
  #failure: KernelError | null = null;
  #leaving = false;

  constructor(socket: Socket, decoder: FrameDecoder, server: ServerInfo, early: unknown[]) {
    this.#socket = socket;
    this.#decoder = decoder;
    this.server = server;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined); // the 'close' that follows does the work
    socket.once('close', () => this.#onClose());
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    for (const frame of early) this.#onFrame(frame);
  }

  call(op: string, args: unknown, options: CallOptions = {}): Promise<unknown> {
    const { signal } = options;
    return new Promise((resolve, reject) => {
      signal?.throwIfAborted();
      const id = this.#send('call', op, args);
      const onAbort = (): void => {
        if (!this.#calls.delete(id)) return;
        this.#cancel(id);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      this.#calls.set(id, {
        resolve: (value) => (done(), resolve(value)),
        reject: (error) => (done(), reject(error)),
      });
    });
  }

  stream(op: string, args: unknown, options: StreamOptions = {}): AsyncIterable<unknown> {
    const highWaterMark = Math.max(1, options.highWaterMark ?? 1024);
    const host: StreamHost = {
      start: (stream) => {
        stream.id = this.#send('stream', op, args);
        this.#streams.set(stream.id, stream);
      },
      cancel: (stream) => this.#cancelStream(stream),
      overfull: (stream, overfull) => this.#setOverfull(stream, overfull),
    };
    return { [Symbol.asyncIterator]: () => new ClientStream(host, highWaterMark, options.signal) };
  }

  /** Forgets a stream the consumer left and tells the server to stop it. */
  #cancelStream(stream: ClientStream): void {
    if (this.#streams.delete(stream.id)) this.#cancel(stream.id);
    this.#setOverfull(stream, false);
  }

  /** Stops reading the socket while any stream holds more than its high-water mark. */
  #setOverfull(stream: ClientStream, overfull: boolean): void {
    if (overfull) this.#overfull.add(stream);
    else this.#overfull.delete(stream);
    if (this.#overfull.size > 0) this.#socket.pause();
    else if (!this.#socket.destroyed) this.#socket.resume();
  }

  close(): Promise<void> {
    this.#failure ??= lost('Cannot reach the owner as the client closed the connection');
    this.#socket.destroy();
    return this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Sends a request frame and returns its id; throws when the connection cannot take it. */
  #send(t: 'call' | 'stream', op: string, args: unknown): number {
    // Refused here, the request was never sent: after a `bye` the next owner may take it.
    if (this.#leaving) throw lost(`Cannot start "${op}" as the owner is shutting down`, undefined, { retryable: true });
    if (this.#failure !== null) throw this.#failure;
    if (op.length === 0 || op.length > MAX_OP_LENGTH) {
      throw new KernelError(ErrorCode.InvalidArgument, `Cannot call "${op.slice(0, 64)}" as operation names have 1 to ${MAX_OP_LENGTH} characters`);
    }
    const id = this.#nextId++;
    this.#socket.write(encodeFrame({ t, id, op, args: args ?? null }));
    return id;
  }

  #cancel(id: number): void {
    if (this.#failure === null && !this.#socket.destroyed) this.#socket.write(encodeFrame({ t: 'cancel', id }));
  }

  #onData(chunk: Buffer): void {
    let frames: unknown[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      this.#abandon(isKernelError(error) ? error : lost('Cannot decode a frame from the owner', error));
      return;
    }
    for (const frame of frames) {
      if (this.#socket.destroyed) return;
      this.#onFrame(frame);
    }
  }

  #onFrame(frame: unknown): void {
    const parsed = v.safeParse(ServerMessageSchema, frame);
    if (!parsed.success) {
      this.#abandon(new KernelError(ErrorCode.ProtocolViolation, 'Cannot accept a frame from the owner as it is not a valid message'));
      return;
    }
    const message = parsed.output;
    switch (message.t) {
      case 'result': {
        const call = this.#calls.get(message.id);
        this.#calls.delete(message.id);
        call?.resolve(message.value);
        return;
      }
      case 'item':
        this.#streams.get(message.id)?.push(message.value);
        return;
      case 'end':
        this.#takeStream(message.id)?.end();
        return;
      case 'error': {
        const error = errorFromWire(message.error);
        if (message.id === undefined) {
          this.#abandon(error);
          return;
        }
        const call = this.#calls.get(message.id);
        if (call !== undefined) {
          this.#calls.delete(message.id);
          call.reject(error);
        } else {
          this.#takeStream(message.id)?.fail(error);
        }
        return;
      }
      case 'bye':
        this.#leaving = true;
        this.#started = new Set(message.started);
        return;
    }
  }

  #takeStream(id: number): ClientStream | undefined {
    const stream = this.#streams.get(id);
    if (stream === undefined) return undefined;
    this.#streams.delete(id);
    this.#setOverfull(stream, false);
    return stream;
  }

  /** Fails the whole connection with `error` and closes it. */
  #abandon(error: KernelError): void {
    this.#failure ??= error;
    this.#socket.destroy();
  }

  #onClose(): void {
    const byOwner = this.#failure === null;
    const failure =
      this.#failure ??
      lost(this.#leaving ? 'Cannot reach the owner as it shut down' : 'Cannot reach the owner as the connection closed');
    this.#failure = failure;
    // After a `bye`, a call the owner did not list as started was never read: safe to resend.
    const unstarted = lost('Cannot start the call as the owner shut down first', undefined, { retryable: true });
    for (const [id, call] of this.#calls) call.reject(byOwner && this.#leaving && !this.#started.has(id) ? unstarted : failure);
    for (const stream of this.#streams.values()) stream.fail(failure);
    this.#calls.clear();
    this.#streams.clear();
    this.#overfull.clear();
  }
}

/** A CONNECTION_LOST error; `retryable` marks a request that certainly never started. */
function lost(message: string, cause?: unknown, details?: { retryable: true }): KernelError {
  return new KernelError(ErrorCode.ConnectionLost, message, { ...(cause === undefined ? {} : { cause }), ...(details === undefined ? {} : { details }) });
}
