import assert from 'node:assert/strict';
import { chmod, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from '../../test/support/temp-dir.ts';
import { ErrorCode, isKernelError } from '../errors/index.ts';
import { KERNEL_KEY_FILE, loadOrCreateKernelKey } from './kernel-key.ts';

describe('loadOrCreateKernelKey()', () => {
  test('loadOrCreateKernelKey() creates a 32-byte key with mode 0600 and returns it again later', async () => {
    await using home = await tempDir('caps-key-');

    const first = await loadOrCreateKernelKey(home.path);
    const second = await loadOrCreateKernelKey(home.path);
    const stats = await stat(join(home.path, KERNEL_KEY_FILE));

    assert.equal(first.length, 32);
    assert.deepEqual(second, first);
    assert.equal(stats.mode & 0o777, 0o600);
    assert.deepEqual(await readdir(home.path), [KERNEL_KEY_FILE]);
  });

  test('loadOrCreateKernelKey() gives every concurrent caller the same key', async () => {
    await using home = await tempDir('caps-key-');

    const keys = await Promise.all(Array.from({ length: 12 }, () => loadOrCreateKernelKey(home.path)));

    for (const key of keys) assert.deepEqual(key, keys[0]);
    assert.deepEqual(await readdir(home.path), [KERNEL_KEY_FILE]);
  });

  test('loadOrCreateKernelKey() refuses a key readable by others, of the wrong size or behind a symlink', async () => {
    await using home = await tempDir('caps-key-');
    await using other = await tempDir('caps-key-');
    const path = join(home.path, KERNEL_KEY_FILE);
    const cases: Array<[string, () => Promise<void>]> = [
      ['mode 644', async () => {
        await writeFile(path, Buffer.alloc(32, 1), { mode: 0o600 });
        await chmod(path, 0o644);
      }],
      ['short', async () => {
        await writeFile(path, Buffer.alloc(31, 1), { mode: 0o600 });
      }],
      ['symlink', async () => {
        const target = join(other.path, 'key');
        await writeFile(target, Buffer.alloc(32, 1), { mode: 0o600 });
        await symlink(target, path);
      }],
    ];

    for (const [name, arrange] of cases) {
      await arrange();
      await assert.rejects(loadOrCreateKernelKey(home.path), (e) => isKernelError(e, ErrorCode.HomeInvalid), name);
      await rm(path);
    }
  });

  test('loadOrCreateKernelKey() refuses a missing home with HOME_NOT_INITIALIZED', async () => {
    await using home = await tempDir('caps-key-');

    await assert.rejects(loadOrCreateKernelKey(join(home.path, 'nope')), (e) => isKernelError(e, ErrorCode.HomeNotInitialized));
  });
});
