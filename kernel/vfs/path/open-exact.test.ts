import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, open, realpath, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { ErrorCode, isKernelError } from '../../errors/index.ts';
import { openExactInRoot, openInRoot, readExactInRoot } from './open-in-root.ts';

const linux = process.platform === 'linux';

async function setup(base: string): Promise<{ root: string; outside: string }> {
  const root = join(await realpath(base), 'root');
  const outside = join(await realpath(base), 'outside');
  await mkdir(join(root, 'd'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(root, 'd', 'f.txt'), 'inside');
  await writeFile(join(outside, 'f.txt'), 'secret');
  return { root, outside };
}

/**
 * Runs `attempt` while a writer waits in a blocking open of the FIFO at `fifo`: any open of
 * its read end, even non-blocking, lets that writer through. Returns whether it got through.
 */
async function fifoOpenedDuring(fifo: string, attempt: () => Promise<void>): Promise<boolean> {
  let through = false;
  const writer = open(fifo, constants.O_WRONLY).then((h) => {
    through = true;
    return h;
  });
  await sleep(20);
  try {
    await attempt();
    await sleep(50);
    return through;
  } finally {
    // Let the writer through (if it still waits), then close both ends.
    const reader = await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    await (await writer).close();
    await reader.close();
  }
}

describe('openExactInRoot()', { skip: !linux && 'needs /proc/self/fd' }, () => {
  test('openExactInRoot() opens a plain regular file and returns its stats', async () => {
    await using dir = await tempDir('vfs-exact-');
    const { root } = await setup(dir.path);
    const exact = await openExactInRoot(root, '/d/f.txt');
    assert.ok(exact !== null);
    await using handle = exact.handle;
    assert.equal(exact.stats.size, 6);
    assert.equal(await handle.readFile('utf8'), 'inside');
  });

  test('openExactInRoot() declines every symlink, inside or out, final or on the way', async () => {
    await using dir = await tempDir('vfs-exact-');
    const { root, outside } = await setup(dir.path);
    await symlink('d/f.txt', join(root, 'in.txt'));
    await symlink('d', join(root, 'dlink'));
    await symlink(join(outside, 'f.txt'), join(root, 'out.txt'));
    await symlink(outside, join(root, 'evil'));

    for (const path of ['/in.txt', '/dlink/f.txt', '/out.txt', '/evil/f.txt']) {
      assert.equal(await openExactInRoot(root, path), null, path);
    }
    // The careful path still follows the links that stay inside and refuses the others.
    await using inside = await openInRoot(root, '/dlink/f.txt', 'r');
    assert.equal(await inside.readFile('utf8'), 'inside');
    await assert.rejects(openInRoot(root, '/evil/f.txt', 'r'), (e) => isKernelError(e, ErrorCode.PathEscape));
  });

  test('openExactInRoot() declines a directory, a missing file, the root and a root that is not canonical', async () => {
    await using dir = await tempDir('vfs-exact-');
    const { root } = await setup(dir.path);
    await symlink(root, join(dir.path, 'root-link'));

    for (const path of ['/d', '/nope.txt', '/nope/f.txt', '/d/f.txt/x', '/']) assert.equal(await openExactInRoot(root, path), null, path);
    assert.equal(await openExactInRoot(join(dir.path, 'root-link'), '/d/f.txt'), null);
    await assert.rejects(openExactInRoot(root, '/../x'), (e) => isKernelError(e, ErrorCode.PathEscape));
  });

  test('a read never opens a FIFO reached through a symlink leaving the root, nor one inside it', async () => {
    await using dir = await tempDir('vfs-exact-');
    const { root, outside } = await setup(dir.path);
    execFileSync('mkfifo', [join(outside, 'pipe')]);
    execFileSync('mkfifo', [join(root, 'pipe')]);
    await symlink(outside, join(root, 'evil'));

    const outsideOpened = await fifoOpenedDuring(join(outside, 'pipe'), async () => {
      assert.equal(await openExactInRoot(root, '/evil/pipe'), null);
      await assert.rejects(openInRoot(root, '/evil/pipe', 'r'), (e) => isKernelError(e, ErrorCode.PathEscape));
    });
    assert.equal(outsideOpened, false, 'the FIFO outside the root was opened');

    const insideOpened = await fifoOpenedDuring(join(root, 'pipe'), async () => {
      assert.equal(await openExactInRoot(root, '/pipe'), null);
    });
    assert.equal(insideOpened, false, 'the exact open opened a FIFO');
  });

  test('readExactInRoot() reads a plain file whole and declines exactly what openExactInRoot() declines', async () => {
    await using dir = await tempDir('vfs-exact-');
    const { root, outside } = await setup(dir.path);
    await symlink('d/f.txt', join(root, 'in.txt'));
    await symlink(outside, join(root, 'evil'));
    await writeFile(join(root, 'empty.txt'), '');
    execFileSync('mkfifo', [join(root, 'pipe')]);

    const read = await readExactInRoot(root, '/d/f.txt');
    assert.deepEqual([read?.bytes.toString('utf8'), read?.stats.size], ['inside', 6]);
    assert.equal((await readExactInRoot(root, '/empty.txt'))?.bytes.byteLength, 0);
    for (const path of ['/in.txt', '/evil/f.txt', '/d', '/nope.txt', '/', '/pipe']) assert.equal(await readExactInRoot(root, path), null, path);
    const insideOpened = await fifoOpenedDuring(join(root, 'pipe'), async () => {
      assert.equal(await readExactInRoot(root, '/pipe'), null);
    });
    assert.equal(insideOpened, false, 'the exact read opened a FIFO');
    await assert.rejects(readExactInRoot(root, '/../x'), (e) => isKernelError(e, ErrorCode.PathEscape));
  });

  test('openInRoot() with rootIsCanonical fails closed for a root that is not canonical', async () => {
    await using dir = await tempDir('vfs-exact-');
    const { root } = await setup(dir.path);
    const link = join(dir.path, 'root-link');
    await symlink(root, link);

    await assert.rejects(openInRoot(link, '/d/f.txt', 'r', { rootIsCanonical: true }), (e) => isKernelError(e));
    await using h = await openInRoot(root, '/d/f.txt', 'r', { rootIsCanonical: true });
    assert.equal(await h.readFile('utf8'), 'inside');
  });
});
