import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Materializer, StateReader } from '../../projection/index.ts';
import { VFS_PROJECTION, entriesBelow, listSessions } from './upper-state.ts';

const STATE_DIR = '.state';

/** The file beside `upper/` listing whiteouts and opaque directories, one `kind path` per line. */
export const MARKERS_FILE = 'markers';

/**
 * Mirrors each open session's upper layer onto `<home>/vfs/<session>/upper`: files from
 * their blobs (with their recorded mode, default 0644), directories, and whiteouts and
 * opaque directories as lines of `<home>/vfs/<session>/markers` (`whiteout /a`,
 * `opaque /b`). A marker in `.state/<session>` holds a digest of the session's entries, so
 * an unchanged session is left alone and a changed or damaged one is rebuilt and swapped in.
 * Committed and discarded sessions are removed. Only the state and its blobs decide the
 * bytes, so deleting the directory and syncing (or `astrid replay`) restores it exactly.
 */
export const vfsUpperFiles: Materializer = {
  name: 'vfs-upper',
  projection: VFS_PROJECTION,
  directory: 'vfs',
  async sync(state, ctx) {
    const root = ctx.dir;
    await mkdir(join(root, STATE_DIR), { recursive: true, mode: 0o700 });
    const open = listSessions(state).filter((s) => s.status === 'open');
    const wanted = new Set(open.map((s) => s.id));
    for (const session of open) {
      const entries = [...entriesBelow(state, session.id, '/')];
      const fingerprint = createHash('sha256').update(JSON.stringify(entries)).digest('hex');
      const marker = join(root, STATE_DIR, session.id);
      const dir = join(root, session.id);
      const current = await readFile(marker, 'utf8').catch(() => null);
      const present = await readdir(join(dir, 'upper')).then(() => true, () => false);
      if (present && current === fingerprint) continue;
      const fresh = `${dir}.fresh-${process.pid}`;
      await rm(fresh, { recursive: true, force: true });
      await buildUpper(fresh, state, session.id, ctx.blob, ctx.logger);
      await swapIn(dir, fresh);
      await writeFile(marker, fingerprint, { mode: 0o600 });
      ctx.logger.debug('vfs upper materialised', { session: session.id, entries: entries.length });
    }
    for (const name of await readdir(root)) {
      if (name === STATE_DIR || name.startsWith('.') || wanted.has(name)) continue;
      await rm(join(root, name), { recursive: true, force: true });
      await rm(join(root, STATE_DIR, name), { force: true });
    }
  },
};

async function buildUpper(
  into: string,
  state: StateReader,
  session: string,
  blob: (digest: string) => Uint8Array | null,
  logger: { error(message: string, fields?: Record<string, unknown>): void },
): Promise<void> {
  const upper = join(into, 'upper');
  await mkdir(upper, { recursive: true, mode: 0o700 });
  const markers: string[] = [];
  for (const [path, entry] of entriesBelow(state, session, '/')) {
    const host = join(upper, path);
    if (entry.kind === 'whiteout') {
      markers.push(`whiteout ${path}`);
      continue;
    }
    // Parents of an entry may be lower directories without an upper entry of their own.
    await mkdir(join(host, '..'), { recursive: true });
    if (entry.kind === 'dir') {
      await mkdir(host, { recursive: true });
      if (entry.opaque) markers.push(`opaque ${path}`);
      continue;
    }
    const bytes = blob(entry.blob);
    if (bytes === null) {
      logger.error('vfs blob missing from the log', { session, path, blob: entry.blob });
      continue;
    }
    await writeFile(host, bytes, { mode: entry.mode ?? 0o644 });
    await chmod(host, entry.mode ?? 0o644);
  }
  await writeFile(join(into, MARKERS_FILE), markers.map((m) => `${m}\n`).join(''), { mode: 0o600 });
}

async function swapIn(dir: string, fresh: string): Promise<void> {
  const old = `${dir}.old-${process.pid}`;
  await rm(old, { recursive: true, force: true });
  await rename(dir, old).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await rename(fresh, dir);
  await rm(old, { recursive: true, force: true });
}
