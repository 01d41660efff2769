import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { ErrorCode, isKernelError } from '../../errors/index.ts';
import { minimalManifest } from '../manifest/fixtures.test-support.ts';
import { writeFullCapsule } from './capsule-dir.test-support.ts';
import { packCapsule, packCapsuleBuffer } from './index.ts';

interface Listed {
  readonly path: string;
  readonly type: string;
  readonly mode: number | undefined;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  readonly uname: string | undefined;
  readonly mtime: number | undefined;
  readonly atime: Date | undefined;
}

/** Lists an archive with node-tar's own parser: an independent reader of our bytes. */
function list(archive: Buffer): Listed[] {
  const out: Listed[] = [];
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      out.push({ path: entry.path, type: entry.type, mode: entry.mode, uid: entry.uid, gid: entry.gid, uname: entry.uname, mtime: entry.mtime?.getTime(), atime: entry.atime });
      entry.resume();
    },
  });
  parser.end(archive);
  return out;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('packCapsule()', () => {
  test('`packCapsule()` writes the same bytes when mtimes, permissions and creation order change', async () => {
    await using dir = await tempDir('pack-');
    const a = join(dir.path, 'a');
    const b = join(dir.path, 'b');
    await writeFullCapsule(a);
    await writeFullCapsule(b, true);

    const first = await packCapsule(a, join(dir.path, 'first.capsule'));
    await utimes(join(a, 'weather.wasm'), new Date('2001-01-01'), new Date('2001-01-01'));
    await utimes(join(a, 'docs'), new Date('2011-01-01'), new Date('2011-01-01'));
    await chmod(join(a, 'helper.js'), 0o600);
    const second = await packCapsule(a, join(dir.path, 'second.capsule'));
    const other = await packCapsule(b, join(dir.path, 'other.capsule'));
    const inMemory = await packCapsuleBuffer(a);

    assert.equal(second.sha256, first.sha256);
    assert.equal(other.sha256, first.sha256);
    assert.equal(inMemory.sha256, first.sha256);
    assert.equal(sha256(await readFile(join(dir.path, 'first.capsule'))), first.sha256);
    assert.equal(first.bytes, inMemory.archive.length);
    assert.equal(first.entries, 10);
  });

  test('`packCapsule()` normalises every header and puts Capsule.toml first', async () => {
    await using dir = await tempDir('pack-');
    await writeFullCapsule(dir.path);

    const { archive } = await packCapsuleBuffer(dir.path);
    const entries = list(archive);

    assert.deepEqual(archive.subarray(4, 8), Buffer.alloc(4), 'gzip header mtime must be 0');
    assert.deepEqual(
      entries.map((e) => `${e.path} ${e.type} ${e.mode?.toString(8)}`),
      [
        'Capsule.toml File 644',
        'bin/ Directory 755',
        'bin/mcp-server File 755',
        'docs/ Directory 755',
        'docs/WEATHER.md File 644',
        'empty-dir/ Directory 755',
        'helper.js File 644',
        'skills/ Directory 755',
        'skills/forecast.md File 644',
        'weather.wasm File 644',
      ],
    );
    for (const entry of entries) {
      assert.deepEqual([entry.uid, entry.gid, entry.uname, entry.mtime, entry.atime], [0, 0, '', 0, undefined], entry.path);
    }
  });

  test('`packCapsule()` uses a pax header when a path does not fit ustar', async () => {
    await using dir = await tempDir('pack-');
    await writeFile(join(dir.path, 'Capsule.toml'), minimalManifest('long', 'w.wasm'));
    await writeFile(join(dir.path, 'w.wasm'), 'w');
    const deep = join(dir.path, 'd'.repeat(120));
    await mkdir(deep);
    await writeFile(join(deep, `é-${'n'.repeat(150)}.txt`), 'long');

    const { archive } = await packCapsuleBuffer(dir.path);

    assert.ok(gunzipSync(archive).includes('PaxHeader/'), 'expected a pax header');
    assert.ok(list(archive).some((e) => e.path === `${'d'.repeat(120)}/é-${'n'.repeat(150)}.txt`));
  });

  test('`packCapsule()` packs a symlink to a file inside as that file', async () => {
    await using dir = await tempDir('pack-');
    await writeFile(join(dir.path, 'Capsule.toml'), minimalManifest('linked', 'alias.wasm'));
    await writeFile(join(dir.path, 'real.wasm'), 'wasm bytes');
    await symlink('real.wasm', join(dir.path, 'alias.wasm'));

    const { archive } = await packCapsuleBuffer(dir.path);

    assert.deepEqual(
      list(archive).map((e) => `${e.path} ${e.type}`),
      ['Capsule.toml File', 'alias.wasm File', 'real.wasm File'],
    );
  });

  test('`packCapsule()` leaves its own output out when it writes inside the capsule', async () => {
    await using dir = await tempDir('pack-');
    await writeFile(join(dir.path, 'Capsule.toml'), minimalManifest('self', 'w.wasm'));
    await writeFile(join(dir.path, 'w.wasm'), 'w');

    const first = await packCapsule(dir.path, join(dir.path, 'self-0.1.0.capsule'));
    const second = await packCapsule(dir.path, join(dir.path, 'self-0.1.0.capsule'));

    assert.equal(second.sha256, first.sha256);
    assert.equal(second.entries, 2);
  });

  test('`packCapsule()` leaves out what the filter rejects when a filter is given', async () => {
    await using dir = await tempDir('pack-');
    await writeFile(join(dir.path, 'Capsule.toml'), minimalManifest('filtered', 'w.wasm'));
    await writeFile(join(dir.path, 'w.wasm'), 'w');
    await mkdir(join(dir.path, '.git', 'objects'), { recursive: true });
    await writeFile(join(dir.path, '.git', 'objects', 'x'), 'history');
    await writeFile(join(dir.path, 'notes.tmp'), 'scratch');

    const { archive } = await packCapsuleBuffer(dir.path, { filter: (path) => path !== '.git' && !path.endsWith('.tmp') });

    assert.deepEqual(list(archive).map((e) => e.path), ['Capsule.toml', 'w.wasm']);
  });

  const refusals: readonly { name: string; code: string; setup: (dir: string) => Promise<void>; says: RegExp }[] = [
    { name: 'there is no Capsule.toml', code: ErrorCode.CapsuleInvalid, setup: async (d) => writeFile(join(d, 'x'), 'x'), says: /no Capsule\.toml/ },
    { name: 'the manifest is invalid', code: ErrorCode.ManifestInvalid, setup: async (d) => writeFile(join(d, 'Capsule.toml'), '[package]\n'), says: /package\.name/ },
    { name: 'a file the manifest names is missing', code: ErrorCode.CapsuleInvalid, setup: async (d) => writeFile(join(d, 'Capsule.toml'), minimalManifest()), says: /component\[0\]\.wasm/ },
    {
      name: 'a symlink leaves the directory',
      code: ErrorCode.ArchiveUnsafeEntry,
      setup: async (d) => {
        await writeFile(join(d, 'Capsule.toml'), minimalManifest('x', 'w.wasm'));
        await writeFile(join(d, 'w.wasm'), 'w');
        await symlink('/etc/passwd', join(d, 'passwd'));
      },
      says: /leaves the capsule directory/,
    },
    {
      name: 'a symlink points to a directory',
      code: ErrorCode.ArchiveUnsafeEntry,
      setup: async (d) => {
        await writeFile(join(d, 'Capsule.toml'), minimalManifest('x', 'w.wasm'));
        await writeFile(join(d, 'w.wasm'), 'w');
        await mkdir(join(d, 'sub'));
        await symlink('sub', join(d, 'loop'));
      },
      says: /to a directory/,
    },
    {
      name: 'a symlink dangles',
      code: ErrorCode.ArchiveUnsafeEntry,
      setup: async (d) => {
        await writeFile(join(d, 'Capsule.toml'), minimalManifest('x', 'w.wasm'));
        await writeFile(join(d, 'w.wasm'), 'w');
        await symlink('nowhere', join(d, 'dangling'));
      },
      says: /dangling/,
    },
    {
      name: 'a name has a backslash',
      code: ErrorCode.ArchiveUnsafeEntry,
      setup: async (d) => {
        await writeFile(join(d, 'Capsule.toml'), minimalManifest('x', 'w.wasm'));
        await writeFile(join(d, 'w.wasm'), 'w');
        await writeFile(join(d, 'a\\b'), 'x');
      },
      says: /backslash/,
    },
    {
      name: 'there are more entries than allowed',
      code: ErrorCode.ArchiveTooLarge,
      setup: async (d) => {
        await writeFile(join(d, 'Capsule.toml'), minimalManifest('x', 'w.wasm'));
        for (const name of ['w.wasm', 'a', 'b', 'c']) await writeFile(join(d, name), name);
      },
      says: /more than 3 entries/,
    },
  ];
  for (const { name, code, setup, says } of refusals) {
    test(`\`packCapsule()\` refuses with ${code} when ${name}`, async () => {
      await using dir = await tempDir('pack-');
      const src = join(dir.path, 'src');
      await mkdir(src);
      await setup(src);

      await assert.rejects(packCapsule(src, join(dir.path, 'out.capsule'), { maxEntries: 3 }), (error) => {
        assert.ok(isKernelError(error, code as ErrorCode), `expected ${code}, got ${String(error)}`);
        assert.match(error.message, says);
        return true;
      });
    });
  }

  test('`packCapsule()` refuses a socket with ARCHIVE_UNSAFE_ENTRY and writes no output', async () => {
    await using dir = await tempDir('pack-');
    await writeFile(join(dir.path, 'Capsule.toml'), minimalManifest('x', 'w.wasm'));
    await writeFile(join(dir.path, 'w.wasm'), 'w');
    const server = createServer();
    await new Promise<void>((done) => server.listen(join(dir.path, 'control.sock'), done));
    try {
      await assert.rejects(packCapsule(dir.path, join(dir.path, 'out.capsule')), (error) => isKernelError(error, ErrorCode.ArchiveUnsafeEntry));
    } finally {
      await new Promise((done) => server.close(done));
    }

    await assert.rejects(readFile(join(dir.path, 'out.capsule')), { code: 'ENOENT' });
  });

  test('`packCapsule()` rethrows the abort reason when the signal is aborted', async () => {
    await using dir = await tempDir('pack-');
    await writeFullCapsule(dir.path);
    const reason = new Error('stop');

    await assert.rejects(packCapsule(dir.path, join(dir.path, 'out.capsule'), { signal: AbortSignal.abort(reason) }), (error) => error === reason);
  });
});
