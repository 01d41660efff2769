import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, readdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import { ErrorCode, KernelError } from '../errors/index.ts';

/** The home format this build writes; a newer one is refused. */
export const HOME_FORMAT = 1;
const MARKER = 'home.json';

const MarkerSchema = v.object({
  format: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
  origin: v.pipe(v.string(), v.regex(/^[a-z0-9]{4,32}$/)),
  createdAt: v.string(),
});

/** What `home.json` says about a home. */
export type HomeMarker = v.InferOutput<typeof MarkerSchema>;

/** The paths inside a home. */
export interface HomeLayout {
  readonly root: string;
  readonly marker: string;
  /** The LMDB event log file. */
  readonly log: string;
  /** Runtime files (socket, owner record); mode 0700. */
  readonly run: string;
  readonly socket: string;
  /** Byte arguments staged by clients of the owner, too large for one socket frame. */
  readonly uploads: string;
}

/** The paths of the home at `root`. */
export function homeLayout(root: string): HomeLayout {
  return {
    root,
    marker: join(root, MARKER),
    log: join(root, 'log.mdb'),
    run: join(root, 'run'),
    socket: join(root, 'run', 'kernel.sock'),
    uploads: join(root, 'run', 'uploads'),
  };
}

/** A fresh origin host id: 12 base32 characters. */
export function newOriginId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return [...randomBytes(12)].map((b) => alphabet[b % 32]).join('');
}

/**
 * Reads and checks a home's marker.
 * @throws KernelError HOME_NOT_INITIALIZED (no marker), HOME_INVALID (unreadable or newer format).
 */
export async function readHome(root: string): Promise<HomeMarker> {
  const layout = homeLayout(root);
  let text: string;
  try {
    text = await readFile(layout.marker, 'utf8');
  } catch (cause) {
    const exists = await stat(root).then((s) => s.isDirectory(), () => false);
    throw new KernelError(
      ErrorCode.HomeNotInitialized,
      exists ? `Cannot use "${root}" as it is not an Astrid home` : `Cannot use "${root}" as it does not exist`,
      { cause, details: { home: root } },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new KernelError(ErrorCode.HomeInvalid, `Cannot read "${layout.marker}" as it is not valid JSON`, { cause, details: { home: root } });
  }
  const result = v.safeParse(MarkerSchema, parsed);
  if (!result.success) {
    throw new KernelError(ErrorCode.HomeInvalid, `Cannot read "${layout.marker}": ${result.issues[0]?.message ?? 'invalid'}`, { details: { home: root } });
  }
  if (result.output.format > HOME_FORMAT) {
    throw new KernelError(
      ErrorCode.HomeInvalid,
      `Cannot use "${root}" as it has home format ${result.output.format} and this Astrid reads up to ${HOME_FORMAT}`,
      { details: { home: root, format: result.output.format } },
    );
  }
  return result.output;
}

/**
 * Creates the home directory (mode 0700) and its marker, unless it is already a home.
 * Refuses a non-empty directory that is not a home, so nothing of the user's is touched.
 * @throws KernelError HOME_INVALID
 */
export async function createHomeMarker(root: string): Promise<{ marker: HomeMarker; created: boolean }> {
  try {
    return { marker: await readHome(root), created: false };
  } catch (error) {
    if (!(error instanceof KernelError) || error.code !== ErrorCode.HomeNotInitialized) throw error;
  }
  await mkdir(root, { recursive: true, mode: 0o700 });
  const existing = (await readdir(root)).filter((name) => name !== 'run' && !name.startsWith(MARKER));
  if (existing.length > 0) {
    throw new KernelError(ErrorCode.HomeInvalid, `Cannot create a home in "${root}" as it is a non-empty directory`, {
      details: { home: root, entries: existing.length },
    });
  }
  const marker: HomeMarker = { format: HOME_FORMAT, origin: newOriginId(), createdAt: new Date().toISOString() };
  const layout = homeLayout(root);
  const tmp = `${layout.marker}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(marker, null, 2)}\n`, { mode: 0o600 });
  try {
    // link() fails if another `init` won the race, so a marker is never replaced.
    await link(tmp, layout.marker);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { marker: await readHome(root), created: false };
  } finally {
    await unlink(tmp);
  }
  return { marker, created: true };
}
