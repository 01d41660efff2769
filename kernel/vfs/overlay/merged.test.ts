import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { allProjections } from '../../../projections/index.ts';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { ErrorCode, isKernelError } from '../../errors/index.ts';
import { openEventLog } from '../../log/index.ts';
import { VFS_PROJECTION } from './index.ts';
import { VfsService } from './service.ts';

const source = 'user:test';

test('VfsService.read() and openFile() hide what a lower symlink leads to when the boundary hides it', async () => {
  await using dir = await tempDir('vfs-merged-');
  const lower = join(dir.path, 'lower');
  await mkdir(join(lower, 'private'), { recursive: true });
  await mkdir(join(lower, 'src'));
  await writeFile(join(lower, '.astridignore'), 'private/\n');
  await writeFile(join(lower, '.env'), 'SECRET=1\n');
  await writeFile(join(lower, 'private', 'notes.txt'), 'secret notes\n');
  await writeFile(join(lower, 'src', 'a.ts'), 'export {};\n');
  await symlink('.env', join(lower, 'innocent'));
  await symlink('private', join(lower, 'peek'));
  await symlink('src/a.ts', join(lower, 'alias.ts'));
  execFileSync('mkfifo', [join(lower, 'pipe')]);
  await using log = await openEventLog({ path: join(dir.path, 'log.mdb'), create: { origin: 'test' }, projections: allProjections });
  const vfs = new VfsService({ state: () => log.projection(VFS_PROJECTION), blob: (d) => log.getBlob(d), append: (events) => log.append(events) });
  const { id } = await vfs.open(lower, { source });

  const read = (path: string): Promise<string> => vfs.read(id, path).then((b) => Buffer.from(b).toString('utf8'));
  const refused = async (path: string, code: string): Promise<void> => {
    await assert.rejects(vfs.read(id, path), (e) => isKernelError(e) && e.code === code, `read ${path}`);
    await assert.rejects(vfs.openFile(id, path), (e) => isKernelError(e) && e.code === code, `openFile ${path}`);
  };

  assert.equal(await read('/src/a.ts'), 'export {};\n');
  assert.equal(await read('/alias.ts'), 'export {};\n');
  for (const path of ['/.env', '/innocent', '/private/notes.txt', '/peek/notes.txt']) await refused(path, ErrorCode.PathIgnored);
  await refused('/pipe', ErrorCode.PathNotFound);
  await refused('/nope.txt', ErrorCode.PathNotFound);
  await refused('/src', ErrorCode.PathIsDirectory);
  await refused('/peek', ErrorCode.PathIgnored);
});
