import assert from 'node:assert/strict';
import { lstat, mkdir, readFile, realpath, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { ErrorCode, isKernelError } from '../../errors/index.ts';
import { openInRoot } from './open-in-root.ts';
import { resolveInRoot } from './resolve-in-root.ts';

/** A root with links of every kind next to an `outside` directory holding a secret. */
async function buildTree(base: string): Promise<{ root: string; outside: string }> {
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  await mkdir(join(root, 'a', 'b'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(root, 'a', 'b', 'f.txt'), 'inside');
  await writeFile(join(outside, 'secret.txt'), 'secret');
  const rootReal = await realpath(root);
  const links: Array<[string, string]> = [
    ['a/link-up', '..'],
    ['in', 'a/b'],
    ['abs-in', `${rootReal}/a`],
    ['esc', '../outside'],
    ['abs-out', join(await realpath(outside))],
    ['deep-esc', 'a/../../outside'],
    ['loop1', 'loop2'],
    ['loop2', 'loop1'],
    ['dangling', 'a/missing.txt'],
    ['dangling-out', '../outside/new.txt'],
    ['file-link', 'a/b/f.txt'],
    ['chain', 'in'],
    ['dotdot-ok', 'a/b/../b'],
    ['root-abs', '/'],
  ];
  for (const [at, target] of links) await symlink(target, join(root, at));
  return { root, outside };
}

async function nearestExisting(path: string): Promise<string> {
  let at = path;
  for (;;) {
    try {
      await lstat(at);
      return at;
    } catch {
      at = dirname(at);
    }
  }
}

describe('resolveInRoot()', () => {
  test('resolveInRoot() follows links that stay inside the root', async () => {
    await using dir = await tempDir('vfs-path-');
    const { root } = await buildTree(dir.path);
    const rootReal = await realpath(root);

    const paths = ['/in/f.txt', '/abs-in/b/f.txt', '/chain/f.txt', '/dotdot-ok/f.txt', '/a/link-up/a/b/f.txt', '/file-link'];
    const out = await Promise.all(paths.map((p) => resolveInRoot(root, p)));

    for (const r of out) {
      assert.equal(r.hostPath, join(rootReal, 'a/b/f.txt'));
      assert.equal(r.virtualPath, '/a/b/f.txt');
      assert.equal(r.type, 'file');
    }
  });

  test('resolveInRoot() refuses links that leave the root with PATH_ESCAPE', async () => {
    await using dir = await tempDir('vfs-path-');
    const { root } = await buildTree(dir.path);

    for (const p of ['/esc/secret.txt', '/abs-out/secret.txt', '/deep-esc/secret.txt', '/dangling-out', '/root-abs/etc/passwd']) {
      await assert.rejects(resolveInRoot(root, p), (e) => isKernelError(e, ErrorCode.PathEscape), p);
    }
  });

  test('resolveInRoot() treats an absolute host path as virtual', async () => {
    await using dir = await tempDir('vfs-path-');
    const { root, outside } = await buildTree(dir.path);
    const rootReal = await realpath(root);

    const r = await resolveInRoot(root, join(outside, 'secret.txt'));

    assert.equal(r.exists, false);
    assert.ok(r.hostPath.startsWith(`${rootReal}/`));
  });

  test('resolveInRoot() refuses every symlink when symlinks is "refuse"', async () => {
    await using dir = await tempDir('vfs-path-');
    const { root } = await buildTree(dir.path);

    await assert.rejects(resolveInRoot(root, '/in/f.txt', { symlinks: 'refuse' }), (e) => isKernelError(e, ErrorCode.PathEscape));
    const plain = await resolveInRoot(root, '/a/b/f.txt', { symlinks: 'refuse' });
    assert.equal(plain.type, 'file');
  });

  test('resolveInRoot() returns the link itself when followFinal is false', async () => {
    await using dir = await tempDir('vfs-path-');
    const { root } = await buildTree(dir.path);

    const r = await resolveInRoot(root, '/esc', { followFinal: false });

    assert.equal(r.type, 'symlink');
    assert.equal(r.virtualPath, '/esc');
  });

  test('resolveInRoot() reports a missing tail, a loop and a file used as a directory with their codes', async () => {
    await using dir = await tempDir('vfs-path-');
    const { root } = await buildTree(dir.path);

    const missing = await resolveInRoot(root, '/a/new/deeper.txt');
    const dangling = await resolveInRoot(root, '/dangling');

    assert.deepEqual([missing.exists, missing.virtualPath], [false, '/a/new/deeper.txt']);
    assert.deepEqual([dangling.exists, dangling.virtualPath], [false, '/a/missing.txt']);
    await assert.rejects(resolveInRoot(root, '/loop1/x'), (e) => isKernelError(e, ErrorCode.PathInvalid));
    await assert.rejects(resolveInRoot(root, '/a/b/f.txt/x'), (e) => isKernelError(e, ErrorCode.PathNotDirectory));
    await assert.rejects(resolveInRoot(join(root, 'nope'), '/x'), (e) => isKernelError(e, ErrorCode.NotFound));
  });

  test('resolveInRoot() and openInRoot() stay inside the root for any path string (property)', async () => {
    await using dir = await tempDir('vfs-path-');
    const { root } = await buildTree(dir.path);
    const rootReal = await realpath(root);
    const inside = (p: string): boolean => p === rootReal || p.startsWith(`${rootReal}/`);
    const names = ['a', 'b', 'f.txt', 'in', 'abs-in', 'esc', 'abs-out', 'deep-esc', 'loop1', 'dangling', 'dangling-out',
      'file-link', 'chain', 'link-up', 'dotdot-ok', 'root-abs', 'outside', 'secret.txt', '..', '.', '', 'x', 'a\u0000', 'a\\b'];
    const pathArb = fc.tuple(fc.boolean(), fc.array(fc.constantFrom(...names), { maxLength: 7 }))
      .map(([lead, parts]) => `${lead ? '/' : ''}${parts.join('/')}`);
    let opened = 0;

    await fc.assert(
      fc.asyncProperty(pathArb, async (p) => {
        let hostPath: string | undefined;
        try {
          hostPath = (await resolveInRoot(root, p)).hostPath;
        } catch (error) {
          assert.ok(isKernelError(error), `uncoded error for ${JSON.stringify(p)}: ${String(error)}`);
        }
        if (hostPath !== undefined) {
          assert.ok(inside(hostPath), `${p} -> ${hostPath}`);
          assert.ok(inside(await realpath(await nearestExisting(hostPath))), `${p} -> ${hostPath}`);
        }
        try {
          await using handle = await openInRoot(root, p, 'r');
          const text = await handle.readFile('utf8');
          opened += 1;
          assert.equal(text, 'inside');
          assert.equal(text, await readFile(hostPath ?? '/nonexistent', 'utf8'));
        } catch (error) {
          assert.ok(isKernelError(error), `uncoded error for ${JSON.stringify(p)}: ${String(error)}`);
        }
      }),
      { numRuns: 400 },
    );

    assert.ok(opened > 0);
  });
});
