import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { openInRoot, resolveInRoot, type VirtualPath } from '../path/index.ts';
import { isHidden, lookupMerged, type OverlayView } from './merged.ts';
import { entriesBelow } from './upper-state.ts';

/** One change of a session against its lower directory. */
export type DiffEntry =
  | { readonly change: 'added' | 'modified' | 'deleted'; readonly path: VirtualPath; readonly kind: 'file' | 'dir' }
  | { readonly change: 'renamed'; readonly path: VirtualPath; readonly from: VirtualPath; readonly kind: 'file' };

/**
 * What committing the session would change: files and directories added, files modified
 * (other bytes), paths deleted, and files renamed (a deleted lower file whose bytes reappear
 * at exactly one added path). Sorted by path. Hidden lower paths are never reported.
 */
export async function diffSession(view: OverlayView): Promise<DiffEntry[]> {
  const candidates = new Set<VirtualPath>();
  for (const [path] of entriesBelow(view.state, view.session, '/')) {
    candidates.add(path);
    for (const below of await lowerTree(view, path)) candidates.add(below);
  }
  const added: Array<{ path: VirtualPath; kind: 'file' | 'dir'; digest: string | null }> = [];
  const deleted: Array<{ path: VirtualPath; kind: 'file' | 'dir'; digest: string | null }> = [];
  const out: DiffEntry[] = [];
  for (const path of candidates) {
    const merged = await lookupMerged(view, path);
    const lower = await lowerKind(view, path);
    const mergedKind = merged?.kind ?? null;
    if (mergedKind === lower) {
      if (merged?.kind === 'file' && merged.source === 'upper' && merged.blob !== (await lowerDigest(view, path))) {
        out.push({ change: 'modified', path, kind: 'file' });
      }
      continue;
    }
    if (lower !== null) deleted.push({ path, kind: lower, digest: lower === 'file' ? await lowerDigest(view, path) : null });
    if (merged !== null) added.push({ path, kind: merged.kind, digest: merged.kind === 'file' && merged.source === 'upper' ? merged.blob : null });
  }
  const renamedTo = new Set<VirtualPath>();
  for (const gone of deleted) {
    const matches = gone.digest === null ? [] : added.filter((a) => a.digest === gone.digest && !renamedTo.has(a.path));
    const match = matches[0];
    if (match !== undefined) {
      renamedTo.add(match.path);
      out.push({ change: 'renamed', path: match.path, from: gone.path, kind: 'file' });
    } else out.push({ change: 'deleted', path: gone.path, kind: gone.kind });
  }
  for (const a of added) if (!renamedTo.has(a.path)) out.push({ change: 'added', path: a.path, kind: a.kind });
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function lowerKind(view: OverlayView, path: VirtualPath): Promise<'file' | 'dir' | null> {
  const resolved = await resolveInRoot(view.lower, path).catch(() => null);
  if (resolved === null || !resolved.exists) return null;
  if (isHidden(view, path, resolved.type === 'directory')) return null;
  return resolved.type === 'directory' ? 'dir' : resolved.type === 'file' ? 'file' : null;
}

async function lowerDigest(view: OverlayView, path: VirtualPath): Promise<string | null> {
  try {
    await using handle = await openInRoot(view.lower, path, 'r');
    return createHash('sha256').update(await handle.readFile()).digest('hex');
  } catch {
    return null;
  }
}

/** Every visible lower path strictly below `path`. */
async function lowerTree(view: OverlayView, path: VirtualPath): Promise<VirtualPath[]> {
  const out: VirtualPath[] = [];
  const walk = async (dir: VirtualPath): Promise<void> => {
    const resolved = await resolveInRoot(view.lower, dir).catch(() => null);
    if (resolved?.type !== 'directory') return;
    for (const name of await readdir(resolved.hostPath).catch(() => [] as string[])) {
      const child = (dir === '/' ? `/${name}` : `${dir}/${name}`) as VirtualPath;
      const kind = await lowerKind(view, child);
      if (kind === null) continue;
      out.push(child);
      if (kind === 'dir') await walk(child);
    }
  };
  await walk(path);
  return out;
}
