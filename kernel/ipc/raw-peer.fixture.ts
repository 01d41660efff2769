// Test fixture (not part of the kernel): a bare socket speaking frames by hand, to send what a
// well-behaved client never would.
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { encodeFrame, FrameDecoder } from './frames.ts';

/** A raw connection to an RPC socket. Disposing destroys it. */
export interface RawPeer extends AsyncDisposable {
  readonly socket: Socket;
  /** Sends one message as a frame. */
  send(message: unknown): void;
  /** Resolves the next frame received, or null once the socket is closed. */
  next(): Promise<unknown>;
  /** Resolves when the socket is closed. */
  readonly closed: Promise<void>;
}

/** Connects a raw peer to `path`. */
export async function rawPeer(path: string): Promise<RawPeer> {
  const socket = createConnection({ path });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  const decoder = new FrameDecoder();
  const frames: unknown[] = [];
  const waiters: ((frame: unknown) => void)[] = [];
  let ended = false;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('data', (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) {
      const waiter = waiters.shift();
      if (waiter === undefined) frames.push(frame);
      else waiter(frame);
    }
  });
  void closed.then(() => {
    ended = true;
    for (const waiter of waiters.splice(0)) waiter(null);
  });
  return {
    socket,
    closed,
    send: (message) => socket.write(encodeFrame(message)),
    next: () => {
      if (frames.length > 0) return Promise.resolve(frames.shift());
      if (ended) return Promise.resolve(null);
      return new Promise((resolve) => waiters.push(resolve));
    },
    async [Symbol.asyncDispose]() {
      socket.destroy();
      await closed;
    },
  };
}
