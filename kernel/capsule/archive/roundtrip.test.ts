import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { create } from 'tar';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { ErrorCode, isKernelError } from '../../errors/index.ts';
import { FULL_MANIFEST } from '../manifest/fixtures.test-support.ts';
import { parseManifest } from '../manifest/index.ts';
import { writeFullCapsule } from './capsule-dir.test-support.ts';
import { gzipTar, rawEntry, snapshot, TYPE } from './hostile.test-support.ts';
import { packCapsule, packCapsuleBuffer, readCapsuleManifest, unpackCapsule, unpackCapsuleBuffer } from './index.ts';

// Kind, path, execute bit and content hash: what a round trip must keep (modes are normalised).
async function tree(dir: string): Promise<string[]> {
  return (await snapshot(dir)).map((line) => {
    const [kind, path, mode, digest] = line.split(' ');
    return `${kind} ${path} ${kind === 'file' && (parseInt(mode ?? '0', 8) & 0o111) !== 0 ? 'x' : '-'} ${digest}`;
  });
}

describe('unpackCapsule()', () => {
  test('`unpackCapsule()` restores the packed tree when the archive is a packed capsule', async () => {
    await using dir = await tempDir('roundtrip-');
    const src = join(dir.path, 'src');
    await mkdir(join(src, 'd'.repeat(120)), { recursive: true });
    await writeFullCapsule(src);
    await writeFile(join(src, 'd'.repeat(120), `é-${'n'.repeat(150)}.md`), 'a long path needs a pax header');
    await packCapsule(src, join(dir.path, 'weather.capsule'));
    await mkdir(join(dir.path, 'installed'));

    const result = await unpackCapsule(join(dir.path, 'weather.capsule'), join(dir.path, 'installed', 'weather'));

    assert.deepEqual(await tree(result.dir), await tree(src));
    assert.deepEqual(result.manifest, parseManifest(FULL_MANIFEST));
    assert.deepEqual([result.files, result.directories], [7, 5]);
    assert.ok(((await stat(join(result.dir, 'bin', 'mcp-server'))).mode & 0o111) !== 0);
    assert.deepEqual(await readdir(join(dir.path, 'installed')), ['weather']);
  });

  test('`unpackCapsuleBuffer()` restores the tree when the archive comes from packCapsuleBuffer()', async () => {
    await using dir = await tempDir('roundtrip-');
    const src = join(dir.path, 'src');
    await mkdir(src);
    await writeFullCapsule(src);
    const { archive } = await packCapsuleBuffer(src);

    const result = await unpackCapsuleBuffer(archive, join(dir.path, 'out'));

    assert.deepEqual(await tree(result.dir), await tree(src));
  });

  test('`unpackCapsuleBuffer()` accepts an archive made by node-tar with "./" prefixes and pax headers', async () => {
    await using dir = await tempDir('roundtrip-');
    const src = join(dir.path, 'src');
    await mkdir(join(src, 'd'.repeat(120)), { recursive: true });
    await writeFullCapsule(src);
    await writeFile(join(src, 'd'.repeat(120), `é-${'n'.repeat(150)}.md`), 'a long path needs a pax header');
    const chunks: Buffer[] = [];
    const stream = create({ gzip: true, cwd: src }, ['.']);
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);

    const result = await unpackCapsuleBuffer(Buffer.concat(chunks), join(dir.path, 'out'));

    assert.deepEqual(await tree(result.dir), await tree(src));
  });

  test('`unpackCapsule()` refuses with PATH_EXISTS when the destination exists', async () => {
    await using dir = await tempDir('roundtrip-');
    await writeFullCapsule(join(dir.path, 'src'));
    await packCapsule(join(dir.path, 'src'), join(dir.path, 'a.capsule'));
    await mkdir(join(dir.path, 'dest'));

    await assert.rejects(unpackCapsule(join(dir.path, 'a.capsule'), join(dir.path, 'dest')), (error) => isKernelError(error, ErrorCode.PathExists));
  });

  test('`unpackCapsule()` refuses with PATH_NOT_FOUND when the parent of the destination is missing', async () => {
    await using dir = await tempDir('roundtrip-');
    await writeFullCapsule(join(dir.path, 'src'));
    await packCapsule(join(dir.path, 'src'), join(dir.path, 'a.capsule'));

    await assert.rejects(unpackCapsule(join(dir.path, 'a.capsule'), join(dir.path, 'no', 'dest')), (error) => isKernelError(error, ErrorCode.PathNotFound));
  });

  test('`unpackCapsuleBuffer()` refuses with INVALID_ARGUMENT when a limit is not a positive integer', async () => {
    await using dir = await tempDir('roundtrip-');

    await assert.rejects(unpackCapsuleBuffer(Buffer.alloc(0), join(dir.path, 'dest'), { maxEntries: 0 }), (error) => isKernelError(error, ErrorCode.InvalidArgument));
    await assert.rejects(unpackCapsuleBuffer(Buffer.alloc(0), join(dir.path, 'dest'), { maxFileBytes: 1.5 }), (error) => isKernelError(error, ErrorCode.InvalidArgument));
  });

  test('`unpackCapsule()` refuses with NOT_FOUND when the archive file is missing', async () => {
    await using dir = await tempDir('roundtrip-');

    await assert.rejects(unpackCapsule(join(dir.path, 'none.capsule'), join(dir.path, 'dest')), (error) => isKernelError(error, ErrorCode.NotFound));
  });

  test('`unpackCapsuleBuffer()` rethrows the abort reason and leaves nothing when the signal is aborted', async () => {
    await using dir = await tempDir('roundtrip-');
    await writeFullCapsule(join(dir.path, 'src'));
    const { archive } = await packCapsuleBuffer(join(dir.path, 'src'));
    const reason = new Error('stop');

    await assert.rejects(unpackCapsuleBuffer(archive, join(dir.path, 'dest'), { signal: AbortSignal.abort(reason) }), (error) => error === reason);

    assert.equal(existsSync(join(dir.path, 'dest')), false);
    assert.deepEqual(await readdir(dir.path), ['src']);
  });
});

describe('readCapsuleManifest()', () => {
  test('`readCapsuleManifest()` returns the manifest of a file or a buffer', async () => {
    await using dir = await tempDir('roundtrip-');
    await writeFullCapsule(join(dir.path, 'src'));
    const file = join(dir.path, 'a.capsule');
    await packCapsule(join(dir.path, 'src'), file);
    const { archive } = await packCapsuleBuffer(join(dir.path, 'src'));

    assert.deepEqual(await readCapsuleManifest(file), parseManifest(FULL_MANIFEST));
    assert.deepEqual(await readCapsuleManifest(archive), parseManifest(FULL_MANIFEST));
  });

  test('`readCapsuleManifest()` stops at the manifest when later entries would be refused', async () => {
    const archive = gzipTar(
      rawEntry({ name: 'Capsule.toml' }, '[package]\nname = "early"\nversion = "1.0.0"\n'),
      rawEntry({ name: 'evil', type: TYPE.symlink, linkname: '/etc/passwd' }),
    );

    const manifest = await readCapsuleManifest(archive);

    assert.equal(manifest.package.name, 'early');
  });

  test('`readCapsuleManifest()` refuses with ARCHIVE_INVALID when there is no manifest', async () => {
    await assert.rejects(readCapsuleManifest(gzipTar(rawEntry({ name: 'a' }, 'a'))), (error) => isKernelError(error, ErrorCode.ArchiveInvalid));
  });

  test('`readCapsuleManifest()` refuses with ARCHIVE_UNSAFE_ENTRY when an unsafe entry comes before the manifest', async () => {
    const archive = gzipTar(rawEntry({ name: '../x' }, 'x'), rawEntry({ name: 'Capsule.toml' }, '[package]\nname = "late"\nversion = "1.0.0"\n'));

    await assert.rejects(readCapsuleManifest(archive), (error) => isKernelError(error, ErrorCode.ArchiveUnsafeEntry));
  });
});
