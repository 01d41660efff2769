import { chmod, lstat, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { ErrorCode, KernelError } from '../errors/index.ts';
import { silentLogger, type Logger } from '../logger/index.ts';
import type { OwnerRole } from './messages.ts';
import { ensurePrivateDir } from './run-dir.ts';
import { ServerConnection, type RpcHandler } from './server-connection.ts';

type ConnectionOptions = ConstructorParameters<typeof ServerConnection>[3];

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH_BYTES = 107;

/** Options of {@link serveSocket}. */
export interface ServeSocketOptions {
  readonly logger?: Logger;
  /** The role announced to clients in the hello; default `daemon`. */
  readonly role?: OwnerRole;
  /** A peer that sends no hello within this is dropped; default 5000 ms. */
  readonly handshakeTimeoutMs?: number;
}

/** Options of {@link RpcServer.close}. */
export interface CloseServerOptions {
  /** How long in-flight calls may still run before they are aborted; default 5000 ms. */
  readonly graceMs?: number;
}

/**
 * A listening RPC socket. `close()` (also `await using`) is idempotent and never throws.
 */
export interface RpcServer extends AsyncDisposable {
  /** The socket file path. */
  readonly path: string;
  /** Connections currently open. */
  readonly connections: number;
  /** Bytes queued in user space across all connections (what a slow client costs us). */
  bufferedBytes(): number;
  /**
   * Stops accepting, sends `bye` to every client, ends streams with CONNECTION_LOST, lets
   * in-flight calls finish for up to `graceMs` then answers the rest with CONNECTION_LOST and
   * aborts their handlers, waits (up to `graceMs` more) for handlers that honour their signal,
   * closes every socket and unlinks the socket file.
   */
  close(options?: CloseServerOptions): Promise<void>;
}

/**
 * Serves `handler` on a unix socket at `socketPath` speaking the framed JSON protocol (see
 * messages.ts). Only the holder of the home's owner lock may call this: a socket file already
 * at the path is taken as stale and unlinked. The parent directory is created with mode 0700 and
 * the socket file gets mode 0600.
 *
 * Throws KernelError INVALID_ARGUMENT when the path is too long for a unix socket, HOME_INVALID
 * when the directory is unusable or a non-socket file sits at the path, INTERNAL when listening
 * fails.
 */
export async function serveSocket(
  socketPath: string,
  handler: RpcHandler,
  options: ServeSocketOptions = {},
): Promise<RpcServer> {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new KernelError(
      ErrorCode.InvalidArgument,
      `Cannot serve on "${socketPath}" as unix socket paths are limited to ${MAX_SOCKET_PATH_BYTES} bytes`,
    );
  }
  await ensurePrivateDir(dirname(socketPath));
  await removeStaleSocket(socketPath);
  const logger = (options.logger ?? silentLogger).child('ipc');
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new KernelError(ErrorCode.Internal, `Cannot serve on "${socketPath}" as listening failed`, { cause: error })),
    );
    server.listen({ path: socketPath }, () => resolve());
  });
  try {
    await chmod(socketPath, 0o600);
  } catch (error) {
    server.close();
    throw new KernelError(ErrorCode.HomeInvalid, `Cannot restrict "${socketPath}" to its owner`, { cause: error });
  }
  const connectionOptions = {
    info: { pid: process.pid, role: options.role ?? 'daemon' },
    logger,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5_000,
  } as const;
  return new SocketRpcServer(socketPath, server, handler, connectionOptions);
}

class SocketRpcServer implements RpcServer {
  readonly path: string;
  readonly #server: Server;
  readonly #logger: Logger;
  readonly #connections = new Set<ServerConnection>();
  /** Every accepted socket not yet closed, whether or not it became a connection. */
  readonly #sockets = new Set<Socket>();
  readonly #serverClosed: Promise<void>;
  #nextPeer = 1;
  #closing: Promise<void> | null = null;

  constructor(path: string, server: Server, handler: RpcHandler, options: ConnectionOptions) {
    const { logger } = options;
    this.path = path;
    this.#server = server;
    this.#logger = logger;
    this.#serverClosed = new Promise((resolve) => server.once('close', () => resolve()));
    server.on('error', (error: NodeJS.ErrnoException) => logger.error('Socket server failed', { errno: error.code ?? null }));
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      if (this.#closing !== null) {
        socket.destroy();
        return;
      }
      const connection = new ServerConnection(this.#nextPeer++, socket, handler, options);
      this.#connections.add(connection);
      void connection.closed.then(() => this.#connections.delete(connection));
    });
  }

  get connections(): number {
    return this.#connections.size;
  }

  bufferedBytes(): number {
    let total = 0;
    for (const connection of this.#connections) total += connection.bufferedBytes;
    return total;
  }

  close(options: CloseServerOptions = {}): Promise<void> {
    this.#closing ??= this.#shutdown(options.graceMs ?? 5_000);
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #shutdown(graceMs: number): Promise<void> {
    this.#server.close();
    const connections = [...this.#connections];
    try {
      for (const connection of connections) connection.beginShutdown();
      await withinMs(Promise.all(connections.map((c) => c.callsSettled())), graceMs);
      for (const connection of connections) connection.abandonCalls();
      await withinMs(Promise.all(connections.map((c) => c.allSettled())), graceMs);
    } finally {
      for (const connection of connections) connection.finish();
      // A peer that never reads would keep its socket open: do not wait for it past the grace.
      const ended = await withinMs(Promise.all(connections.map((c) => c.closed)), graceMs);
      if (!ended) for (const connection of connections) connection.destroy();
      // The server only says 'close' once every accepted socket has closed: close any left.
      for (const socket of this.#sockets) socket.destroy();
      if (!(await withinMs(this.#serverClosed, graceMs))) {
        this.#logger.warn('Socket server did not close in time', { path: this.path, sockets: this.#sockets.size });
      }
      await unlink(this.path).catch(() => undefined);
      this.#logger.debug('Socket server closed', { path: this.path });
    }
  }
}

async function removeStaleSocket(socketPath: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(socketPath)).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) {
    throw new KernelError(ErrorCode.HomeInvalid, `Cannot serve on "${socketPath}" as a file that is not a socket is there`);
  }
  await unlink(socketPath);
}

/** Waits for `promise` at most `ms`: true if it settled in time. */
async function withinMs(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
