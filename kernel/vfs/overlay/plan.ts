import { createHash } from 'node:crypto';
import { ErrorCode, KernelError } from '../../errors/index.ts';
import type { NewEvent } from '../../events/index.ts';
import { isWithinVirtual, openInRoot, type VirtualPath } from '../path/index.ts';
import { assertVisible, listMerged, lookupMerged, statVisible, type MergedNode, type OverlayView } from './merged.ts';

/** Who records the change. */
export interface PlanOptions {
  readonly source: string;
}

/**
 * The events of writing `bytes` at `path` (the bytes travel as a blob). The parent must be
 * a directory and `path` not one. Throws `PATH_IGNORED` (hidden or protected),
 * `PATH_NOT_FOUND` (no parent), `PATH_IS_DIRECTORY`.
 */
export async function planWrite(view: OverlayView, path: VirtualPath, bytes: Uint8Array, options: PlanOptions & { mode?: number }): Promise<NewEvent[]> {
  if (path === '/') throw new KernelError(ErrorCode.PathIsDirectory, 'Cannot write "/" as it is a directory');
  assertWritable(view, path, false);
  await assertParentDir(view, path, 'write');
  const node = await lookupMerged(view, path);
  if (node?.kind === 'dir') throw new KernelError(ErrorCode.PathIsDirectory, `Cannot write "${path}" as it is a directory`);
  return [writeEvent(view.session, path, bytes, options.source, options.mode)];
}

/** The events of creating a directory. Throws `PATH_IGNORED`, `PATH_NOT_FOUND` (no parent), `PATH_EXISTS`. */
export async function planMkdir(view: OverlayView, path: VirtualPath, options: PlanOptions): Promise<NewEvent[]> {
  if (path === '/') throw new KernelError(ErrorCode.PathExists, 'Cannot create "/" as it exists');
  assertWritable(view, path, true);
  await assertParentDir(view, path, 'create');
  if ((await lookupMerged(view, path)) !== null) throw new KernelError(ErrorCode.PathExists, `Cannot create "${path}" as it exists`);
  return [{ type: 'vfs.dir.created', v: 1, source: options.source, data: { session: view.session, path } }];
}

/**
 * The events of deleting a file or a directory with everything below it (a whiteout).
 * Throws `PATH_INVALID` for `/`, `PATH_NOT_FOUND`, `PATH_IGNORED` (hidden or protected, or a
 * directory holding hidden paths: they could not be deleted on commit without being touched).
 */
export async function planRemove(view: OverlayView, path: VirtualPath, options: PlanOptions): Promise<NewEvent[]> {
  if (path === '/') throw new KernelError(ErrorCode.PathInvalid, 'Cannot delete "/" as it is the root');
  const node = await statVisible(view, path);
  if (node === null) throw new KernelError(ErrorCode.PathNotFound, `Cannot delete "${path}" as it does not exist`);
  assertWritable(view, path, node.kind === 'dir');
  if (node.kind === 'dir') await collectTree(view, path, node);
  return [{ type: 'vfs.path.deleted', v: 1, source: options.source, data: { session: view.session, path } }];
}

/**
 * The events of moving `from` to `to`: lower content at and below `from` is copied up
 * (files as blobs, directories as `vfs.dir.created`), then `vfs.path.renamed`. Throws
 * `PATH_NOT_FOUND` (no `from` or no parent of `to`), `PATH_EXISTS` (`to` exists),
 * `PATH_INVALID` (root, or `to` inside `from`), `PATH_IGNORED` (either side hidden or
 * protected, or hidden paths below `from`).
 */
export async function planRename(view: OverlayView, from: VirtualPath, to: VirtualPath, options: PlanOptions): Promise<NewEvent[]> {
  if (from === '/' || to === '/') throw new KernelError(ErrorCode.PathInvalid, 'Cannot move "/" or onto "/"');
  const node = await statVisible(view, from);
  if (node === null) throw new KernelError(ErrorCode.PathNotFound, `Cannot move "${from}" as it does not exist`);
  assertWritable(view, from, node.kind === 'dir');
  assertWritable(view, to, node.kind === 'dir');
  if (isWithinVirtual(from, to)) throw new KernelError(ErrorCode.PathInvalid, `Cannot move "${from}" into itself as "${to}"`);
  await assertParentDir(view, to, 'move to');
  if ((await lookupMerged(view, to)) !== null) throw new KernelError(ErrorCode.PathExists, `Cannot move "${from}" to "${to}" as it exists`);
  const copies: NewEvent[] = [];
  const copyUp = async (path: VirtualPath, at: MergedNode): Promise<void> => {
    if (at.source !== 'lower') return;
    if (at.kind === 'dir') {
      copies.push({ type: 'vfs.dir.created', v: 1, source: options.source, data: { session: view.session, path } });
      return;
    }
    await using handle = await openInRoot(view.lower, path, 'r');
    copies.push(writeEvent(view.session, path, await handle.readFile(), options.source, at.mode));
  };
  await copyUp(from, node);
  if (node.kind === 'dir') for (const [path, child] of await collectTree(view, from, node)) await copyUp(path, child);
  return [...copies, { type: 'vfs.path.renamed', v: 1, source: options.source, data: { session: view.session, from, to } }];
}

/** Every visible node strictly below a directory, parents first. Throws `PATH_IGNORED` when one is hidden. */
export async function collectTree(view: OverlayView, dir: VirtualPath, node: MergedNode): Promise<Array<[VirtualPath, MergedNode]>> {
  const out: Array<[VirtualPath, MergedNode]> = [];
  if (node.kind !== 'dir') return out;
  for (const child of await listMerged(view, dir, { withHidden: true })) {
    if (child.hidden) {
      throw new KernelError(ErrorCode.PathIgnored, `Cannot change "${dir}" as it holds "${child.path}", which the ignore boundary hides`, {
        details: { path: child.path },
      });
    }
    out.push([child.path, child.node]);
    out.push(...(await collectTree(view, child.path, child.node)));
  }
  return out;
}

function writeEvent(session: string, path: VirtualPath, bytes: Uint8Array, source: string, mode: number | undefined): NewEvent {
  const blob = createHash('sha256').update(bytes).digest('hex');
  const data = { session, path, blob, size: bytes.byteLength, ...(mode === undefined ? {} : { mode }) };
  return { type: 'vfs.file.written', v: 1, source, data, blobs: [bytes] };
}

/** Throws `PATH_IGNORED` when `path` is hidden or protected (the `.astridignore` files). */
function assertWritable(view: OverlayView, path: VirtualPath, isDir: boolean): void {
  assertVisible(view, path, isDir);
  const decision = view.boundary.checkWrite(path, { isDir });
  if (decision.ignored) {
    throw new KernelError(ErrorCode.PathIgnored, `Cannot change "${path}" as the ignore boundary protects it`, {
      details: { path, rule: decision.rule, source: decision.source },
    });
  }
}

async function assertParentDir(view: OverlayView, path: VirtualPath, what: string): Promise<void> {
  const cut = path.lastIndexOf('/');
  const parent = (cut <= 0 ? '/' : path.slice(0, cut)) as VirtualPath;
  const node = await lookupMerged(view, parent);
  if (node?.kind !== 'dir') {
    throw new KernelError(ErrorCode.PathNotFound, `Cannot ${what} "${path}" as its parent "${parent}" is not a directory`);
  }
}
