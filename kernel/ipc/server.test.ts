import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, lstat, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCode, isKernelError, KernelError } from '../errors/index.ts';
import { tempDir } from '../../test/support/temp-dir.ts';
import { connectSocket, type RpcClient } from './client.ts';
import { rawPeer, type RawPeer } from './raw-peer.fixture.ts';
import type { RpcHandler } from './server-connection.ts';
import { serveSocket } from './server.ts';

const echo: RpcHandler = {
  call: async (op, args, ctx) => {
    if (op === 'echo') return args;
    if (op === 'hang') return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
    throw new KernelError(ErrorCode.NotFound, `Cannot run "${op}" as no such operation exists`);
  },
  // eslint-disable-next-line require-yield
  stream: async function* (op) {
    throw new KernelError(ErrorCode.NotFound, `Cannot stream "${op}" as no such operation exists`);
  },
};

async function mustConnect(path: string): Promise<RpcClient> {
  const client = await connectSocket(path);
  assert.ok(client, 'a server listens');
  return client;
}

async function greeted(path: string): Promise<RawPeer> {
  const peer = await rawPeer(path);
  peer.send({ t: 'hello', protocol: 1 });
  const hello = (await peer.next()) as { t: string };
  assert.equal(hello.t, 'hello');
  return peer;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test('serveSocket() creates the run directory with mode 0700 and the socket with mode 0600', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');

  await using _server = await serveSocket(path, echo);

  assert.equal((await stat(join(dir.path, 'run'))).mode & 0o777, 0o700);
  assert.equal((await lstat(path)).mode & 0o777, 0o600);
  assert.ok((await lstat(path)).isSocket());
});

test('serveSocket() tightens an existing run directory to mode 0700', async () => {
  await using dir = await tempDir();
  await mkdir(join(dir.path, 'run'));
  await chmod(join(dir.path, 'run'), 0o755);

  await using _server = await serveSocket(join(dir.path, 'run', 'kernel.sock'), echo);

  assert.equal((await stat(join(dir.path, 'run'))).mode & 0o777, 0o700);
});

test('serveSocket() replaces a stale socket file left by a killed owner', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  await mkdir(join(dir.path, 'run'), { mode: 0o700 });
  const child = spawn(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => console.log('up'))", path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(child.stdout, 'data');
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.ok((await lstat(path)).isSocket(), 'the killed owner left its socket file behind');
  const before = await connectSocket(path);

  await using _server = await serveSocket(path, echo);
  await using client = await mustConnect(path);

  assert.equal(before, null);
  assert.equal(await client.call('echo', 'fresh'), 'fresh');
});

test('serveSocket() refuses to remove a file that is not a socket', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  await mkdir(join(dir.path, 'run'), { mode: 0o700 });
  await writeFile(path, 'precious');

  await assert.rejects(serveSocket(path, echo), (error) => isKernelError(error, ErrorCode.HomeInvalid));
});

test('serveSocket() throws INVALID_ARGUMENT for a path too long for a unix socket', async () => {
  await using dir = await tempDir();

  await assert.rejects(serveSocket(join(dir.path, 'x'.repeat(120)), echo), (error) =>
    isKernelError(error, ErrorCode.InvalidArgument),
  );
});

const bad: { name: string; bytes: () => Buffer; hello: boolean }[] = [
  { name: 'a frame that is not JSON', bytes: () => Buffer.from([0, 0, 0, 3, 0x7b, 0x7b, 0x7b]), hello: true },
  { name: 'a JSON frame that is not a message', bytes: () => frame({ t: 'call', id: -1, op: '', args: 1 }), hello: true },
  { name: 'a frame declared larger than 16 MiB', bytes: () => Buffer.from([0x01, 0x00, 0x00, 0x01]), hello: true },
  { name: 'a request before its hello', bytes: () => frame({ t: 'call', id: 1, op: 'echo', args: 1 }), hello: false },
];

function frame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message));
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

for (const { name, bytes, hello } of bad) {
  test(`serveSocket() answers PROTOCOL_VIOLATION and closes only the connection that sends ${name}`, async () => {
    await using dir = await tempDir();
    const path = join(dir.path, 'run', 'kernel.sock');
    await using _server = await serveSocket(path, echo);
    await using client = await mustConnect(path);
    await using peer = hello ? await greeted(path) : await rawPeer(path);

    peer.socket.write(bytes());
    const answer = (await peer.next()) as { t: string; error: { code: string } };
    await peer.closed;

    assert.equal(answer.t, 'error');
    assert.equal(answer.error.code, ErrorCode.ProtocolViolation);
    assert.equal(await client.call('echo', 'still here'), 'still here');
  });
}

test('serveSocket() answers PROTOCOL_MISMATCH to a hello of another protocol, then closes', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  await using _server = await serveSocket(path, echo);
  await using peer = await rawPeer(path);

  peer.send({ t: 'hello', protocol: 99, features: ['future'] });
  const answer = await peer.next();
  await peer.closed;

  assert.deepEqual(answer, {
    t: 'error',
    error: {
      code: ErrorCode.ProtocolMismatch,
      message: 'Cannot talk protocol 99 as this owner speaks protocol 1',
      details: { expected: 1, received: 99 },
    },
  });
});

test('serveSocket() drops a peer that sends no hello within the handshake timeout', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  await using _server = await serveSocket(path, echo, { handshakeTimeoutMs: 50 });
  await using peer = await rawPeer(path);

  await peer.closed;

  assert.equal(await peer.next(), null, 'the server closed without sending anything');
});

test('serveSocket() treats a request id already in flight as a violation and aborts that connection\'s handlers', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  const reasons: unknown[] = [];
  await using _server = await serveSocket(path, {
    ...echo,
    call: (_op, _args, ctx) =>
      new Promise((_resolve, reject) =>
        ctx.signal.addEventListener('abort', () => {
          reasons.push(ctx.signal.reason);
          reject(ctx.signal.reason);
        }),
      ),
  });
  await using peer = await greeted(path);

  peer.send({ t: 'call', id: 7, op: 'hang', args: null });
  peer.send({ t: 'cancel', id: 12345 }); // unknown ids are ignored: answers and cancels cross
  peer.send({ t: 'call', id: 7, op: 'hang', args: null });
  const answer = (await peer.next()) as { t: string; id?: number; error: { code: string } };
  await peer.closed;

  assert.equal(answer.t, 'error');
  assert.equal(answer.id, undefined);
  assert.equal(answer.error.code, ErrorCode.ProtocolViolation);
  assert.equal(reasons.length, 1);
});

test('RpcServer.close() lets calls finish within the grace, ends streams, then fails what is left', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  let openGate = (): void => undefined;
  const gate = new Promise<void>((resolve) => {
    openGate = resolve;
  });
  const handlerReasons: unknown[] = [];
  const server = await serveSocket(path, {
    call: async (op, _args, ctx) => {
      if (op === 'quick') {
        await gate;
        return 'done';
      }
      return new Promise((_resolve, reject) =>
        ctx.signal.addEventListener('abort', () => {
          handlerReasons.push(ctx.signal.reason);
          reject(ctx.signal.reason);
        }),
      );
    },
    stream: async function* (_op, _args, ctx) {
      yield 'first';
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    },
  });
  await using client = await mustConnect(path);
  const quick = client.call('quick', null);
  const stuck = client.call('stuck', null);
  const follow = client.stream('follow', null)[Symbol.asyncIterator]();
  assert.deepEqual(await follow.next(), { value: 'first', done: false });

  const closing = server.close({ graceMs: 300 });
  const streamError = await follow.next().catch((e: unknown) => e);
  const lateCall = await client.call('echo', 1).catch((e: unknown) => e);
  openGate();

  assert.ok(isKernelError(streamError, ErrorCode.ConnectionLost));
  assert.ok(isKernelError(lateCall, ErrorCode.ConnectionLost));
  assert.equal(await quick, 'done');
  await assert.rejects(stuck, (error) => isKernelError(error, ErrorCode.ConnectionLost));
  await closing;
  await client.closed;
  assert.equal(server.connections, 0);
  assert.ok(handlerReasons.length === 1 && isKernelError(handlerReasons[0], ErrorCode.ConnectionLost));
  await assert.rejects(lstat(path), { code: 'ENOENT' });
  assert.equal(await connectSocket(path), null);
  await server.close(); // idempotent
});

test('RpcServer keeps its buffered bytes bounded while a slow client reads a 1,000,000-item stream', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'run', 'kernel.sock');
  const total = 1_000_000;
  let produced = 0;
  let consumed = 0;
  let maxBuffered = 0;
  let maxAhead = 0;
  const server = await serveSocket(path, {
    ...echo,
    stream: async function* () {
      for (let i = 0; i < total; i++) {
        maxBuffered = Math.max(maxBuffered, server.bufferedBytes());
        maxAhead = Math.max(maxAhead, produced - consumed);
        produced++;
        yield i;
      }
    },
  });
  await using _server = server;
  await using client = await mustConnect(path);

  let inOrder = true;
  for await (const item of client.stream('all', null, { highWaterMark: 256 })) {
    if (item !== consumed) inOrder = false;
    consumed++;
    if (consumed % 20_000 === 0) await sleep(5); // the consumer stalls now and then
  }

  assert.equal(consumed, total);
  assert.ok(inOrder);
  // Without backpressure the server would queue about 30 MB; with it, one socket buffer's worth.
  assert.ok(maxBuffered < 256 * 1024, `server buffered up to ${maxBuffered} bytes`);
  assert.ok(maxAhead < 50_000, `producer ran ${maxAhead} items ahead of the consumer`);
  process.stderr.write(`# backpressure: max server buffer ${maxBuffered} B, producer max ${maxAhead} items ahead\n`);
});
