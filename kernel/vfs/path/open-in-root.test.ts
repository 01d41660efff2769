import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { link, mkdir, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { ErrorCode, isKernelError } from '../../errors/index.ts';
import { openInRoot, type OpenInRootOptions } from './open-in-root.ts';
import { resolveInRoot } from './resolve-in-root.ts';

async function setup(base: string): Promise<{ root: string; outside: string }> {
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  await mkdir(join(root, 'd'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(root, 'd', 'f.txt'), 'inside');
  await writeFile(join(outside, 'f.txt'), 'secret');
  return { root, outside };
}

/** Every file under `dir` with its contents, to prove nothing outside the root changed. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = await readFile(join(dir, name), 'utf8');
  return out;
}

const strategies: Array<NonNullable<OpenInRootOptions['strategy']>> = ['procfs', 'check-then-open'];

describe('openInRoot()', () => {
  for (const strategy of strategies) {
    test(`openInRoot() reads, creates and truncates inside the root when using ${strategy}`, async () => {
      await using dir = await tempDir('vfs-open-');
      const { root } = await setup(dir.path);

      {
        await using read = await openInRoot(root, '/d/f.txt', 'r', { strategy });
        assert.equal(await read.readFile('utf8'), 'inside');
      }
      {
        await using created = await openInRoot(root, 'd/new.txt', 'wx', { strategy });
        await created.writeFile('new');
      }
      {
        await using truncated = await openInRoot(root, '/d/f.txt', 'w', { strategy });
        await truncated.writeFile('ok');
      }

      assert.equal(await readFile(join(root, 'd', 'new.txt'), 'utf8'), 'new');
      assert.equal(await readFile(join(root, 'd', 'f.txt'), 'utf8'), 'ok');
    });

    test(`openInRoot() refuses a directory swapped for an outside symlink after the check when using ${strategy}`, async () => {
      await using dir = await tempDir('vfs-open-');
      const { root, outside } = await setup(dir.path);
      const before = await snapshot(outside);
      const checked = await resolveInRoot(root, '/d/f.txt');
      assert.equal(checked.type, 'file');

      await rename(join(root, 'd'), join(root, 'd-old'));
      await symlink(outside, join(root, 'd'));

      await assert.rejects(openInRoot(root, '/d/f.txt', 'r', { strategy }), (e) => isKernelError(e, ErrorCode.PathEscape));
      await assert.rejects(openInRoot(root, '/d/f.txt', 'w', { strategy }), (e) => isKernelError(e, ErrorCode.PathEscape));
      await assert.rejects(openInRoot(root, '/d/planted.txt', 'wx', { strategy }), (e) => isKernelError(e, ErrorCode.PathEscape));
      assert.deepEqual(await snapshot(outside), before);
    });
  }

  test('openInRoot() never reads or writes outside while a directory flips between real and symlink', async () => {
    await using dir = await tempDir('vfs-open-');
    const { root, outside } = await setup(dir.path);
    const before = await snapshot(outside);
    await symlink(outside, join(root, 'evil'));
    let stop = false;
    let flips = 0;
    // Flip `d` between the real directory and a symlink to the outside, as a hostile process would.
    const flipper = (async () => {
      while (!stop) {
        await rename(join(root, 'd'), join(root, 'd-real'));
        await rename(join(root, 'evil'), join(root, 'd'));
        await rename(join(root, 'd'), join(root, 'evil'));
        await rename(join(root, 'd-real'), join(root, 'd'));
        flips += 1;
      }
    })();
    const outcomes: string[] = [];
    const attempt = async (i: number): Promise<void> => {
      try {
        if (i % 2 === 0) {
          await using h = await openInRoot(root, '/d/f.txt', 'r');
          outcomes.push(`read:${await h.readFile('utf8')}`);
        } else {
          await using h = await openInRoot(root, `/d/w${i}.txt`, 'w');
          await h.writeFile('written');
          outcomes.push('write');
        }
      } catch (error) {
        assert.ok(isKernelError(error), String(error));
        outcomes.push(`error:${error.code}`);
      }
    };

    try {
      for (let i = 0; i < 400; i += 4) await Promise.all([attempt(i), attempt(i + 1), attempt(i + 2), attempt(i + 3)]);
    } finally {
      stop = true;
      await flipper;
    }

    assert.equal(outcomes.length, 400);
    assert.ok(flips > 0);
    assert.deepEqual(outcomes.filter((o) => o.startsWith('read:') && o !== 'read:inside'), []);
    assert.deepEqual(await snapshot(outside), before);
  });

  test('openInRoot() refuses a final symlink to the outside and, with followFinal false, any final symlink', async () => {
    await using dir = await tempDir('vfs-open-');
    const { root, outside } = await setup(dir.path);
    await symlink(join(outside, 'f.txt'), join(root, 'out.txt'));
    await symlink('d/f.txt', join(root, 'in.txt'));

    await assert.rejects(openInRoot(root, '/out.txt', 'r'), (e) => isKernelError(e, ErrorCode.PathEscape));
    await assert.rejects(openInRoot(root, '/out.txt', 'w'), (e) => isKernelError(e, ErrorCode.PathEscape));
    await assert.rejects(openInRoot(root, '/in.txt', 'r', { followFinal: false }), (e) => isKernelError(e, ErrorCode.PathEscape));
    await assert.rejects(openInRoot(root, '/in.txt', 'wx'), (e) => isKernelError(e, ErrorCode.PathExists));
    await using h = await openInRoot(root, '/in.txt', 'r');
    assert.equal(await h.readFile('utf8'), 'inside');
    assert.equal(await readFile(join(outside, 'f.txt'), 'utf8'), 'secret');
  });

  test('openInRoot() refuses to write a file hard-linked from outside unless allowed', async () => {
    await using dir = await tempDir('vfs-open-');
    const { root, outside } = await setup(dir.path);
    await link(join(outside, 'f.txt'), join(root, 'hard.txt'));

    await assert.rejects(openInRoot(root, '/hard.txt', 'w'), (e) => isKernelError(e, ErrorCode.PathEscape));
    assert.equal(await readFile(join(outside, 'f.txt'), 'utf8'), 'secret');
    await using h = await openInRoot(root, '/hard.txt', 'r');
    assert.equal(await h.readFile('utf8'), 'secret');
  });

  test('openInRoot() refuses a FIFO without blocking and a directory with PATH_IS_DIRECTORY', async () => {
    await using dir = await tempDir('vfs-open-');
    const { root } = await setup(dir.path);
    execFileSync('mkfifo', [join(root, 'pipe')]);

    await assert.rejects(openInRoot(root, '/pipe', 'r'), (e) => isKernelError(e, ErrorCode.PathInvalid));
    await assert.rejects(openInRoot(root, '/pipe', 'w'), (e) => isKernelError(e, ErrorCode.PathInvalid));
    await assert.rejects(openInRoot(root, '/d', 'r'), (e) => isKernelError(e, ErrorCode.PathIsDirectory));
    await assert.rejects(openInRoot(root, '/', 'r'), (e) => isKernelError(e, ErrorCode.PathIsDirectory));
  });

  test('openInRoot() reports a missing file or parent with PATH_NOT_FOUND', async () => {
    await using dir = await tempDir('vfs-open-');
    const { root } = await setup(dir.path);
    await rm(join(root, 'd', 'f.txt'));

    await assert.rejects(openInRoot(root, '/d/f.txt', 'r'), (e) => isKernelError(e, ErrorCode.PathNotFound));
    await assert.rejects(openInRoot(root, '/nope/f.txt', 'w'), (e) => isKernelError(e, ErrorCode.PathNotFound));
    await assert.rejects(openInRoot(root, '/../x', 'r'), (e) => isKernelError(e, ErrorCode.PathEscape));
  });
});
