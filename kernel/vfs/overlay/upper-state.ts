import type { JsonValue, StateReader } from '../../projection/index.ts';
import type { VirtualPath } from '../path/index.ts';

/** The name of the projection holding every session's upper layer. */
export const VFS_PROJECTION = 'vfs';

/** The name of the projection holding revoked capability handle ids. */
export const REVOCATIONS_PROJECTION = 'revocations';

/** Where a session stands: only an open session accepts changes. */
export type SessionStatus = 'open' | 'committed' | 'discarded';

/** A session as the projection stores it. */
export interface SessionInfo {
  readonly id: string;
  /** Absolute host path of the read-only lower directory. */
  readonly lower: string;
  readonly status: SessionStatus;
  /** The seq of `vfs.session.opened`. */
  readonly openedSeq: number;
}

/**
 * One entry of an upper layer. A whiteout hides the path and everything below it in the
 * lower layer; an opaque directory hides the lower content below it (made by a mkdir over a
 * whiteout, or by a rename).
 */
export type UpperEntry =
  | { readonly kind: 'file'; readonly blob: string; readonly size: number; readonly mode?: number }
  | { readonly kind: 'dir'; readonly opaque: boolean }
  | { readonly kind: 'whiteout' };

/** The state key of a session. Session ids contain no `/`. */
export function sessionKey(session: string): string {
  return `s/${session}`;
}

/** The state key of an upper entry: `e/<session>` followed by the virtual path. */
export function entryKey(session: string, path: VirtualPath | string): string {
  return `e/${session}${path}`;
}

/** The key prefix of every entry strictly below `path` in a session. */
export function belowPrefix(session: string, path: VirtualPath | string): string {
  return path === '/' ? `e/${session}/` : `e/${session}${path}/`;
}

/** The session, or null when it was never opened. */
export function readSession(state: StateReader, session: string): SessionInfo | null {
  const stored = state.get(sessionKey(session));
  if (stored === undefined) return null;
  const { lower, status, openedSeq } = stored as { lower: string; status: SessionStatus; openedSeq: number };
  return { id: session, lower, status, openedSeq };
}

/** Every session, in id order. */
export function listSessions(state: StateReader): SessionInfo[] {
  const out: SessionInfo[] = [];
  for (const [key] of state.entries('s/')) {
    const info = readSession(state, key.slice(2));
    if (info !== null) out.push(info);
  }
  return out;
}

/** The upper entry at `path`, or null. */
export function readEntry(state: StateReader, session: string, path: VirtualPath | string): UpperEntry | null {
  const stored = state.get(entryKey(session, path));
  return stored === undefined ? null : (stored as UpperEntry);
}

/** Every upper entry strictly below `path` (all of them for `/`), in key order, with its path. */
export function* entriesBelow(state: StateReader, session: string, path: VirtualPath | string): Generator<readonly [VirtualPath, UpperEntry]> {
  const cut = `e/${session}`.length;
  for (const [key, value] of state.entries(belowPrefix(session, path))) {
    yield [key.slice(cut) as VirtualPath, value as UpperEntry];
  }
}

/**
 * The names of the upper entries directly below `dir` (and of directories holding entries
 * further down), from the projection's children index `c/<session><dir>`.
 */
export function childNames(state: StateReader, session: string, dir: VirtualPath | string): readonly string[] {
  return (state.get(`c/${session}${dir}`) as string[] | undefined) ?? [];
}

/** An entry as a plain JSON value for the projection state. */
export function entryValue(entry: UpperEntry): JsonValue {
  return { ...entry };
}
