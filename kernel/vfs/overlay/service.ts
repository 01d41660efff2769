import { randomBytes } from 'node:crypto';
import { ErrorCode, KernelError } from '../../errors/index.ts';
import type { HashedEvent, NewEvent } from '../../events/index.ts';
import { loadIgnoreBoundary, type IgnoreBoundary } from '../../ignore/index.ts';
import type { StateReader } from '../../projection/index.ts';
import { canonicalRoot, normalizeVirtualPath } from '../path/index.ts';
import { applyUpper, type CommitSummary } from './commit.ts';
import { diffSession, type DiffEntry } from './diff.ts';
import { listMerged, openMerged, readMerged, statVisible, type OverlayEntry, type OverlayView } from './merged.ts';
import type { OpenedFile } from './opened-file.ts';
import { planMkdir, planRemove, planRename, planWrite } from './plan.ts';
import { readSession, type SessionInfo } from './upper-state.ts';
import { KeyedSerial } from '../../concurrency/index.ts';

/** What the VFS service needs from the kernel. */
export interface VfsPort {
  /** The `vfs` projection's current state. */
  state(): StateReader;
  blob(digest: string): Uint8Array | null;
  /** Appends one unit of events; resolves once durable and projected. */
  append(events: readonly NewEvent[]): Promise<HashedEvent[]>;
}

/** The answer to a change: the last seq it recorded. */
export interface VfsChangeReceipt {
  readonly session: string;
  readonly seq: number;
}

/** A stat of a visible path. */
export interface VfsStat {
  readonly path: string;
  readonly kind: 'file' | 'dir';
  readonly size: number | null;
  readonly source: 'upper' | 'lower';
}

/**
 * Overlay sessions over the log: each change is validated against the merged view, then
 * recorded as `vfs.*` events (file bytes as blobs); reads fall through upper → lower.
 * Operations on one session run one at a time. Paths are virtual (`/src/a.ts`); bad ones
 * throw `PATH_INVALID`/`PATH_ESCAPE`. An unknown, committed or discarded session throws
 * `SESSION_NOT_FOUND`. Holds no resources beyond caches.
 */
export class VfsService {
  readonly #port: VfsPort;
  readonly #serial = new KeyedSerial();
  readonly #boundaries = new Map<string, Promise<IgnoreBoundary>>();

  constructor(port: VfsPort) {
    this.#port = port;
  }

  /** Opens a session over an existing directory. Throws `NOT_FOUND`/`PATH_NOT_DIRECTORY` for a bad `lower`. */
  async open(lower: string, options: { source: string }): Promise<{ id: string; lower: string; seq: number }> {
    if (!lower.startsWith('/')) throw new KernelError(ErrorCode.InvalidArgument, `Cannot open a session on "${lower}" as it is not an absolute path`);
    const real = await canonicalRoot(lower);
    const id = randomBytes(6).toString('hex');
    const [event] = await this.#port.append([{ type: 'vfs.session.opened', v: 1, source: options.source, data: { session: id, lower: real } }]);
    return { id, lower: real, seq: event?.seq ?? 0 };
  }

  /** An open session's record. Throws `SESSION_NOT_FOUND` when unknown, committed or discarded. */
  info(session: string): SessionInfo {
    return this.#session(session);
  }

  /** Writes a file into the upper layer. See `planWrite` for the codes. */
  write(session: string, path: string, bytes: Uint8Array, options: { source: string; mode?: number }): Promise<VfsChangeReceipt & { size: number }> {
    return this.#change(session, async (view) => planWrite(view, normalizeVirtualPath(path), bytes, options)).then((r) => ({ ...r, size: bytes.byteLength }));
  }

  /** Deletes a path (a whiteout). See `planRemove`. */
  remove(session: string, path: string, options: { source: string }): Promise<VfsChangeReceipt> {
    return this.#change(session, (view) => planRemove(view, normalizeVirtualPath(path), options));
  }

  /** Creates a directory. See `planMkdir`. */
  mkdir(session: string, path: string, options: { source: string }): Promise<VfsChangeReceipt> {
    return this.#change(session, (view) => planMkdir(view, normalizeVirtualPath(path), options));
  }

  /** Moves a path. See `planRename`. */
  rename(session: string, from: string, to: string, options: { source: string }): Promise<VfsChangeReceipt> {
    return this.#change(session, (view) => planRename(view, normalizeVirtualPath(from), normalizeVirtualPath(to), options));
  }

  /** The merged listing of a directory (hidden paths left out). Throws `PATH_NOT_FOUND`, `PATH_NOT_DIRECTORY`, `PATH_IGNORED`. */
  list(session: string, path: string): Promise<OverlayEntry[]> {
    return this.#serial.run(session, async () => {
      const entries = await listMerged(await this.#view(session), normalizeVirtualPath(path));
      return entries.map(({ name, path: p, kind, size }) => ({ name, path: p, kind, size }));
    });
  }

  /** A file's bytes. Throws `PATH_NOT_FOUND`, `PATH_IS_DIRECTORY`, `PATH_IGNORED`. */
  read(session: string, path: string): Promise<Uint8Array> {
    return this.#serial.run(session, async () => readMerged(await this.#view(session), normalizeVirtualPath(path)));
  }

  /**
   * Opens a visible file for bounded reads by offset; the caller closes it. Throws
   * `PATH_NOT_FOUND`, `PATH_IS_DIRECTORY`, `PATH_IGNORED`, `PATH_ESCAPE`.
   */
  openFile(session: string, path: string): Promise<OpenedFile> {
    return this.#serial.run(session, async () => openMerged(await this.#view(session), normalizeVirtualPath(path)));
  }

  /** A visible path's kind and size, or null when absent. Throws `PATH_IGNORED`. */
  stat(session: string, path: string): Promise<VfsStat | null> {
    return this.#serial.run(session, async () => {
      const vpath = normalizeVirtualPath(path);
      const node = await statVisible(await this.#view(session), vpath);
      if (node === null) return null;
      return { path: vpath, kind: node.kind, size: node.kind === 'file' ? node.size : null, source: node.source };
    });
  }

  /** What a commit would change. */
  diff(session: string): Promise<DiffEntry[]> {
    return this.#serial.run(session, async () => diffSession(await this.#view(session)));
  }

  /** Applies the upper layer onto the lower directory, then records `vfs.session.committed`. */
  commit(session: string, options: { source: string }): Promise<VfsChangeReceipt & CommitSummary> {
    return this.#serial.run(session, async () => {
      const summary = await applyUpper(await this.#view(session));
      const [event] = await this.#port.append([{ type: 'vfs.session.committed', v: 1, source: options.source, data: { session } }]);
      this.#boundaries.delete(session);
      return { session, seq: event?.seq ?? 0, ...summary };
    });
  }

  /** Drops the upper layer: records `vfs.session.discarded`. */
  discard(session: string, options: { source: string }): Promise<VfsChangeReceipt> {
    return this.#serial.run(session, async () => {
      this.#session(session);
      const [event] = await this.#port.append([{ type: 'vfs.session.discarded', v: 1, source: options.source, data: { session } }]);
      this.#boundaries.delete(session);
      return { session, seq: event?.seq ?? 0 };
    });
  }

  #change(session: string, plan: (view: OverlayView) => Promise<NewEvent[]>): Promise<VfsChangeReceipt> {
    return this.#serial.run(session, async () => {
      const events = await plan(await this.#view(session));
      const appended = await this.#port.append(events);
      return { session, seq: appended[appended.length - 1]?.seq ?? 0 };
    });
  }

  #session(session: string): SessionInfo {
    const info = readSession(this.#port.state(), session);
    if (info === null) throw new KernelError(ErrorCode.SessionNotFound, `Cannot find session "${session}"`, { details: { session } });
    if (info.status !== 'open') {
      throw new KernelError(ErrorCode.SessionNotFound, `Cannot use session "${session}" as it was ${info.status}`, { details: { session, status: info.status } });
    }
    return info;
  }

  async #view(session: string): Promise<OverlayView> {
    const info = this.#session(session);
    let boundary = this.#boundaries.get(session);
    if (boundary === undefined) {
      boundary = loadIgnoreBoundary(info.lower);
      this.#boundaries.set(session, boundary);
      boundary.catch(() => this.#boundaries.delete(session));
    }
    return { session, lower: info.lower, state: this.#port.state(), blob: (d) => this.#port.blob(d), boundary: await boundary };
  }
}
