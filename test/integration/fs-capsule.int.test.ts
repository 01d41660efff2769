import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, readlink, realpath, rename, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildCapsuleWasm } from '../../capsules/tools/build.ts';
import { bootOwner, type Owner } from '../../kernel/boot.ts';
import { capsuleFiles } from '../../kernel/capsule/installed/index.ts';
import { decodeToken, encodeAttenuationBlock, encodeToken } from '../../kernel/caps/token-codec.ts';
import { mintCapability } from '../../kernel/caps/index.ts';
import { ErrorCode, isKernelError } from '../../kernel/errors/index.ts';
import { createHomeMarker } from '../../kernel/home/index.ts';
import { acquireOwnerLock } from '../../kernel/ipc/index.ts';
import { normalizeVirtualPath } from '../../kernel/vfs/path/index.ts';
import { allProjections } from '../../projections/index.ts';
import { buildAndInstall } from '../support/capsule-install.ts';
import { repoRoot } from '../support/repo-root.ts';
import { tempDir, type TempDir } from '../support/temp-dir.ts';

const FS_CAPSULE = join(repoRoot, 'capsules', 'fs');
const HOSTILE = join(repoRoot, 'fixtures', 'capsules', 'hostile-fs');
const ALL = ['read', 'write', 'list', 'create', 'delete'];
const HOUR = 3_600_000;
/** Bigger than the kernel's 64 KiB read chunk, so a read needs several chunks. */
const BIG_BYTES = 200 * 1024 + 17;

interface World extends AsyncDisposable {
  readonly dir: TempDir;
  readonly owner: Owner;
  readonly work: string;
  readonly outside: string;
  readonly secrets: readonly string[];
  readonly big: string;
  readonly session: string;
}

async function owner(home: string): Promise<Owner> {
  await createHomeMarker(home);
  const lock = await acquireOwnerLock(home, { role: 'command' });
  assert.ok(lock !== null);
  return bootOwner({ home, role: 'command', lock, projections: allProjections, materializers: [capsuleFiles], serve: false });
}

/**
 * A workspace (the lower dir) with a secret next to it (outside the root), a `.env`, an
 * `.astridignore`d directory, a symlink leaving the root and a big file; a home with both
 * capsules installed and a session open over the workspace.
 */
async function world(): Promise<World> {
  const dir = await tempDir('astrid-fs-');
  const tag = randomBytes(8).toString('hex');
  const secrets = [`CANARY-${tag}`, `ENVSECRET-${tag}`, `PRIVATE-${tag}`];
  const outside = join(dir.path, 'outside');
  const work = join(dir.path, 'work');
  await mkdir(outside);
  await writeFile(join(outside, 'canary.txt'), `${secrets[0]}\n`);
  await mkdir(join(work, 'src', 'lib'), { recursive: true });
  await mkdir(join(work, 'private'));
  await mkdir(join(work, '.git'));
  await writeFile(join(work, 'src', 'a.ts'), 'export const a = 1;\n// needle in a\n');
  await writeFile(join(work, 'src', 'lib', 'b.ts'), 'const b = "no match";\nconst c = "needle twice needle";\n');
  await writeFile(join(work, '.env'), `TOKEN=${secrets[1]} needle\n`);
  await writeFile(join(work, '.astridignore'), 'private/\n');
  await writeFile(join(work, 'private', 'notes.txt'), `${secrets[2]} needle\n`);
  await writeFile(join(work, '.git', 'config'), '[core]\n');
  await symlink(join(outside, 'canary.txt'), join(work, 'escape'));
  // In-root links to hidden paths: a visible name must not open a window on them.
  await symlink('.env', join(work, 'innocent'));
  await symlink('private', join(work, 'peek'));
  const line = 'abcdefghijklmnopqrstuvwxyz0123456789-'.repeat(3) + '\n';
  const big = (line.repeat(Math.ceil(BIG_BYTES / line.length)).slice(0, BIG_BYTES - 11) + 'needle END\n');
  await writeFile(join(work, 'big.txt'), big);
  const o = await owner(join(dir.path, 'home'));
  await buildAndInstall(o.kernel, FS_CAPSULE, dir.path);
  await buildAndInstall(o.kernel, HOSTILE, dir.path);
  const session = (await o.kernel.vfsOpen(work, { source: 'user:test' })).id;
  return {
    dir,
    owner: o,
    work,
    outside,
    secrets,
    big,
    session,
    async [Symbol.asyncDispose]() {
      await o.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

async function mint(w: World, capsuleId: string, over: { root?: string; rights?: string[]; expiresAt?: number } = {}): Promise<string> {
  const minted = await w.owner.kernel.capMint({
    capsuleId,
    root: over.root ?? '/',
    rights: over.rights ?? ALL,
    expiresAt: over.expiresAt ?? Date.now() + HOUR,
    session: w.session,
  });
  return minted.handle;
}

const outputs: string[] = [];

async function call(w: World, capsuleId: string, fn: string, input: unknown): Promise<string> {
  const { output } = await w.owner.kernel.callCapsule(capsuleId, fn, JSON.stringify(input));
  outputs.push(output);
  return output;
}

/** The fs capsule's answer, or the capsule code it failed with. */
async function tool(w: World, fn: string, input: Record<string, unknown>): Promise<{ ok: true; value: Record<string, unknown> } | { ok: false; code: string }> {
  try {
    return { ok: true, value: JSON.parse(await call(w, 'fs', fn, input)) as Record<string, unknown> };
  } catch (error) {
    if (isKernelError(error, ErrorCode.CapsuleFailed)) {
      outputs.push(error.message);
      return { ok: false, code: String(error.details?.['capsuleCode']) };
    }
    throw error;
  }
}

interface Outcome {
  ok: boolean;
  code: string;
  out: string;
}

async function attempt(w: World, input: Record<string, unknown>, fn = 'attempt'): Promise<Outcome> {
  return JSON.parse(await call(w, 'hostile', fn, input)) as Outcome;
}

before(async () => {
  // Build both once up front (cached afterwards) so no test pays the compiler.
  await buildCapsuleWasm(FS_CAPSULE);
  await buildCapsuleWasm(HOSTILE);
});

describe('fs capsule over a real session', { timeout: 300_000 }, () => {
  let w: World;
  before(async () => {
    w = await world();
  });
  after(async () => {
    await w[Symbol.asyncDispose]();
  });

  test('read_file reads a file bigger than the chunk size whole, and small ones', async () => {
    const handle = await mint(w, 'fs');

    const big = await tool(w, 'read_file', { handle, path: '/big.txt' });
    const small = await tool(w, 'read_file', { handle, path: 'src/a.ts' });

    assert.ok(big.ok);
    assert.equal(big.value['size'], BIG_BYTES);
    assert.equal(big.value['content'], w.big);
    assert.ok(small.ok);
    assert.equal(small.value['content'], 'export const a = 1;\n// needle in a\n');
  });

  test('list_dir shows the visible tree only: no .env, no ignored dir, no escaping symlink', async () => {
    const handle = await mint(w, 'fs');

    const listed = await tool(w, 'list_dir', { handle, path: '/', recursive: true });

    assert.ok(listed.ok);
    const paths = (listed.value['entries'] as Array<{ path: string }>).map((e) => e.path);
    assert.ok(paths.includes('/src/lib/b.ts') && paths.includes('/big.txt'), paths.join(','));
    for (const hidden of ['/.env', '/private', '/private/notes.txt', '/escape', '/.git', '/.git/config', '/innocent', '/peek', '/peek/notes.txt']) {
      assert.ok(!paths.includes(hidden), `${hidden} is listed`);
    }
  });

  test('hidden files are unreadable and unwritable: .env, .astridignored paths, .git internals', async () => {
    const handle = await mint(w, 'fs');

    const reads = await Promise.all(['/.env', '/private/notes.txt', '/.git/config'].map((path) => tool(w, 'read_file', { handle, path })));
    const writes = [];
    for (const path of ['/.env', '/private/new.txt', '/.git/config', '/.git/hooks-new', '/.astridignore']) {
      writes.push(await tool(w, 'write_file', { handle, path, content: 'x' }));
    }

    for (const r of [...reads, ...writes]) assert.deepEqual(r, { ok: false, code: ErrorCode.PathIgnored });
    assert.deepEqual(await w.owner.kernel.vfsDiff(w.session), []);
  });

  test('write_file lands in the session overlay as one write, not in the lower dir', async () => {
    const handle = await mint(w, 'fs');
    const before = w.owner.log.head().seq;

    const wrote = await tool(w, 'write_file', { handle, path: '/src/new.ts', content: 'export const n = "zoë";\n' });
    const events = [...w.owner.log.read({ from: before + 1 })].filter((e) => e.type.startsWith('vfs.'));
    const read = await w.owner.kernel.vfsRead(w.session, '/src/new.ts');

    assert.deepEqual(wrote, { ok: true, value: { path: '/src/new.ts', size: 25 } });
    assert.deepEqual(events.map((e) => [e.type, e.source]), [['vfs.file.written', 'capsule:fs']]);
    assert.equal(Buffer.from(read).toString('utf8'), 'export const n = "zoë";\n');
    await assert.rejects(stat(join(w.work, 'src', 'new.ts')));
    await w.owner.kernel.vfsRemove(w.session, '/src/new.ts', { source: 'user:test' });
  });

  test('search finds visible matches only, bounded by max_results', async () => {
    const handle = await mint(w, 'fs');

    const all = await tool(w, 'search', { handle, path: '/', query: 'needle' });
    const one = await tool(w, 'search', { handle, path: '/', query: 'needle', max_results: 1 });

    assert.ok(all.ok && one.ok);
    const matches = (all.value['matches'] as Array<{ path: string; line: number }>).map((m) => `${m.path}:${m.line}`).sort();
    assert.deepEqual(matches, [`/big.txt:${w.big.split('\n').length - 1}`, '/src/a.ts:2', '/src/lib/b.ts:2']);
    assert.equal(all.value['truncated'], false);
    assert.equal((one.value['matches'] as unknown[]).length, 1);
    assert.equal(one.value['truncated'], true);
  });
});

describe('hostile capsule against the fs airlocks', { timeout: 300_000 }, () => {
  let w: World;
  let outsideBefore: { dir: number; file: number; text: string };
  before(async () => {
    w = await world();
    outsideBefore = await outsideState(w);
  });
  after(async () => {
    await w[Symbol.asyncDispose]();
  });

  async function outsideState(world: World): Promise<{ dir: number; file: number; text: string }> {
    const file = join(world.outside, 'canary.txt');
    return { dir: (await stat(world.outside)).mtimeMs, file: (await stat(file)).mtimeMs, text: await readFile(file, 'utf8') };
  }

  test('path tricks are refused: `..`, absolute host paths, NUL, paths outside the root, a symlink out', async () => {
    const src = await mint(w, 'hostile', { root: '/src' });
    const root = await mint(w, 'hostile');
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ op: 'read', handle: src, path: '/src/../.env' }, ErrorCode.PathEscape],
      [{ op: 'read', handle: root, path: '../outside/canary.txt' }, ErrorCode.PathEscape],
      [{ op: 'read', handle: src, path: join(w.outside, 'canary.txt') }, ErrorCode.PathEscape],
      [{ op: 'read', handle: src, path: '/etc/passwd' }, ErrorCode.PathEscape],
      [{ op: 'read', handle: root, path: '/src/a.ts\u0000' }, ErrorCode.PathInvalid],
      [{ op: 'read', handle: root, path: '/src\\a.ts' }, ErrorCode.PathInvalid],
      [{ op: 'read', handle: root, path: '/escape' }, ErrorCode.PathEscape],
      [{ op: 'stat', handle: root, path: '/escape' }, ErrorCode.PathEscape],
      [{ op: 'write', handle: root, path: '/escape', data: 'x' }, ErrorCode.PathEscape],
      [{ op: 'list', handle: src, path: '/' }, ErrorCode.PathEscape],
      [{ op: 'rename', handle: src, path: '/src/a.ts', to: '/a.ts' }, ErrorCode.PathEscape],
      [{ op: 'write', handle: root, path: '/.env', data: 'x' }, ErrorCode.PathIgnored],
      [{ op: 'read', handle: root, path: '/innocent' }, ErrorCode.PathIgnored],
      [{ op: 'read', handle: root, path: '/peek/notes.txt' }, ErrorCode.PathIgnored],
      [{ op: 'list', handle: root, path: '/peek' }, ErrorCode.PathIgnored],
      [{ op: 'remove', handle: root, path: '/.git/config' }, ErrorCode.PathIgnored],
    ];

    for (const [input, code] of cases) {
      const got = await attempt(w, input);
      assert.deepEqual([got.ok, got.code], [false, code], JSON.stringify(input));
    }
    const listed = await attempt(w, { op: 'list', handle: root, path: '/' });
    for (const hidden of ['/escape', '/.env', '/innocent', '/peek', '/private']) assert.ok(listed.ok && !listed.out.includes(hidden), listed.out);
  });

  test('bad handles are refused with HANDLE_INVALID: forged, tampered, another capsule, widened, revoked, expired', async () => {
    const narrow = await mint(w, 'hostile', { root: '/src', rights: ['read', 'list'] });
    const decoded = decodeToken(narrow);
    const caveat = (caveats: Parameters<typeof encodeAttenuationBlock>[1]): string => {
      const block = encodeAttenuationBlock(randomBytes(16), caveats);
      return encodeToken([...decoded.blocks.map((b) => b.bytes), block], createHmac('sha256', decoded.tag).update(block).digest());
    };
    const revoked = await mint(w, 'hostile');
    await w.owner.kernel.capRevoke(revoked, { source: 'user:test' });
    const tampered = `${narrow.slice(0, 20)}${narrow[20] === 'A' ? 'B' : 'A'}${narrow.slice(21)}`;
    const bad = {
      forged: mintCapability(randomBytes(32), { capsuleId: 'hostile', root: '/', rights: ['read'], expiresAt: Date.now() + HOUR, session: w.session }),
      tampered,
      otherCapsule: await mint(w, 'fs'),
      widenedRoot: caveat({ root: normalizeVirtualPath('/') }),
      revoked,
      expired: await mint(w, 'hostile', { expiresAt: Date.now() - 1000 }),
      garbage: 'astr1_AAAA',
    };

    for (const [name, handle] of Object.entries(bad)) {
      for (const input of [{ op: 'read', handle, path: '/src/a.ts' }, { op: 'write', handle, path: '/src/x.ts', data: 'x' }, { op: 'list', handle, path: '/src' }]) {
        const got = await attempt(w, input);
        assert.deepEqual([got.ok, got.code], [false, ErrorCode.HandleInvalid], `${name} ${input.op}`);
      }
    }
    // A caveat claiming more rights is intersected away: the narrow handle still cannot write.
    const moreRights = caveat({ rights: 0b11111 });
    assert.equal((await attempt(w, { op: 'read', handle: moreRights, path: '/src/a.ts' })).ok, true);
    assert.equal((await attempt(w, { op: 'write', handle: moreRights, path: '/src/x.ts', data: 'x' })).code, ErrorCode.CapabilityDenied);
    assert.equal((await attempt(w, { op: 'mkdir', handle: narrow, path: '/src/d' })).code, ErrorCode.CapabilityDenied);
  });

  test('an fd does not outlive its call', async () => {
    const handle = await mint(w, 'hostile');

    const opened = await attempt(w, { op: 'open', handle, path: '/src/a.ts' });
    const stale = await attempt(w, { op: 'fd', handle, path: '', fd: Number(opened.out) });

    assert.equal(opened.ok, true);
    assert.deepEqual([stale.ok, stale.code], [false, ErrorCode.NotFound]);
  });

  test('a symlink swapped in after the open changes nothing: the fd keeps reading the opened file', async () => {
    const handle = await mint(w, 'hostile');
    const original = `ORIGINAL-${'o'.repeat(70_000)}-END`;
    const target = join(w.work, 'swap.txt');
    await writeFile(target, original);
    const real = await realpath(target);

    const running = call(w, 'hostile', 'swap_read', { op: 'swap', handle, path: '/swap.txt' });
    await waitForOpenFd(real);
    await rename(target, join(w.work, 'swap-old.txt'));
    await symlink(join(w.outside, 'canary.txt'), target);
    await w.owner.kernel.publish([{ subject: 'hostile.go', payload: {} }], { source: 'user:test' });
    const got = JSON.parse(await running) as Outcome;

    assert.equal(got.ok, true, `${got.code} ${got.out.slice(0, 40)}`);
    assert.equal(got.out, `${original}|${ErrorCode.PathEscape}`);
  });

  test('effects of a closed write survive a later trap (reviewable, discardable); an unclosed write lands nothing', async () => {
    const handle = await mint(w, 'hostile');

    await assert.rejects(call(w, 'hostile', 'write_then_trap', { op: 'x', handle, path: '/src/kept.ts', data: 'kept' }), (e) =>
      isKernelError(e, ErrorCode.CapsuleTrapped));
    await call(w, 'hostile', 'write_unclosed', { op: 'x', handle, path: '/src/dropped.ts', data: 'dropped' });
    const diff = await w.owner.kernel.vfsDiff(w.session);

    assert.deepEqual(diff.map((d) => d.path), ['/src/kept.ts']);
    assert.equal(Buffer.from(await w.owner.kernel.vfsRead(w.session, '/src/kept.ts')).toString(), 'kept');
    assert.equal(await w.owner.kernel.vfsStat(w.session, '/src/dropped.ts'), null);
    await w.owner.kernel.vfsRemove(w.session, '/src/kept.ts', { source: 'user:test' });
  });

  test('no byte from outside the root, .env or an ignored path reached any output, event, blob or file of the home', async () => {
    const events = [...w.owner.log.read({})];
    const haystacks = [...outputs, ...events.map((e) => JSON.stringify(e))];
    for (const e of events) {
      const data = e.data as Record<string, unknown> | undefined;
      const blob = typeof data?.['blob'] === 'string' ? w.owner.log.getBlob(data['blob']) : null;
      if (blob !== null) haystacks.push(Buffer.from(blob).toString('latin1'));
    }
    const home = join(w.dir.path, 'home');
    for (const file of await filesUnder(home)) haystacks.push((await readFile(file)).toString('latin1'));

    for (const secret of w.secrets) {
      for (const text of haystacks) assert.ok(!text.includes(secret), `secret ${secret} leaked`);
    }
    assert.ok(outputs.length > 20, 'the hostile attempts ran');
    assert.deepEqual(await outsideState(w), outsideBefore);
    assert.deepEqual((await readdir(w.outside)).sort(), ['canary.txt']);
  });
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Waits until this process holds a descriptor on `real` (the host opened it for the capsule). */
async function waitForOpenFd(real: string): Promise<void> {
  for (;;) {
    for (const fd of await readdir('/proc/self/fd')) {
      const link = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
      if (link === real) return;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}
