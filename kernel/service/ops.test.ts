import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/support/temp-dir.ts';
import { ErrorCode, isKernelError } from '../errors/index.ts';
import type { KernelApi } from './api.ts';
import { kernelHandler } from './ops.ts';
import { UploadStore } from './uploads.ts';

/** A kernel whose `vfsWrite` reports the bytes it got. */
const writes: Buffer[] = [];
const api = {
  vfsWrite: async (_s: string, _p: string, bytes: Uint8Array) => void writes.push(Buffer.from(bytes)),
  installCapsule: async (archive: Uint8Array) => void writes.push(Buffer.from(archive)),
} as unknown as KernelApi;
const ctx = { signal: new AbortController().signal };
const write = (extra: object) => ({ session: 's1', path: '/f', source: 'user:cli', ...extra });

test('the socket takes inline bytes of several MiB (valibot base64() overflowed the stack there) and refuses text that is not base64', async () => {
  const handler = kernelHandler(api);
  const big = Buffer.alloc(6 * 1024 * 1024, 0xab);
  writes.length = 0;
  await handler.call('vfsWrite', write({ bytes: big.toString('base64') }), ctx);
  assert.deepEqual(writes, [big]);
  for (const bytes of ['abc', 'ab=c', 'a===', 'not base64!']) {
    await assert.rejects(handler.call('vfsWrite', write({ bytes }), ctx), (e: unknown) => isKernelError(e, ErrorCode.InvalidArgument), bytes);
  }
});

test('the socket stages an upload in pieces, then a call names it instead of inline bytes', async () => {
  await using dir = await tempDir();
  const handler = kernelHandler(api, { uploads: new UploadStore(join(dir.path, 'uploads')) });
  const bytes = Buffer.from('staged in three pieces');
  const id = 'c'.repeat(32);
  for (const offset of [0, 8, 16]) await handler.call('stageUpload', { upload: id, offset, bytes: bytes.subarray(offset, offset + 8).toString('base64') }, ctx);
  writes.length = 0;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await handler.call('vfsWrite', write({ upload: { id, size: bytes.byteLength, sha256 } }), ctx);
  assert.deepEqual(writes, [bytes]);
  // A capsule archive goes up the same way.
  await handler.call('stageUpload', { upload: id, offset: 0, bytes: bytes.toString('base64') }, ctx);
  await handler.call('installCapsule', { upload: { id, size: bytes.byteLength, sha256 }, source: 'user:cli' }, ctx);
  assert.deepEqual(writes, [bytes, bytes]);
  await assert.rejects(handler.call('vfsWrite', write({}), ctx), (e: unknown) => isKernelError(e, ErrorCode.InvalidArgument), 'no bytes at all');
  await assert.rejects(
    handler.call('vfsWrite', write({ bytes: 'AAAA', upload: { id, size: 3, sha256 } }), ctx),
    (e: unknown) => isKernelError(e, ErrorCode.InvalidArgument),
    'both inline and upload',
  );
  await assert.rejects(kernelHandler(api).call('stageUpload', { upload: id, offset: 0, bytes: 'AAAA' }, ctx), (e: unknown) => isKernelError(e, ErrorCode.InvalidArgument));
});
