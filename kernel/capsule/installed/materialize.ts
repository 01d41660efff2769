import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Materializer } from '../../projection/index.ts';
import { CAPSULES_PROJECTION, listInstalled } from './schema.ts';

const STATE_DIR = '.state';

/**
 * Mirrors the capsules projection onto `<home>/capsules/`: each installed capsule's archive
 * (a blob in the log) unpacked under `<id>/`, byte for byte the same on every sync, and
 * nothing else. A marker in `.state/<id>` names the archive a tree was unpacked from, so an
 * unchanged capsule is left alone and a changed or damaged one is unpacked afresh.
 */
export const capsuleFiles: Materializer = {
  name: 'capsule-files',
  projection: CAPSULES_PROJECTION,
  directory: 'capsules',
  async sync(state, ctx) {
    const root = ctx.dir;
    await mkdir(join(root, STATE_DIR), { recursive: true, mode: 0o700 });
    const installed = listInstalled(state);
    const wanted = new Set(installed.map((c) => c.capsuleId));
    for (const capsule of installed) {
      const dir = join(root, capsule.capsuleId);
      const marker = join(root, STATE_DIR, capsule.capsuleId);
      const current = await readFile(marker, 'utf8').catch(() => null);
      const present = await readdir(dir).then(() => true, () => false);
      if (present && current === capsule.archive) continue;
      const blob = ctx.blob(capsule.archive);
      if (blob === null) {
        ctx.logger.error('capsule archive missing from the log', { capsuleId: capsule.capsuleId, archive: capsule.archive });
        continue;
      }
      // Loaded on demand: most processes never unpack, and tar is not free to import.
      const { unpackCapsuleBuffer } = await import('../archive/index.ts');
      await replaceTree(dir, async (into) => {
        await unpackCapsuleBuffer(blob, into);
      });
      await writeFile(marker, capsule.archive, { mode: 0o600 });
      ctx.logger.info('capsule materialised', { capsuleId: capsule.capsuleId, version: capsule.version });
    }
    for (const name of await readdir(root)) {
      if (name === STATE_DIR || name.startsWith('.') || wanted.has(name)) continue;
      await rm(join(root, name), { recursive: true, force: true });
      await rm(join(root, STATE_DIR, name), { force: true });
      ctx.logger.info('capsule tree removed', { capsuleId: name });
    }
  },
};

/** Builds a fresh tree with `build(dir)` and swaps it in for `dir`, removing the old one. */
async function replaceTree(dir: string, build: (into: string) => Promise<void>): Promise<void> {
  const fresh = `${dir}.fresh-${process.pid}`;
  const old = `${dir}.old-${process.pid}`;
  await rm(fresh, { recursive: true, force: true });
  await build(fresh);
  await rm(old, { recursive: true, force: true });
  await rename(dir, old).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await rename(fresh, dir);
  await rm(old, { recursive: true, force: true });
}

/** Where the capsule trees of a home live. */
export function capsulesDir(home: string): string {
  return join(home, capsuleFiles.directory);
}
