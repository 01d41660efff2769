import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/support/temp-dir.ts';
import { ErrorCode, isKernelError } from '../errors/index.ts';
import { UploadStore } from './uploads.ts';

const ID = 'a'.repeat(32);
const ref = (bytes: Uint8Array, id = ID) => ({ id, size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') });

test('UploadStore stages pieces in order, accepts a piece sent again, and hands the bytes over once', async () => {
  await using dir = await tempDir();
  const store = new UploadStore(join(dir.path, 'uploads'));
  const bytes = Buffer.from('hello, staged world');
  assert.equal(await store.stage(ID, 0, bytes.subarray(0, 7)), 7);
  assert.equal(await store.stage(ID, 0, bytes.subarray(0, 7)), 7, 'a resent piece changes nothing');
  assert.equal(await store.stage(ID, 7, bytes.subarray(7)), bytes.byteLength);
  assert.equal((await stat(join(dir.path, 'uploads', `${ID}.part`))).mode & 0o777, 0o600);
  assert.deepEqual(await store.take(ref(bytes)), bytes);
  await assert.rejects(store.take(ref(bytes)), (e: unknown) => isKernelError(e, ErrorCode.InvalidArgument), 'taken once only');
});

test('UploadStore refuses gaps, oversize uploads, wrong digests and ids that are not hex', async () => {
  await using dir = await tempDir();
  const store = new UploadStore(join(dir.path, 'uploads'), { maxBytes: 10 });
  await store.stage(ID, 0, Buffer.from('abc'));
  await assert.rejects(store.stage(ID, 5, Buffer.from('x')), (e: unknown) => isKernelError(e, ErrorCode.InvalidArgument) && e.details?.['size'] === 3);
  await assert.rejects(store.stage(ID, 3, Buffer.alloc(8)), (e: unknown) => isKernelError(e, ErrorCode.PayloadTooLarge));
  assert.deepEqual(await readdir(join(dir.path, 'uploads')), [], 'an oversize upload is dropped');

  await store.stage(ID, 0, Buffer.from('abc'));
  await assert.rejects(store.take(ref(Buffer.from('abd'))), (e: unknown) => isKernelError(e, ErrorCode.InvalidArgument));
  await assert.rejects(store.take(ref(Buffer.from('abc'))), (e: unknown) => isKernelError(e, ErrorCode.InvalidArgument), 'a failed take still deletes');
  for (const bad of ['../../etc/passwd', 'A'.repeat(32), 'a'.repeat(31)]) {
    await assert.rejects(store.stage(bad, 0, Buffer.from('x')), (e: unknown) => isKernelError(e, ErrorCode.InvalidArgument));
  }
});

test('UploadStore.sweep() deletes only uploads left untouched past the maximum age', async () => {
  await using dir = await tempDir();
  const now = Date.now();
  const store = new UploadStore(join(dir.path, 'uploads'), { maxAgeMs: 60_000, clock: () => now });
  const fresh = 'b'.repeat(32);
  await store.stage(ID, 0, Buffer.from('old'));
  await store.stage(fresh, 0, Buffer.from('new'));
  const then = new Date(now - 120_000);
  await utimes(join(dir.path, 'uploads', `${ID}.part`), then, then);
  await store.sweep();
  assert.deepEqual(await readdir(join(dir.path, 'uploads')), [`${fresh}.part`]);
  await new UploadStore(join(dir.path, 'nowhere')).sweep(); // a missing directory is fine
});
