import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, KernelError, isKernelError } from '../errors/index.ts';
import type { KernelApi, KernelStatus } from './api.ts';
import { MAX_RECONNECTS, isRetryableLoss, reconnectingKernel } from './reconnecting-kernel.ts';

const leaving = (): KernelError => new KernelError(ErrorCode.ConnectionLost, 'Cannot start "status" as the owner is shutting down', { details: { retryable: true } });
const dropped = (): KernelError => new KernelError(ErrorCode.ConnectionLost, 'Cannot reach the owner as the connection closed');

/** A kernel whose `status()` and `publish()` answer by `behave`; the rest is never called here. */
function fakeKernel(name: string, behave: () => Promise<KernelStatus>, closed: string[]): KernelApi {
  const kernel = {
    mode: name === 'local' ? 'local' : 'remote',
    status: behave,
    publish: behave,
    subscribe: () => ({ async *[Symbol.asyncIterator]() { yield { seq: 1, from: name }; } }),
    close: async () => void closed.push(name),
    [Symbol.asyncDispose]: async () => void closed.push(name),
  };
  return kernel as unknown as KernelApi;
}

const status = (pid: number): KernelStatus => ({ pid }) as unknown as KernelStatus;

test('isRetryableLoss() accepts only a CONNECTION_LOST that says the request never started', () => {
  assert.equal(isRetryableLoss(leaving()), true);
  assert.equal(isRetryableLoss(dropped()), false);
  assert.equal(isRetryableLoss(new KernelError(ErrorCode.Timeout, 'late', { details: { retryable: true } })), false);
  assert.equal(isRetryableLoss(new Error('plain')), false);
});

test('reconnectingKernel() sends a call refused by a leaving owner again to the next owner', async () => {
  const closed: string[] = [];
  let reconnects = 0;
  const first = fakeKernel('remote-1', () => Promise.reject(leaving()), closed);
  const kernel = reconnectingKernel(first, async () => {
    reconnects++;
    return fakeKernel('local', async () => status(42), closed);
  });
  assert.equal(kernel.mode, 'remote');
  assert.deepEqual(await kernel.status(), { pid: 42 });
  assert.equal(reconnects, 1);
  assert.deepEqual(closed, ['remote-1']);
  assert.equal(kernel.mode, 'local', 'the wrapper now speaks for the new kernel');
  await kernel.close();
  assert.deepEqual(closed, ['remote-1', 'local']);
});

test('reconnectingKernel() never repeats a write that may have run, but repeats a read', async () => {
  const closed: string[] = [];
  let reconnects = 0;
  const kernel = reconnectingKernel(fakeKernel('a', () => Promise.reject(dropped()), closed), async () => {
    reconnects++;
    return fakeKernel('b', async () => status(1), closed);
  });
  await assert.rejects(kernel.publish([], { source: 'user:t' }), (e: unknown) => isKernelError(e, ErrorCode.ConnectionLost) && !isRetryableLoss(e));
  assert.equal(reconnects, 0);
  assert.deepEqual(await kernel.status(), { pid: 1 }, 'a read is sent again after a plain drop');
  assert.equal(reconnects, 1);
});

test('reconnectingKernel() gives up after MAX_RECONNECTS tries', async () => {
  const closed: string[] = [];
  let tries = 0;
  const stubborn = reconnectingKernel(fakeKernel('c', () => Promise.reject(leaving()), closed), async () => {
    tries++;
    return fakeKernel('d', () => Promise.reject(leaving()), closed);
  });
  await assert.rejects(stubborn.publish([], { source: 'user:t' }), (e: unknown) => isRetryableLoss(e));
  assert.equal(tries, MAX_RECONNECTS - 1);
});

test('reconnectingKernel() passes streams through to the current kernel', async () => {
  const closed: string[] = [];
  const kernel = reconnectingKernel(fakeKernel('s', async () => status(1), closed), async () => assert.fail('no reconnect expected'));
  const items: unknown[] = [];
  for await (const item of kernel.subscribe('a.>', {})) items.push(item);
  assert.deepEqual(items, [{ seq: 1, from: 's' }]);
});

test('reconnectingKernel() starts a file stream again after a loss before its first chunk, never after', async () => {
  const closed: string[] = [];
  /** A kernel whose file stream yields `chunks`, then fails with `failAfter` if given. */
  const streaming = (name: string, chunks: string[], failAfter?: KernelError): KernelApi =>
    ({
      vfsReadChunks: async function* () {
        for (const c of chunks) yield Buffer.from(c);
        if (failAfter !== undefined) throw failAfter;
      },
      close: async () => void closed.push(name),
    }) as unknown as KernelApi;
  const read = async (kernel: KernelApi): Promise<string> => {
    let text = '';
    for await (const chunk of kernel.vfsReadChunks('s', '/f')) text += Buffer.from(chunk).toString();
    return text;
  };

  const early = reconnectingKernel(streaming('a', [], dropped()), async () => streaming('b', ['one', 'two']));
  assert.equal(await read(early), 'onetwo', 'nothing had been read: the stream starts again on the new owner');
  assert.deepEqual(closed, ['a']);

  let reconnects = 0;
  const late = reconnectingKernel(streaming('c', ['one'], dropped()), async () => {
    reconnects++;
    return streaming('d', ['one', 'two']);
  });
  await assert.rejects(read(late), (e: unknown) => isKernelError(e, ErrorCode.ConnectionLost));
  assert.equal(reconnects, 0, 'part of the file was used: the loss is thrown, not papered over');
});
