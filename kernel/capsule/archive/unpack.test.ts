import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { ErrorCode, isKernelError, type ErrorCode as Code } from '../../errors/index.ts';
import { minimalManifest } from '../manifest/fixtures.test-support.ts';
import {
  TYPE,
  gzipRaw,
  gzipTar,
  gzipZeros,
  manifestEntry,
  paxEntry,
  rawEntry,
  rawHeader,
  snapshot,
} from './hostile.test-support.ts';
import { packCapsuleBuffer, readCapsuleManifest, unpackCapsule, unpackCapsuleBuffer, type UnpackOptions } from './index.ts';

/**
 * Unpacks `archive` into `<root>/home/capsules/dest` and expects `code`; proves that nothing
 * changed anywhere under `<root>` (so nothing beside or above `dest`) and that `dest` is absent.
 */
async function assertRefused(archive: Buffer, code: Code, options: UnpackOptions = {}): Promise<string> {
  await using root = await tempDir('unpack-');
  const parent = join(root.path, 'home', 'capsules');
  await mkdir(parent, { recursive: true });
  await writeFile(join(root.path, 'home', 'sentinel.txt'), 'untouched');
  const dest = join(parent, 'dest');
  const before = await snapshot(root.path);

  let message = '';
  await assert.rejects(unpackCapsuleBuffer(archive, dest, options), (error) => {
    assert.ok(isKernelError(error, code), `expected ${code}, got ${String(error)}`);
    message = error.message;
    return true;
  });

  assert.deepEqual(await snapshot(root.path), before);
  assert.equal(existsSync(dest), false);
  return message;
}

describe('unpackCapsuleBuffer() refuses hostile archives', () => {
  const unsafe: readonly { name: string; archive: () => Buffer; says: RegExp }[] = [
    { name: 'a "../x" traversal', archive: () => gzipTar(manifestEntry(), rawEntry({ name: '../x' }, 'evil')), says: /"\.\." segment/ },
    { name: 'a traversal in the middle', archive: () => gzipTar(manifestEntry(), rawEntry({ name: 'a/../../x' }, 'evil')), says: /"\.\." segment/ },
    { name: 'an absolute path', archive: () => gzipTar(manifestEntry(), rawEntry({ name: '/etc/astrid-evil' }, 'evil')), says: /absolute/ },
    { name: 'a symlink to /etc/passwd', archive: () => gzipTar(manifestEntry(), rawEntry({ name: 'passwd', type: TYPE.symlink, linkname: '/etc/passwd' })), says: /symbolic link/ },
    { name: 'a symlink that stays inside', archive: () => gzipTar(manifestEntry(), rawEntry({ name: 'alias', type: TYPE.symlink, linkname: 'Capsule.toml' })), says: /symbolic link/ },
    { name: 'a hard link', archive: () => gzipTar(manifestEntry(), rawEntry({ name: 'hard', type: TYPE.hardLink, linkname: 'Capsule.toml' })), says: /hard link/ },
    { name: 'a character device', archive: () => gzipTar(manifestEntry(), rawEntry({ name: 'null', type: TYPE.charDevice, devmajor: 1 })), says: /character device/ },
    { name: 'a block device', archive: () => gzipTar(manifestEntry(), rawEntry({ name: 'sda', type: TYPE.blockDevice, devmajor: 8 })), says: /block device/ },
    { name: 'a FIFO', archive: () => gzipTar(manifestEntry(), rawEntry({ name: 'pipe', type: TYPE.fifo })), says: /FIFO/ },
    { name: 'an unknown entry type', archive: () => gzipTar(manifestEntry(), rawEntry({ name: 'odd', type: 'Z' })), says: /unsupported type/ },
    { name: 'a NUL hiding the rest of a name', archive: () => gzipTar(manifestEntry(), rawEntry({ name: Buffer.from('ok\0/../../evil') }, 'x')), says: /NUL/ },
    { name: 'a NUL inside a GNU long name', archive: () => gzipTar(manifestEntry(), rawEntry({ name: '././@LongLink', type: TYPE.gnuLongName }, 'ok\0../evil\0'), rawEntry({ name: 'ok' }, 'x')), says: /NUL/ },
    { name: 'a pax path that climbs out', archive: () => gzipTar(manifestEntry(), paxEntry({ path: '../../pax-evil' }), rawEntry({ name: 'harmless' }, 'x')), says: /"\.\." segment/ },
    { name: 'an over-long pax path', archive: () => gzipTar(manifestEntry(), paxEntry({ path: `${'d/'.repeat(600)}x` }), rawEntry({ name: 'x' }, 'x')), says: /longer than 1024 bytes/ },
    { name: 'a control character in a name', archive: () => gzipTar(manifestEntry(), rawEntry({ name: 'bell\u0007' }, 'x')), says: /control character/ },
    { name: 'a backslash in a name', archive: () => gzipTar(manifestEntry(), rawEntry({ name: '..\\..\\evil' }, 'x')), says: /backslash/ },
  ];
  for (const { name, archive, says } of unsafe) {
    test(`\`unpackCapsuleBuffer()\` refuses the archive with ARCHIVE_UNSAFE_ENTRY when it has ${name}`, async () => {
      const message = await assertRefused(archive(), ErrorCode.ArchiveUnsafeEntry);

      assert.match(message, says);
    });
  }

  test('`unpackCapsuleBuffer()` writes nothing where a traversal points when it refuses one', async () => {
    await using root = await tempDir('unpack-');
    const dest = join(root.path, 'a', 'b', 'dest');
    await mkdir(join(root.path, 'a', 'b'), { recursive: true });
    const before = await snapshot(root.path);

    await assert.rejects(
      unpackCapsuleBuffer(gzipTar(manifestEntry(), rawEntry({ name: '../../escaped' }, 'evil')), dest),
      (error) => isKernelError(error, ErrorCode.ArchiveUnsafeEntry),
    );

    assert.equal(existsSync(resolve(dest, '../../escaped')), false);
    assert.deepEqual(await snapshot(root.path), before);
  });

  test('`unpackCapsuleBuffer()` refuses a declared 1 GiB file with ARCHIVE_TOO_LARGE before inflating it', async () => {
    const header = rawHeader({ name: 'huge.bin', size: 1024 ** 3 });
    const archive = await gzipZeros(Buffer.concat([manifestEntry(), header]), 1024 * 1024);

    const message = await assertRefused(archive, ErrorCode.ArchiveTooLarge);

    assert.match(message, /larger than 67108864 bytes/);
  });

  test('`unpackCapsuleBuffer()` stops a gzip bomb of zero bytes with ARCHIVE_TOO_LARGE at maxTotalBytes', async () => {
    const archive = await gzipZeros(manifestEntry(), 64 * 1024 * 1024);

    const message = await assertRefused(archive, ErrorCode.ArchiveTooLarge, { maxTotalBytes: 8 * 1024 * 1024 });

    assert.ok(archive.length < 200 * 1024, `the bomb should be small, it is ${archive.length} bytes`);
    assert.match(message, /inflates to more than 8388608 bytes/);
  });

  test('`unpackCapsuleBuffer()` stops a file bomb with ARCHIVE_TOO_LARGE when files add up past maxTotalBytes', async () => {
    const entries = [manifestEntry(), ...Array.from({ length: 3 }, (_, i) => rawEntry({ name: `part-${i}` }, Buffer.alloc(3 * 1024 * 1024)))];

    await assertRefused(gzipTar(...entries), ErrorCode.ArchiveTooLarge, { maxTotalBytes: 8 * 1024 * 1024 });
  });

  test('`unpackCapsuleBuffer()` refuses 20,000 tiny entries with ARCHIVE_TOO_LARGE', async () => {
    const entries = [manifestEntry(), ...Array.from({ length: 20_000 }, (_, i) => rawEntry({ name: `f/${i}` }, 'x'))];

    const message = await assertRefused(gzipTar(...entries), ErrorCode.ArchiveTooLarge);

    assert.match(message, /more than 10000 entries/);
  });

  const invalid: readonly { name: string; archive: () => Buffer; code: Code }[] = [
    { name: 'bytes that are not gzip', archive: () => Buffer.from('PK\u0003\u0004 not a gzip file'), code: ErrorCode.ArchiveInvalid },
    { name: 'a truncated gzip stream', archive: () => gzipTar(manifestEntry()).subarray(0, 40), code: ErrorCode.ArchiveInvalid },
    { name: 'an empty input', archive: () => Buffer.alloc(0), code: ErrorCode.ArchiveInvalid },
    { name: 'a bad header checksum', archive: () => { const entry = manifestEntry(); entry[0] = 0x63; return gzipTar(entry); }, code: ErrorCode.ArchiveInvalid },
    { name: 'no end-of-archive marker', archive: () => gzipRaw(manifestEntry()), code: ErrorCode.ArchiveInvalid },
    { name: 'a body cut short', archive: () => gzipRaw(rawHeader({ name: 'Capsule.toml', size: 4096 })), code: ErrorCode.ArchiveInvalid },
    { name: 'data after the end marker', archive: () => gzipRaw(Buffer.concat([manifestEntry(), Buffer.alloc(1024), Buffer.from('trailing')])), code: ErrorCode.ArchiveInvalid },
    { name: 'two entries with one path', archive: () => gzipTar(manifestEntry(), rawEntry({ name: 'a' }, '1'), rawEntry({ name: './a' }, '2')), code: ErrorCode.ArchiveInvalid },
    { name: 'a file where a directory must go', archive: () => gzipTar(manifestEntry(), rawEntry({ name: 'a' }, '1'), rawEntry({ name: 'a/b' }, '2')), code: ErrorCode.ArchiveInvalid },
    { name: 'no Capsule.toml', archive: () => gzipTar(rawEntry({ name: 'readme.md' }, 'hi')), code: ErrorCode.ArchiveInvalid },
    { name: 'an invalid Capsule.toml', archive: () => gzipTar(rawEntry({ name: 'Capsule.toml' }, '[package]\nname = "x"\n')), code: ErrorCode.ManifestInvalid },
    { name: 'a manifest naming a missing wasm file', archive: () => gzipTar(rawEntry({ name: 'Capsule.toml' }, minimalManifest())), code: ErrorCode.CapsuleInvalid },
  ];
  for (const { name, archive, code } of invalid) {
    test(`\`unpackCapsuleBuffer()\` refuses the archive with ${code} when it has ${name}`, async () => {
      await assertRefused(archive(), code);
    });
  }
});
