import assert from 'node:assert/strict';
import { cp, lstat, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { vfsProjection } from '../../../projections/vfs.ts';
import { isKernelError } from '../../errors/index.ts';
import { openEventLog } from '../../log/index.ts';
import { VfsService } from './service.ts';

type Op =
  | { op: 'write'; path: string; text: string }
  | { op: 'rm'; path: string }
  | { op: 'mkdir'; path: string }
  | { op: 'mv'; from: string; to: string };

const names = ['a.txt', 'd', 'e', 'f', 'x', 'g'];
const depth = (n: number) => fc.array(fc.constantFrom(...names), { minLength: n, maxLength: n });
// Shallow paths are likelier to exist, so more operations succeed and compose.
const pathArb = fc.oneof({ arbitrary: depth(1), weight: 4 }, { arbitrary: depth(2), weight: 3 }, { arbitrary: depth(3), weight: 1 }).map((p) => `/${p.join('/')}`);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('write' as const), path: pathArb, text: fc.constantFrom('', 'one', 'two\n', 'ü') }),
  fc.record({ op: fc.constant('rm' as const), path: pathArb }),
  fc.record({ op: fc.constant('mkdir' as const), path: pathArb }),
  fc.record({
    op: fc.constant('mv' as const),
    from: fc.oneof(fc.constantFrom('/a.txt', '/d', '/f', '/d/x', '/d/e'), pathArb),
    to: fc.oneof(fc.constantFrom('/g', '/d/g', '/f/g', '/x'), pathArb),
  }),
);

async function seedLower(dir: string): Promise<void> {
  await mkdir(join(dir, 'd', 'e'), { recursive: true });
  await mkdir(join(dir, 'f'));
  await writeFile(join(dir, 'a.txt'), 'lower a');
  await writeFile(join(dir, 'd', 'x'), 'lower d/x');
  await writeFile(join(dir, 'd', 'e', 'a.txt'), 'lower d/e/a');
}

async function kindOf(path: string): Promise<'file' | 'dir' | null> {
  const stats = await lstat(path).catch(() => null);
  return stats === null ? null : stats.isDirectory() ? 'dir' : 'file';
}

const parentOf = (p: string): string => (p.lastIndexOf('/') === 0 ? '/' : p.slice(0, p.lastIndexOf('/')));
const within = (root: string, p: string): boolean => p === root || p.startsWith(`${root}/`);

/** The same operation on a plain directory, with the overlay's preconditions in the same order. */
async function applyPlain(root: string, op: Op): Promise<string | null> {
  const host = (p: string): string => join(root, p);
  if (op.op === 'write') {
    if ((await kindOf(host(parentOf(op.path)))) !== 'dir') return 'PATH_NOT_FOUND';
    if ((await kindOf(host(op.path))) === 'dir') return 'PATH_IS_DIRECTORY';
    await writeFile(host(op.path), op.text);
  } else if (op.op === 'mkdir') {
    if ((await kindOf(host(parentOf(op.path)))) !== 'dir') return 'PATH_NOT_FOUND';
    if ((await kindOf(host(op.path))) !== null) return 'PATH_EXISTS';
    await mkdir(host(op.path));
  } else if (op.op === 'rm') {
    if ((await kindOf(host(op.path))) === null) return 'PATH_NOT_FOUND';
    await rm(host(op.path), { recursive: true });
  } else {
    if ((await kindOf(host(op.from))) === null) return 'PATH_NOT_FOUND';
    if (within(op.from, op.to)) return 'PATH_INVALID';
    if ((await kindOf(host(parentOf(op.to)))) !== 'dir') return 'PATH_NOT_FOUND';
    if ((await kindOf(host(op.to))) !== null) return 'PATH_EXISTS';
    await rename(host(op.from), host(op.to));
  }
  return null;
}

async function applyOverlay(vfs: VfsService, session: string, op: Op): Promise<string | null> {
  const source = 'user:test';
  try {
    if (op.op === 'write') await vfs.write(session, op.path, Buffer.from(op.text), { source });
    else if (op.op === 'mkdir') await vfs.mkdir(session, op.path, { source });
    else if (op.op === 'rm') await vfs.remove(session, op.path, { source });
    else await vfs.rename(session, op.from, op.to, { source });
    return null;
  } catch (error) {
    if (isKernelError(error)) return error.code;
    throw error;
  }
}

/** Every path of a plain tree: `dir` or the file's text. */
async function snapshotDir(root: string, at = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(join(root, at))).sort()) {
    const rel = `${at}/${name}`;
    if ((await kindOf(join(root, rel))) === 'dir') Object.assign(out, { [rel]: 'dir' }, await snapshotDir(root, rel));
    else out[rel] = await readFile(join(root, rel), 'utf8');
  }
  return out;
}

/** The same snapshot through the overlay's listing and reads. */
async function snapshotOverlay(vfs: VfsService, session: string, at = '/'): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await vfs.list(session, at)) {
    if (entry.kind === 'dir') Object.assign(out, { [entry.path]: 'dir' }, await snapshotOverlay(vfs, session, entry.path));
    else out[entry.path] = Buffer.from(await vfs.read(session, entry.path)).toString('utf8');
  }
  return out;
}

test('the overlay behaves like a plain copy of the lower for any sequence of writes, deletes, renames and mkdirs', async () => {
  await using dir = await tempDir();
  await using log = await openEventLog({ path: join(dir.path, 'log.mdb'), create: { origin: 'test1' }, projections: [vfsProjection] });
  const vfs = new VfsService({ state: () => log.projection('vfs'), blob: (d) => log.getBlob(d), append: (e) => log.append(e) });
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 20 }), async (ops) => {
      run += 1;
      const lower = join(dir.path, `lower-${run}`);
      const plain = join(dir.path, `plain-${run}`);
      await mkdir(lower);
      await seedLower(lower);
      await cp(lower, plain, { recursive: true });
      const before = await snapshotDir(lower);
      const { id } = await vfs.open(lower, { source: 'user:test' });
      for (const op of ops) {
        const expected = await applyPlain(plain, op);
        const actual = await applyOverlay(vfs, id, op);
        assert.equal(actual, expected, `${JSON.stringify(op)}`);
      }
      const wanted = await snapshotDir(plain);
      assert.deepEqual(await snapshotOverlay(vfs, id), wanted);
      assert.deepEqual(await snapshotDir(lower), before, 'the lower is untouched before commit');
      await vfs.commit(id, { source: 'user:test' });
      assert.deepEqual(await snapshotDir(lower), wanted, 'after commit the lower equals the plain copy');
      await rm(lower, { recursive: true });
      await rm(plain, { recursive: true });
    }),
    { numRuns: 80 },
  );
});
