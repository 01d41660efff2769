import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCode, isKernelError, KernelError } from '../errors/index.ts';
import { tempDir } from '../../test/support/temp-dir.ts';
import { connectSocket, type RpcClient } from './client.ts';
import { encodeFrame, FrameDecoder } from './frames.ts';
import type { RpcContext, RpcHandler } from './server-connection.ts';
import { serveSocket } from './server.ts';

/** A frame a hand-written owner receives after the hello. */
interface RawFrame {
  readonly t: string;
  readonly id: number;
}

/**
 * A hand-written owner listening on `path`: it answers the hello as protocol 1 with `role`
 * and hands every later frame to `onFrame`. Dispose it to close it.
 */
async function fakeOwner(path: string, role: 'daemon' | 'command', onFrame: (socket: Socket, frame: RawFrame) => void): Promise<AsyncDisposable> {
  const fake = createServer((socket) => {
    const decoder = new FrameDecoder();
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      for (const frame of decoder.push(chunk)) {
        const raw = frame as RawFrame;
        if (raw.t === 'hello') socket.write(encodeFrame({ t: 'hello', protocol: 1, server: { pid: 1, role } }));
        else onFrame(socket, raw);
      }
    });
  });
  fake.listen(path);
  await once(fake, 'listening');
  return {
    [Symbol.asyncDispose]: async () => {
      fake.close();
      await once(fake, 'close');
    },
  };
}

function handler(overrides: Partial<RpcHandler> = {}): RpcHandler {
  return {
    call: async (op) => {
      throw new KernelError(ErrorCode.NotFound, `Cannot run "${op}" as no such operation exists`, { details: { op } });
    },
    // eslint-disable-next-line require-yield
    stream: async function* (op) {
      throw new KernelError(ErrorCode.NotFound, `Cannot stream "${op}" as no such operation exists`);
    },
    ...overrides,
  };
}

async function mustConnect(path: string): Promise<RpcClient> {
  const client = await connectSocket(path);
  assert.ok(client, 'a server listens');
  return client;
}

/** A promise with its resolver (Node 20 has no Promise.withResolvers). */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Resolves with the abort reason once `signal` fires. */
function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}

test('RpcClient.call() returns the handler result and passes args and the peer', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  const seen: { op: string; args: unknown; peer: number }[] = [];
  await using server = await serveSocket(path, handler({
    call: async (op, args, ctx) => {
      seen.push({ op, args, peer: ctx.peer.id });
      return op === 'nothing' ? undefined : { echo: args };
    },
  }));
  await using client = await mustConnect(path);

  const echoed = await client.call('echo', { a: [1, 'two', null] });
  const nothing = await client.call('nothing', undefined);

  assert.deepEqual(echoed, { echo: { a: [1, 'two', null] } });
  assert.equal(nothing, null);
  assert.deepEqual(seen.map((s) => [s.op, s.args]), [['echo', { a: [1, 'two', null] }], ['nothing', null]]);
  assert.equal(seen[0]?.peer, seen[1]?.peer);
  assert.equal(client.server.pid, process.pid);
  assert.equal(client.server.role, 'daemon');
  assert.equal(server.connections, 1);
});

test('RpcClient.call() runs concurrent calls and matches each answer to its call', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  await using _server = await serveSocket(path, handler({
    call: async (_op, args) => {
      const n = args as number;
      await new Promise((resolve) => setTimeout(resolve, (n * 7) % 13));
      return n * 2;
    },
  }));
  await using client = await mustConnect(path);

  const results = await Promise.all(Array.from({ length: 50 }, (_, n) => client.call('double', n)));

  assert.deepEqual(results, Array.from({ length: 50 }, (_, n) => n * 2));
});

test('RpcClient.call() rejects with the code, message and details of a KernelError from the handler', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  await using _server = await serveSocket(path, handler());
  await using client = await mustConnect(path);

  await assert.rejects(client.call('frobnicate', {}), (error) => {
    assert.ok(isKernelError(error, ErrorCode.NotFound));
    assert.equal(error.message, 'Cannot run "frobnicate" as no such operation exists');
    assert.deepEqual(error.details, { op: 'frobnicate' });
    return true;
  });
});

test('RpcClient.call() rejects with INTERNAL and a generic message when the handler throws a plain error', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  const logged: string[] = [];
  const logger = {
    debug() {},
    info() {},
    warn() {},
    error: (message: string, fields?: Readonly<Record<string, unknown>>) => logged.push(`${message} ${String(fields?.['error'])}`),
    child() {
      return logger;
    },
  };
  await using _server = await serveSocket(path, handler({ call: async () => { throw new Error('secret internals'); } }), { logger });
  await using client = await mustConnect(path);

  await assert.rejects(client.call('boom', null), (error) => {
    assert.ok(isKernelError(error, ErrorCode.Internal));
    assert.equal(error.message, 'Cannot complete "boom" as the owner failed');
    return true;
  });
  assert.deepEqual(logged, ['Handler failed Error: secret internals']);
});

test('RpcClient.call() aborted by its signal rejects with the reason and aborts the handler', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  let handlerSignal: Promise<unknown> | null = null;
  const started = deferred<void>();
  await using _server = await serveSocket(path, handler({
    call: (_op, _args, ctx: RpcContext) => {
      handlerSignal = aborted(ctx.signal);
      started.resolve();
      return new Promise(() => undefined); // only the signal ends it
    },
  }));
  await using client = await mustConnect(path);
  const controller = new AbortController();
  const reason = new Error('user pressed ctrl-c');

  const call = client.call('slow', null, { signal: controller.signal });
  await started.promise;
  controller.abort(reason);

  await assert.rejects(call, (error) => error === reason);
  assert.ok(isKernelError(await handlerSignal, ErrorCode.Aborted));
  assert.equal(await client.call('slow', null, { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e), reason);
});

test('RpcClient.call() rejects with PAYLOAD_TOO_LARGE for oversize args and the connection stays usable', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  await using _server = await serveSocket(path, handler({ call: async (_op, args) => args }));
  await using client = await mustConnect(path);

  await assert.rejects(client.call('echo', 'x'.repeat(17 * 1024 * 1024)), (error) =>
    isKernelError(error, ErrorCode.PayloadTooLarge),
  );
  assert.equal(await client.call('echo', 'small'), 'small');
});

test('RpcClient.call() rejects with PAYLOAD_TOO_LARGE when the result is too large to send', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  await using _server = await serveSocket(path, handler({ call: async () => 'x'.repeat(17 * 1024 * 1024) }));
  await using client = await mustConnect(path);

  await assert.rejects(client.call('huge', null), (error) => isKernelError(error, ErrorCode.PayloadTooLarge));
});

test('RpcClient.stream() yields every item in order then ends', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  await using _server = await serveSocket(path, handler({
    stream: async function* (_op, args) {
      for (let i = 0; i < (args as number); i++) yield { i };
    },
  }));
  await using client = await mustConnect(path);

  const items: unknown[] = [];
  for await (const item of client.stream('count', 5)) items.push(item);

  assert.deepEqual(items, [{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }]);
});

test('RpcClient.stream() delivers the items then throws the error the handler raised', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  await using _server = await serveSocket(path, handler({
    stream: async function* () {
      yield 1;
      yield 2;
      throw new KernelError(ErrorCode.LogCorrupt, 'Cannot read seq 3 as its hash does not match');
    },
  }));
  await using client = await mustConnect(path);
  const items: unknown[] = [];

  await assert.rejects(
    (async () => {
      for await (const item of client.stream('read', null)) items.push(item);
    })(),
    (error) => isKernelError(error, ErrorCode.LogCorrupt),
  );
  assert.deepEqual(items, [1, 2]);
});

test('RpcClient.stream() cancels the handler when the loop is left early', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  const finished = deferred<unknown>();
  await using _server = await serveSocket(path, handler({
    stream: async function* (_op, _args, ctx) {
      try {
        for (let i = 0; ; i++) {
          yield i;
          await new Promise((resolve) => setImmediate(resolve));
        }
      } finally {
        finished.resolve(ctx.signal.reason);
      }
    },
  }));
  await using client = await mustConnect(path);

  const items: unknown[] = [];
  for await (const item of client.stream('forever', null)) {
    items.push(item);
    if (items.length === 3) break;
  }

  assert.deepEqual(items, [0, 1, 2]);
  assert.ok(isKernelError(await finished.promise, ErrorCode.Aborted));
  assert.equal(await client.call('missing', null).catch((e: unknown) => (e as KernelError).code), ErrorCode.NotFound);
});

test('RpcClient.stream() aborted by its signal throws the reason and aborts the handler', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  let handlerSignal: Promise<unknown> | null = null;
  await using _server = await serveSocket(path, handler({
    stream: async function* (_op, _args, ctx) {
      handlerSignal = aborted(ctx.signal);
      yield 'first';
      await handlerSignal; // a subscription that waits for new events until cancelled
    },
  }));
  await using client = await mustConnect(path);
  const controller = new AbortController();
  const reason = new Error('enough');
  const items: unknown[] = [];

  await assert.rejects(
    (async () => {
      for await (const item of client.stream('follow', null, { signal: controller.signal })) {
        items.push(item);
        controller.abort(reason);
      }
    })(),
    (error) => error === reason,
  );
  assert.deepEqual(items, ['first']);
  assert.ok(isKernelError(await handlerSignal, ErrorCode.Aborted));
});

test('RpcClient.close() rejects pending calls with CONNECTION_LOST and the server aborts their handlers', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  const handlerAborted = deferred<unknown>();
  const started = deferred<void>();
  await using server = await serveSocket(path, handler({
    call: (_op, _args, ctx) => {
      void aborted(ctx.signal).then(handlerAborted.resolve);
      started.resolve();
      return new Promise(() => undefined);
    },
  }));
  const client = await mustConnect(path);

  const pending = client.call('wait', null);
  await started.promise;
  await client.close();
  await client.close();

  await assert.rejects(pending, (error) => isKernelError(error, ErrorCode.ConnectionLost));
  await assert.rejects(client.call('again', null), (error) => isKernelError(error, ErrorCode.ConnectionLost));
  assert.ok(isKernelError(await handlerAborted.promise, ErrorCode.ConnectionLost));
  assert.ok(server);
});

test('connectSocket() returns null when no socket file exists', async () => {
  await using dir = await tempDir();

  assert.equal(await connectSocket(join(dir.path, 'run', 'kernel.sock')), null);
});

test('connectSocket() throws PROTOCOL_MISMATCH when the server answers another protocol', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'future.sock');
  const fake = createServer((socket) => {
    const decoder = new FrameDecoder();
    socket.on('data', (chunk) => {
      if (decoder.push(chunk).length > 0) socket.write(encodeFrame({ t: 'hello', protocol: 2, server: { pid: 1, role: 'daemon' } }));
    });
  });
  fake.listen(path);
  await once(fake, 'listening');

  try {
    await assert.rejects(connectSocket(path), (error) => {
      assert.ok(isKernelError(error, ErrorCode.ProtocolMismatch));
      assert.deepEqual(error.details, { expected: 1, received: 2 });
      return true;
    });
  } finally {
    fake.close();
    await once(fake, 'close');
  }
});

test('connectSocket() throws TIMEOUT when the server never answers the hello', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'mute.sock');
  const fake = createServer((socket) => socket.on('error', () => undefined).resume());
  fake.listen(path);
  await once(fake, 'listening');

  try {
    await assert.rejects(connectSocket(path, { timeoutMs: 50 }), (error) => isKernelError(error, ErrorCode.Timeout));
  } finally {
    fake.close();
    await once(fake, 'close');
  }
});

test('connectSocket() rethrows the reason of an aborted signal', async () => {
  await using dir = await tempDir();
  const reason = new Error('no');

  await assert.rejects(connectSocket(join(dir.path, 'x.sock'), { signal: AbortSignal.abort(reason) }), (e) => e === reason);
});

test('RpcClient.call() rejects an empty or overlong operation name with INVALID_ARGUMENT before sending it', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  await using _server = await serveSocket(path, handler({ call: async (_op, args) => args }));
  await using client = await mustConnect(path);

  await assert.rejects(client.call('', null), (error) => isKernelError(error, ErrorCode.InvalidArgument));
  await assert.rejects(client.call('x'.repeat(257), null), (error) => isKernelError(error, ErrorCode.InvalidArgument));
  assert.equal(await client.call('echo', 'ok'), 'ok');
});

test('RpcClient fails pending calls with PROTOCOL_VIOLATION and closes when the server sends garbage', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'liar.sock');
  await using _fake = await fakeOwner(path, 'daemon', (socket) => socket.write(encodeFrame({ t: 'result', id: 'not a number' })));

  const client = await mustConnect(path);
  await assert.rejects(client.call('anything', null), (error) => isKernelError(error, ErrorCode.ProtocolViolation));
  await client.closed;
  await assert.rejects(client.call('again', null), (error) => isKernelError(error, ErrorCode.ProtocolViolation));
});

test('RpcClient fails pending calls and open streams with CONNECTION_LOST when the server vanishes', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'vanishing.sock');
  let requests = 0;
  await using _fake = await fakeOwner(path, 'command', (socket, { t, id }) => {
    if (t === 'stream') socket.write(encodeFrame({ t: 'item', id, value: 'one' }));
    if (++requests === 2) socket.destroy(); // as if the owner were SIGKILLed
  });

  const client = await mustConnect(path);
  const pending = client.call('wait', null);
  const items: unknown[] = [];
  const streamed = (async () => {
    for await (const item of client.stream('follow', null)) items.push(item);
  })();

  // No bye: the call may have run, so it is not marked as safe to send again.
  await assert.rejects(pending, (error) => isKernelError(error, ErrorCode.ConnectionLost) && error.details?.['retryable'] !== true);
  await assert.rejects(streamed, (error) => isKernelError(error, ErrorCode.ConnectionLost));
  await client.closed;
  assert.deepEqual(items, ['one']);
  assert.equal(client.server.role, 'command');
});

test('RpcClient marks as retryable only the calls a leaving owner did not list as started', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'leaving.sock');
  // The owner read call 1, then leaves before reading call 2: bye lists call 1 only.
  await using _fake = await fakeOwner(path, 'command', (socket, { id }) => {
    if (id === 2) socket.end(encodeFrame({ t: 'bye', started: [1] }));
  });

  const client = await mustConnect(path);
  const started = client.call('slow', null);
  const unread = client.call('late', null);
  const retryable = (e: unknown): boolean => isKernelError(e, ErrorCode.ConnectionLost) && e.details?.['retryable'] === true;
  await assert.rejects(started, (e) => isKernelError(e, ErrorCode.ConnectionLost) && !retryable(e));
  await assert.rejects(unread, (e) => retryable(e));
  await assert.rejects(client.call('after', null), (e) => retryable(e));
});

test('RpcServer.close() finishes a started call, refuses later ones as retryable and closes only after the client', async () => {
  await using dir = await tempDir();
  const release = deferred<void>();
  const entered = deferred<void>();
  await using server = await serveSocket(join(dir.path, 'k.sock'), handler({
    call: async (op) => {
      if (op !== 'slow') return op;
      entered.resolve();
      await release.promise;
      return 'done';
    },
  }));
  const client = await mustConnect(server.path);
  const slow = client.call('slow', null);
  await entered.promise;
  const closing = server.close({ graceMs: 5_000 });
  const late = client.call('late', null).catch((e: unknown) => e);
  release.resolve();

  assert.equal(await slow, 'done');
  const error = await late;
  assert.ok(isKernelError(error, ErrorCode.ConnectionLost) && error.details?.['retryable'] === true, String(error));
  await closing;
  await client.closed;
});
