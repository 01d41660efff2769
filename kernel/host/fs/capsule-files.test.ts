import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { attenuateCapability, mintCapability, verifyCapability, type Right } from '../../caps/index.ts';
import { ErrorCode, isKernelError } from '../../errors/index.ts';
import type { FsCaller } from '../services.ts';
import { CapsuleFiles } from './capsule-files.ts';
import { createMemorySessions } from './memory-sessions.ts';

const key = randomBytes(32);
const SESSION = 'abc123';
const revoked = new Set<string>();
const caller = (grants: FsCaller['grants'] = [{ path: '/', rights: ['read', 'write', 'list', 'create', 'delete'] }]): FsCaller => ({ capsuleId: 'fs', grants });
const mint = (over: { capsuleId?: string; root?: string; rights?: Right[]; expiresAt?: number; session?: string | null } = {}): string =>
  mintCapability(key, {
    capsuleId: over.capsuleId ?? 'fs',
    root: over.root ?? '/',
    rights: over.rights ?? ['read', 'write', 'list', 'create', 'delete'],
    expiresAt: over.expiresAt ?? Date.now() + 3_600_000,
    ...(over.session === null ? {} : { session: over.session ?? SESSION }),
  });
const code = (c: string) => (e: unknown) => isKernelError(e) && e.code === c;

function setup(options: { installedDir?: string; chunk?: number } = {}) {
  const sessions = createMemorySessions({ hidden: ['.env'] });
  sessions.add(SESSION, { 'src/a.txt': 'alpha', 'src/b.txt': 'bravo', '.env': 'SECRET=1', 'docs/readme.md': 'read me' });
  const files = new CapsuleFiles({
    verify: (handle, capsuleId) => verifyCapability(handle, { key, capsuleId, now: Date.now(), isRevoked: (id) => revoked.has(id) }),
    sessions,
    installedDir: () => options.installedDir ?? null,
    ...(options.chunk === undefined ? {} : { readChunkBytes: options.chunk }),
  });
  return { sessions, files };
}

async function readAll(files: CapsuleFiles, who: FsCaller, handle: string, path: string, max = 1 << 20): Promise<{ text: string; chunks: number }> {
  const file = await files.open(who, handle, path, 'r');
  const parts: Uint8Array[] = [];
  for (;;) {
    const { bytes, eof } = await file.read(max);
    if (bytes.byteLength > 0) parts.push(bytes);
    if (eof) break;
  }
  await file.close();
  return { text: Buffer.concat(parts).toString('utf8'), chunks: parts.length };
}

describe('CapsuleFiles', () => {
  test('reads, lists, writes at close, makes, moves and removes through the session', async () => {
    const { sessions, files } = setup();
    const handle = mint();

    const listing = await files.readdir(caller(), handle, '/');
    const read = await readAll(files, caller(), handle, '/src/a.txt');
    const out = await files.open(caller(), handle, '/src/c.txt', 'w');
    out.write(new TextEncoder().encode('char'));
    out.write(new TextEncoder().encode('lie'));
    const beforeClose = sessions.text(SESSION, '/src/c.txt');
    await out.close();
    await files.mkdir(caller(), handle, '/out');
    await files.rename(caller(), handle, '/src/c.txt', '/out/c.txt');
    await files.remove(caller(), handle, '/src/b.txt');

    assert.deepEqual(listing.map((e) => `${e.kind}:${e.path}`), ['dir:/docs', 'dir:/src']);
    assert.equal(read.text, 'alpha');
    assert.equal(beforeClose, null);
    assert.equal(sessions.text(SESSION, '/out/c.txt'), 'charlie');
    assert.deepEqual(sessions.changes, ['write /src/c.txt', 'mkdir /out', 'rename /src/c.txt /out/c.txt', 'remove /src/b.txt']);
    assert.deepEqual(await files.stat(caller(), handle, '/src/b.txt'), null);
  });

  test('reads are capped at the chunk size and come back whole over several reads', async () => {
    const { sessions, files } = setup({ chunk: 4 });
    sessions.add('big000', { 'big.txt': 'x'.repeat(10) + 'END' });

    const read = await readAll(files, caller(), mint({ session: 'big000' }), '/big.txt');

    assert.equal(read.text, `${'x'.repeat(10)}END`);
    assert.equal(read.chunks, 4);
  });

  test('refuses a bad handle with HANDLE_INVALID: forged, another capsule, expired, revoked, widened', async () => {
    const { files } = setup();
    const good = mint();
    const narrowed = attenuateCapability(good, { root: '/src', rights: ['read'] });
    const revokedHandle = mint();
    revoked.add(verifyCapability(revokedHandle, { key, capsuleId: 'fs', now: Date.now(), isRevoked: () => false }).id);
    const forged = mintCapability(randomBytes(32), { capsuleId: 'fs', root: '/', rights: ['read'], expiresAt: Date.now() + 60_000, session: SESSION });
    const bad = [forged, mint({ capsuleId: 'other' }), mint({ expiresAt: Date.now() - 1 }), revokedHandle, `${narrowed.slice(0, -4)}AAAA`, 'astr1_AAAA', ''];

    for (const handle of bad) await assert.rejects(files.stat(caller(), handle, '/src/a.txt'), code(ErrorCode.HandleInvalid), handle);
  });

  test('confines paths to the handle root: `..`, NUL and outside paths are PATH_INVALID or PATH_ESCAPE', async () => {
    const { files } = setup();
    const handle = attenuateCapability(mint(), { root: '/src' });

    await assert.rejects(files.open(caller(), handle, '/src/../.env', 'r'), code(ErrorCode.PathEscape));
    await assert.rejects(files.open(caller(), handle, '/docs/readme.md', 'r'), code(ErrorCode.PathEscape));
    await assert.rejects(files.open(caller(), handle, '/etc/passwd', 'r'), code(ErrorCode.PathEscape));
    await assert.rejects(files.open(caller(), handle, '/src/a.txt\0', 'r'), code(ErrorCode.PathInvalid));
    await assert.rejects(files.readdir(caller(), handle, 'C:\\src'), code(ErrorCode.PathInvalid));
    assert.equal((await readAll(files, caller(), handle, 'src/a.txt')).text, 'alpha');
  });

  test('needs the right on the handle AND in the manifest grants', async () => {
    const { files } = setup();
    const readOnly = mint({ rights: ['read', 'list'] });
    const manifestSrcRead = caller([{ path: '/src', rights: ['read'] }]);

    await assert.rejects(files.open(caller(), readOnly, '/src/a.txt', 'w'), code(ErrorCode.CapabilityDenied));
    await assert.rejects(files.open(caller(), readOnly, '/src/new.txt', 'w'), code(ErrorCode.CapabilityDenied));
    await assert.rejects(files.mkdir(caller(), readOnly, '/x'), code(ErrorCode.CapabilityDenied));
    await assert.rejects(files.remove(caller(), readOnly, '/src/a.txt'), code(ErrorCode.CapabilityDenied));
    await assert.rejects(files.rename(caller(), mint({ rights: ['delete'] }), '/src/a.txt', '/src/z.txt'), code(ErrorCode.CapabilityDenied));
    await assert.rejects(files.readdir(caller(), mint({ rights: ['read'] }), '/src'), code(ErrorCode.CapabilityDenied));
    // A full handle cannot exceed the manifest.
    await assert.rejects(files.open(manifestSrcRead, mint(), '/docs/readme.md', 'r'), code(ErrorCode.CapabilityDenied));
    await assert.rejects(files.open(manifestSrcRead, mint(), '/src/a.txt', 'w'), code(ErrorCode.CapabilityDenied));
    await assert.rejects(files.readdir(manifestSrcRead, mint(), '/src'), code(ErrorCode.CapabilityDenied));
    assert.equal((await readAll(files, manifestSrcRead, mint(), '/src/a.txt')).text, 'alpha');
  });

  test('hidden paths stay hidden and unwritable; a handle without a session reaches no overlay', async () => {
    const { files } = setup();

    await assert.rejects(files.open(caller(), mint(), '/.env', 'r'), code(ErrorCode.PathIgnored));
    await assert.rejects(files.open(caller(), mint(), '/.env', 'w'), code(ErrorCode.PathIgnored));
    await assert.rejects(files.stat(caller(), mint(), '/.env'), code(ErrorCode.PathIgnored));
    await assert.rejects(files.stat(caller(), mint({ session: null }), '/src/a.txt'), code(ErrorCode.CapabilityDenied));
    await assert.rejects(files.stat(caller(), mint({ session: 'gone00' }), '/src/a.txt'), code(ErrorCode.SessionNotFound));
  });

  test("a write fd re-checks the handle at close: a handle revoked meanwhile lands nothing", async () => {
    const { sessions, files } = setup();
    const handle = mint();
    const out = await files.open(caller(), handle, '/src/late.txt', 'w');
    out.write(new TextEncoder().encode('late'));

    revoked.add(verifyCapability(handle, { key, capsuleId: 'fs', now: Date.now(), isRevoked: () => false }).id);

    await assert.rejects(out.close(), code(ErrorCode.HandleInvalid));
    assert.equal(sessions.text(SESSION, '/src/late.txt'), null);
  });

  test('the capsule files mount is read-only and confined to the installed directory', async () => {
    await using dir = await tempDir();
    const installed = join(dir.path, 'installed');
    await mkdir(join(installed, 'assets'), { recursive: true });
    await writeFile(join(installed, 'assets', 'hello.txt'), 'hi');
    await writeFile(join(dir.path, 'outside.txt'), 'SECRET');
    await symlink(join(dir.path, 'outside.txt'), join(installed, 'assets', 'leak.txt'));
    const { files } = setup({ installedDir: installed });
    const handle = mint();

    const text = (await readAll(files, caller([]), handle, '/.capsule/assets/hello.txt')).text;
    const listing = await files.readdir(caller([]), handle, '/.capsule/assets');

    assert.equal(text, 'hi');
    assert.deepEqual(listing.map((e) => e.path), ['/.capsule/assets/hello.txt']);
    await assert.rejects(files.open(caller(), handle, '/.capsule/assets/leak.txt', 'r'), code(ErrorCode.PathEscape));
    await assert.rejects(files.open(caller(), handle, '/.capsule/assets/x.txt', 'w'), code(ErrorCode.ReadOnly));
    await assert.rejects(files.remove(caller(), handle, '/.capsule/assets/hello.txt'), code(ErrorCode.ReadOnly));
  });
});
