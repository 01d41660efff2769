import { readdir, stat } from 'node:fs/promises';
import { ErrorCode, KernelError, isKernelError } from '../../errors/index.ts';
import type { IgnoreBoundary } from '../../ignore/index.ts';
import type { StateReader } from '../../projection/index.ts';
import { openExactInRoot, openInRoot, readExactInRoot, resolveInRoot, virtualPathParts, type ExactFile, type VirtualPath } from '../path/index.ts';
import { bytesFile, handleFile, type OpenedFile } from './opened-file.ts';
import { childNames, readEntry } from './upper-state.ts';

/** What the overlay functions read: one session's upper state, its blobs, its lower and its boundary. */
export interface OverlayView {
  readonly session: string;
  /** Canonical absolute host path of the lower directory. */
  readonly lower: string;
  readonly state: StateReader;
  blob(digest: string): Uint8Array | null;
  readonly boundary: IgnoreBoundary;
}

/** A path of the merged view. `lowerVisible` says whether lower content below a directory shows. */
export type MergedNode =
  | { readonly kind: 'file'; readonly source: 'upper'; readonly size: number; readonly blob: string; readonly mode?: number }
  | { readonly kind: 'file'; readonly source: 'lower'; readonly size: number; readonly mode: number }
  | { readonly kind: 'dir'; readonly source: 'upper' | 'lower'; readonly lowerVisible: boolean };

/** One entry of a merged listing. */
export interface OverlayEntry {
  readonly name: string;
  readonly path: VirtualPath;
  readonly kind: 'file' | 'dir';
  /** Size in bytes of a file, null for a directory. */
  readonly size: number | null;
}

/**
 * The node at `path` in the merged view (upper over lower, whiteouts and opaque directories
 * applied), without the ignore boundary, or null. The lower is read through the safe
 * resolver: a symlink leaving it throws `PATH_ESCAPE`.
 */
export async function lookupMerged(view: OverlayView, path: VirtualPath): Promise<MergedNode | null> {
  const node = upperNode(view, path);
  return node === LOWER ? lowerNode(view, path) : node;
}

/** What {@link upperNode} answers for a path the upper layer leaves to the lower. */
const LOWER = Symbol('lower');

/** The node at `path` as the upper layer decides it, or {@link LOWER} when the lower's entry shows. */
function upperNode(view: OverlayView, path: VirtualPath): MergedNode | null | typeof LOWER {
  const parts = virtualPathParts(path);
  let lowerVisible = true;
  let at = '';
  for (let i = 0; i < parts.length; i += 1) {
    at = `${at}/${parts[i] as string}`;
    const last = i === parts.length - 1;
    const entry = readEntry(view.state, view.session, at);
    if (entry?.kind === 'whiteout') return null;
    if (entry?.kind === 'file') {
      if (!last) return null;
      return { kind: 'file', source: 'upper', size: entry.size, blob: entry.blob, ...(entry.mode === undefined ? {} : { mode: entry.mode }) };
    }
    if (entry?.kind === 'dir') {
      if (entry.opaque) lowerVisible = false;
      if (last) return { kind: 'dir', source: 'upper', lowerVisible };
      continue;
    }
    if (!lowerVisible) return null;
    if (last) return LOWER;
  }
  return { kind: 'dir', source: 'lower', lowerVisible: true };
}

/** Whether `path` (of the given kind) is hidden by the boundary. */
export function isHidden(view: OverlayView, path: VirtualPath, isDir: boolean): boolean {
  if (path === '/') return false;
  return view.boundary.isIgnored(path, false) || (isDir && view.boundary.isIgnored(path, true));
}

/** Throws `PATH_IGNORED` when `path` is hidden. */
export function assertVisible(view: OverlayView, path: VirtualPath, isDir: boolean): void {
  if (!isHidden(view, path, isDir)) return;
  const decision = view.boundary.check(path, { isDir });
  throw new KernelError(ErrorCode.PathIgnored, `Cannot use "${path}" as the ignore boundary hides it`, {
    details: { path, rule: decision.rule, source: decision.source },
  });
}

/** The node at `path` as a caller may see it: null when absent, `PATH_IGNORED` when hidden. */
export async function statVisible(view: OverlayView, path: VirtualPath): Promise<MergedNode | null> {
  assertVisible(view, path, false);
  const node = await lookupMerged(view, path);
  if (node?.kind === 'dir') assertVisible(view, path, true);
  return node;
}

/**
 * The merged children of a directory: upper entries over the lower's, whiteouts removed,
 * sorted by name. Hidden children are left out unless `withHidden` (then flagged).
 * Throws `PATH_NOT_FOUND`, `PATH_NOT_DIRECTORY`, `PATH_IGNORED`.
 */
export async function listMerged(
  view: OverlayView,
  dir: VirtualPath,
  options: { withHidden?: boolean } = {},
): Promise<Array<OverlayEntry & { readonly hidden: boolean; readonly node: MergedNode }>> {
  const node = await statVisible(view, dir);
  if (node === null) throw new KernelError(ErrorCode.PathNotFound, `Cannot list "${dir}" as it does not exist`);
  if (node.kind !== 'dir') throw new KernelError(ErrorCode.PathNotDirectory, `Cannot list "${dir}" as it is not a directory`);
  const join = (name: string): VirtualPath => (dir === '/' ? `/${name}` : `${dir}/${name}`) as VirtualPath;
  const children = new Map<string, MergedNode>();
  if (node.lowerVisible) {
    const resolved = await resolveInRoot(view.lower, dir, { rootIsCanonical: true }).catch(() => null);
    if (resolved?.type === 'directory') {
      for (const name of await readdir(resolved.hostPath).catch(() => [] as string[])) {
        const child = await lowerNode(view, join(name)).catch(() => null);
        if (child !== null) children.set(name, child);
      }
    }
  }
  for (const name of childNames(view.state, view.session, dir)) {
    const entry = readEntry(view.state, view.session, join(name));
    if (entry === null) continue;
    if (entry.kind === 'whiteout') children.delete(name);
    else children.set(name, (await lookupMerged(view, join(name))) as MergedNode);
  }
  const out: Array<OverlayEntry & { hidden: boolean; node: MergedNode }> = [];
  for (const name of [...children.keys()].sort()) {
    const child = children.get(name) as MergedNode;
    const path = join(name);
    const hidden = isHidden(view, path, child.kind === 'dir');
    if (hidden && options.withHidden !== true) continue;
    out.push({ name, path, kind: child.kind, size: child.kind === 'file' ? child.size : null, hidden, node: child });
  }
  return out;
}

/** The bytes of a visible file. Throws `PATH_NOT_FOUND`, `PATH_IS_DIRECTORY`, `PATH_IGNORED`, `BLOB_MISSING`. */
export async function readMerged(view: OverlayView, path: VirtualPath): Promise<Uint8Array> {
  const exact = exactLower(view, path) ? await readExactInRoot(view.lower, path) : null;
  if (exact !== null) return exact.bytes;
  const upper = await fileOrThrow(view, path, 'read');
  if (upper !== null) return upper;
  await using handle = await openInRoot(view.lower, path, 'r', { rootIsCanonical: true });
  return handle.readFile();
}

/**
 * Opens a visible file for reading by offset (see {@link OpenedFile}): the lower file through
 * `openInRoot`, never by a second lookup of its name. Throws as {@link readMerged}.
 */
export async function openMerged(view: OverlayView, path: VirtualPath): Promise<OpenedFile> {
  const exact = await openExactLower(view, path);
  if (exact !== null) return handleFile(exact.handle, exact.stats.size);
  const upper = await fileOrThrow(view, path, 'open');
  if (upper !== null) return bytesFile(upper);
  const handle = await openInRoot(view.lower, path, 'r', { rootIsCanonical: true });
  try {
    const stats = await handle.stat();
    return handleFile(handle, stats.size);
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * The careful lookup of a file to `verb`: its bytes when the upper layer holds it, null when
 * the lower does. Throws `PATH_NOT_FOUND`, `PATH_IS_DIRECTORY`, `PATH_IGNORED`, `BLOB_MISSING`.
 */
async function fileOrThrow(view: OverlayView, path: VirtualPath, verb: 'read' | 'open'): Promise<Uint8Array | null> {
  const node = await statVisible(view, path);
  if (node === null) throw new KernelError(ErrorCode.PathNotFound, `Cannot ${verb} "${path}" as it does not exist`);
  if (node.kind === 'dir') throw new KernelError(ErrorCode.PathIsDirectory, `Cannot ${verb} "${path}" as it is a directory`);
  if (node.source === 'lower') return null;
  const bytes = view.blob(node.blob);
  if (bytes === null) throw new KernelError(ErrorCode.BlobMissing, `Cannot ${verb} "${path}" as its blob "${node.blob}" is missing`);
  return bytes;
}

/**
 * The fast read of a lower file: when `path` is visible, the upper layer leaves it to the
 * lower, and the lower holds a regular file at exactly that path (no symlink on the way or
 * at the end), that file opened; else null, and the caller takes the careful path (lookup,
 * then `openInRoot`), which gives the same answer and every error code. As no link is
 * followed, the ignore check of `path` is the check of the file opened: a link to a hidden
 * path never takes this way.
 */
async function openExactLower(view: OverlayView, path: VirtualPath): Promise<ExactFile | null> {
  return exactLower(view, path) ? openExactInRoot(view.lower, path) : null;
}

/** Whether the fast way may be tried for `path`: visible, and left to the lower by the upper. Throws `PATH_IGNORED`. */
function exactLower(view: OverlayView, path: VirtualPath): boolean {
  assertVisible(view, path, false);
  return upperNode(view, path) === LOWER;
}

/**
 * The lower node at `path`, or null when it is missing or not a file or directory. A symlink
 * (final or on the way) leading to a path the boundary hides is `PATH_IGNORED`: a visible
 * name must not become a window on `.env`.
 */
async function lowerNode(view: OverlayView, path: VirtualPath): Promise<MergedNode | null> {
  const lower = view.lower;
  let resolved;
  try {
    resolved = await resolveInRoot(lower, path, { rootIsCanonical: true });
  } catch (error) {
    if (isKernelError(error) && (error.code === ErrorCode.PathNotDirectory || error.code === ErrorCode.PathNotFound)) return null;
    throw error;
  }
  if (!resolved.exists) return null;
  if (resolved.virtualPath !== path && isHidden(view, resolved.virtualPath, resolved.type === 'directory')) {
    throw new KernelError(ErrorCode.PathIgnored, `Cannot use "${path}" as it links to a path the ignore boundary hides`, { details: { path } });
  }
  if (resolved.type === 'directory') return { kind: 'dir', source: 'lower', lowerVisible: true };
  if (resolved.type !== 'file') return null;
  const stats = await stat(resolved.hostPath).catch(() => null);
  if (stats === null || !stats.isFile()) return null;
  return { kind: 'file', source: 'lower', size: stats.size, mode: stats.mode & 0o777 };
}
