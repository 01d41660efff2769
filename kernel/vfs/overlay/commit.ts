import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, unlink } from 'node:fs/promises';
import { ErrorCode, KernelError } from '../../errors/index.ts';
import { openInRoot, resolveInRoot, type VirtualPath } from '../path/index.ts';
import type { OverlayView } from './merged.ts';
import { entriesBelow } from './upper-state.ts';

/** What a commit changed in the lower directory. */
export interface CommitSummary {
  readonly written: number;
  readonly deleted: number;
  readonly dirs: number;
}

/**
 * Applies a session's upper layer onto its lower directory, parents first: a whiteout or an
 * opaque directory removes the lower path (recursively), a directory is created, a file is
 * written atomically (a temp file opened inside the root, synced, then renamed over the
 * target), keeping the lower file's mode unless the upper names one. Every path is resolved
 * through the safe resolver, never following a symlink out of the lower. Not atomic as a
 * whole: a crash midway leaves some files applied; committing again finishes the job.
 * Throws `PATH_*` codes of the resolver, `BLOB_MISSING`.
 */
export async function applyUpper(view: OverlayView): Promise<CommitSummary> {
  let written = 0;
  let deleted = 0;
  let dirs = 0;
  for (const [path, entry] of entriesBelow(view.state, view.session, '/')) {
    const target = await resolveInRoot(view.lower, path, { followFinal: false, symlinks: 'refuse' });
    if (entry.kind === 'whiteout' || (entry.kind === 'dir' && entry.opaque) || (entry.kind === 'file' && target.type === 'directory')) {
      if (target.exists) {
        await rm(target.hostPath, { recursive: true, force: true });
        deleted += 1;
      }
    }
    if (entry.kind === 'dir') {
      const now = await resolveInRoot(view.lower, path, { followFinal: false, symlinks: 'refuse' });
      if (now.type !== 'directory') {
        if (now.exists) await unlink(now.hostPath);
        await mkdir(now.hostPath);
        dirs += 1;
      }
    } else if (entry.kind === 'file') {
      const bytes = view.blob(entry.blob);
      if (bytes === null) throw new KernelError(ErrorCode.BlobMissing, `Cannot commit "${path}" as its blob "${entry.blob}" is missing`);
      await writeAtomic(view.lower, path, bytes, entry.mode);
      written += 1;
    }
  }
  return { written, deleted, dirs };
}

async function writeAtomic(lower: string, path: VirtualPath, bytes: Uint8Array, mode: number | undefined): Promise<void> {
  const cut = path.lastIndexOf('/');
  const temp = `${path.slice(0, cut)}/.astrid-commit-${randomBytes(6).toString('hex')}.tmp` as VirtualPath;
  const existing = await resolveInRoot(lower, path, { followFinal: false, symlinks: 'refuse' });
  let keep: number | undefined;
  if (existing.type === 'file') {
    await using old = await openInRoot(lower, path, 'r', { symlinks: 'refuse', followFinal: false });
    keep = (await old.stat()).mode & 0o777;
  }
  const finalMode = mode ?? keep ?? 0o644;
  {
    await using handle = await openInRoot(lower, temp, 'wx', { symlinks: 'refuse', followFinal: false, mode: finalMode });
    await handle.writeFile(bytes);
    await handle.chmod(finalMode);
    await handle.sync();
  }
  const from = await resolveInRoot(lower, temp, { followFinal: false, symlinks: 'refuse' });
  try {
    await rename(from.hostPath, existing.hostPath);
  } catch (error) {
    await rm(from.hostPath, { force: true });
    throw error;
  }
  await chmod(existing.hostPath, finalMode).catch(() => undefined);
}
