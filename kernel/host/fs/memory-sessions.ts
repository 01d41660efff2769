import { ErrorCode, KernelError } from '../../errors/index.ts';
import { bytesFile, type OverlayEntry, type VfsStat } from '../../vfs/overlay/index.ts';
import { normalizeVirtualPath, type VirtualPath } from '../../vfs/path/index.ts';
import type { SessionFiles } from './layers.ts';

/** In-memory sessions for unit tests: a tree per session and a set of hidden names. */
export interface MemorySessions extends SessionFiles {
  /** Opens a session holding `files` (path → text; parents are created). */
  add(session: string, files: Record<string, string>): void;
  /** A session's file as text, or null. */
  text(session: string, path: string): string | null;
  /** Every change, as `op path [path]`, in order. */
  readonly changes: readonly string[];
}

const DIR = 'dir' as const;

/**
 * The in-memory twin of a `VfsService` as {@link SessionFiles} sees it. A name listed in
 * `hidden` (such as `.env`) behaves as the ignore boundary would: `PATH_IGNORED` when named,
 * left out of listings. Not a full overlay (no lower layer, no whiteouts).
 */
export function createMemorySessions(options: { hidden?: readonly string[] } = {}): MemorySessions {
  const trees = new Map<string, Map<VirtualPath, Uint8Array | typeof DIR>>();
  const hidden = new Set(options.hidden ?? ['.env']);
  const changes: string[] = [];
  const isHidden = (path: VirtualPath): boolean => path.split('/').some((part) => hidden.has(part));
  const tree = (session: string): Map<VirtualPath, Uint8Array | typeof DIR> => {
    const t = trees.get(session);
    if (t === undefined) throw new KernelError(ErrorCode.SessionNotFound, `Cannot find session "${session}"`);
    return t;
  };
  const visible = (path: string): VirtualPath => {
    const vpath = normalizeVirtualPath(path);
    if (isHidden(vpath)) throw new KernelError(ErrorCode.PathIgnored, `Cannot use "${vpath}" as the ignore boundary hides it`);
    return vpath;
  };
  const parentOf = (path: VirtualPath): VirtualPath => (path.lastIndexOf('/') <= 0 ? '/' : path.slice(0, path.lastIndexOf('/'))) as VirtualPath;
  const needParent = (t: Map<VirtualPath, Uint8Array | typeof DIR>, path: VirtualPath): void => {
    if (t.get(parentOf(path)) !== DIR) throw new KernelError(ErrorCode.PathNotFound, `Cannot change "${path}" as its parent is not a directory`);
  };
  const encoder = new TextEncoder();
  return {
    changes,
    add(session, files) {
      const t = new Map<VirtualPath, Uint8Array | typeof DIR>([['/' as VirtualPath, DIR]]);
      for (const [path, text] of Object.entries(files)) {
        const vpath = normalizeVirtualPath(path);
        for (let p = parentOf(vpath); p !== '/'; p = parentOf(p)) t.set(p, DIR);
        t.set(vpath, encoder.encode(text));
      }
      trees.set(session, t);
    },
    text(session, path) {
      const entry = trees.get(session)?.get(normalizeVirtualPath(path));
      return entry === undefined || entry === DIR ? null : new TextDecoder().decode(entry);
    },
    info: (session) => tree(session),
    async stat(session, path): Promise<VfsStat | null> {
      const vpath = visible(path);
      const entry = tree(session).get(vpath);
      if (entry === undefined) return null;
      return entry === DIR ? { path: vpath, kind: 'dir', size: null, source: 'upper' } : { path: vpath, kind: 'file', size: entry.byteLength, source: 'upper' };
    },
    async list(session, path): Promise<OverlayEntry[]> {
      const vpath = visible(path);
      const t = tree(session);
      if (t.get(vpath) !== DIR) throw new KernelError(ErrorCode.PathNotDirectory, `Cannot list "${vpath}"`);
      const out: OverlayEntry[] = [];
      for (const [p, entry] of t) {
        if (p === '/' || parentOf(p) !== vpath || isHidden(p)) continue;
        out.push({ name: p.slice(p.lastIndexOf('/') + 1), path: p, kind: entry === DIR ? 'dir' : 'file', size: entry === DIR ? null : entry.byteLength });
      }
      return out.sort((a, b) => (a.name < b.name ? -1 : 1));
    },
    async openFile(session, path) {
      const vpath = visible(path);
      const entry = tree(session).get(vpath);
      if (entry === undefined) throw new KernelError(ErrorCode.PathNotFound, `Cannot open "${vpath}" as it does not exist`);
      if (entry === DIR) throw new KernelError(ErrorCode.PathIsDirectory, `Cannot open "${vpath}" as it is a directory`);
      return bytesFile(entry);
    },
    async write(session, path, bytes) {
      const vpath = visible(path);
      const t = tree(session);
      needParent(t, vpath);
      t.set(vpath, bytes.slice());
      changes.push(`write ${vpath}`);
    },
    async mkdir(session, path) {
      const vpath = visible(path);
      const t = tree(session);
      needParent(t, vpath);
      if (t.has(vpath)) throw new KernelError(ErrorCode.PathExists, `Cannot create "${vpath}" as it exists`);
      t.set(vpath, DIR);
      changes.push(`mkdir ${vpath}`);
    },
    async remove(session, path) {
      const vpath = visible(path);
      const t = tree(session);
      if (!t.has(vpath)) throw new KernelError(ErrorCode.PathNotFound, `Cannot delete "${vpath}" as it does not exist`);
      for (const p of [...t.keys()]) if (p === vpath || p.startsWith(`${vpath}/`)) t.delete(p);
      changes.push(`remove ${vpath}`);
    },
    async rename(session, from, to) {
      const src = visible(from);
      const dst = visible(to);
      const t = tree(session);
      if (!t.has(src)) throw new KernelError(ErrorCode.PathNotFound, `Cannot move "${src}" as it does not exist`);
      if (t.has(dst)) throw new KernelError(ErrorCode.PathExists, `Cannot move to "${dst}" as it exists`);
      needParent(t, dst);
      for (const [p, entry] of [...t]) {
        if (p !== src && !p.startsWith(`${src}/`)) continue;
        t.delete(p);
        t.set(`${dst}${p.slice(src.length)}` as VirtualPath, entry);
      }
      changes.push(`rename ${src} ${dst}`);
    },
  };
}
