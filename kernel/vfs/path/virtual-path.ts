import * as v from 'valibot';
import { ErrorCode, KernelError } from '../../errors/index.ts';

/** Longest virtual path accepted, in UTF-8 bytes (Linux `PATH_MAX`). */
export const MAX_PATH_BYTES = 4096;

/** Longest single component accepted, in UTF-8 bytes (Linux `NAME_MAX`). */
export const MAX_NAME_BYTES = 255;

/** A normalised virtual path: POSIX, rooted at `/`, no `.`/`..`/empty components, no trailing `/`. */
export const VirtualPathBrandSchema = v.pipe(v.string(), v.brand('VirtualPath'));

/** A path inside the virtual file system, as returned by {@link normalizeVirtualPath}. */
export type VirtualPath = v.InferOutput<typeof VirtualPathBrandSchema>;

/** The virtual root `/`. */
export const VIRTUAL_ROOT = '/' as VirtualPath;

// C0 controls, DEL, and a lone UTF-16 surrogate (cannot be encoded to UTF-8 faithfully).
// In `u` mode a valid surrogate pair is one code point, so the range only hits lone halves.
const FORBIDDEN = /[\u0000-\u001f\u007f\\\ud800-\udfff]/u;

/**
 * Normalises untrusted input into a {@link VirtualPath}.
 *
 * Virtual paths are POSIX and rooted at the virtual `/`: `a/b`, `/a/b`, `/a//b/` and
 * `/a/./b` all become `/a/b`. An absolute host path such as `/etc/passwd` is simply the
 * virtual path `/etc/passwd` inside whatever root it is later resolved against.
 *
 * Every `..` component is refused, even one that would stay below `/` (`/a/../b`). Lexical
 * `..` disagrees with the file system once a symlink is involved (`link/..` is the parent of
 * the link's target, not `/`), and an agent never needs it; refusing it removes a whole class
 * of bugs. Backslashes are refused too, so a Windows-style path never means two things.
 *
 * Throws `PATH_INVALID` for a non-string, an empty string, NUL or other control characters,
 * a backslash, a lone surrogate, a component over 255 bytes or a path over 4096 bytes, and
 * `PATH_ESCAPE` for any `..` component.
 */
export function normalizeVirtualPath(input: unknown): VirtualPath {
  if (typeof input !== 'string') {
    throw new KernelError(ErrorCode.PathInvalid, `Cannot use a ${typeof input} as a path: expected a string`);
  }
  if (input.length === 0) throw new KernelError(ErrorCode.PathInvalid, 'Cannot use an empty path');
  // Cheap bound before any other work: a UTF-16 unit is at least one UTF-8 byte.
  if (input.length > MAX_PATH_BYTES || Buffer.byteLength(input, 'utf8') > MAX_PATH_BYTES) {
    throw invalid(input, `it is longer than ${MAX_PATH_BYTES} bytes`);
  }
  const bad = FORBIDDEN.exec(input);
  if (bad !== null) {
    const what = bad[0] === '\\' ? 'a backslash' : `the character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')}`;
    throw invalid(input, `it contains ${what}`);
  }
  const parts: string[] = [];
  for (const part of input.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      throw new KernelError(ErrorCode.PathEscape, `Cannot use path "${printable(input)}" as it contains a ".." component`, {
        details: { reason: 'dot-dot' },
      });
    }
    // A UTF-16 unit is at most 3 UTF-8 bytes, so short parts skip the byte count.
    if (part.length * 3 > MAX_NAME_BYTES && Buffer.byteLength(part, 'utf8') > MAX_NAME_BYTES) {
      throw invalid(input, `a component is longer than ${MAX_NAME_BYTES} bytes`);
    }
    parts.push(part);
  }
  return `/${parts.join('/')}` as VirtualPath;
}

/** Whether `text` is already a normalised {@link VirtualPath} (what {@link normalizeVirtualPath} would return unchanged). */
export function isNormalizedVirtualPath(text: string): text is VirtualPath {
  try {
    return normalizeVirtualPath(text) === text;
  } catch {
    return false;
  }
}

/** A valibot schema that parses untrusted input into a {@link VirtualPath} (issues carry the message). */
export const VirtualPathSchema = v.pipe(
  v.unknown(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    try {
      return normalizeVirtualPath(dataset.value);
    } catch (error) {
      addIssue({ message: error instanceof Error ? error.message : 'Invalid path' });
      return NEVER;
    }
  }),
);

/** The components of a normalised path: `/a/b` gives `['a', 'b']`, `/` gives `[]`. */
export function virtualPathParts(path: VirtualPath): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

/** Builds a {@link VirtualPath} from components that are already valid names. */
export function virtualPathFromParts(parts: readonly string[]): VirtualPath {
  return `/${parts.join('/')}` as VirtualPath;
}

/**
 * Whether `path` is `root` or lies beneath it, by whole components (`/src` covers `/src/a`
 * but not `/srcx`). Both must be normalised.
 */
export function isWithinVirtual(root: VirtualPath, path: VirtualPath): boolean {
  if (root === '/') return true;
  return path === root || (path.startsWith(root) && path.charCodeAt(root.length) === 47);
}

/**
 * The part of `path` below `root`, rooted at `/` (`/src/a` under `/src` is `/a`), or null
 * when `path` is not within `root`.
 */
export function relativeVirtual(root: VirtualPath, path: VirtualPath): VirtualPath | null {
  if (!isWithinVirtual(root, path)) return null;
  if (root === '/') return path;
  return path.length === root.length ? VIRTUAL_ROOT : (path.slice(root.length) as VirtualPath);
}

function invalid(input: string, why: string): KernelError {
  return new KernelError(ErrorCode.PathInvalid, `Cannot use path "${printable(input)}" as ${why}`);
}

/** The input cut to a readable size with control characters escaped, for messages only. */
function printable(input: string): string {
  const cut = input.length > 80 ? `${input.slice(0, 80)}…` : input;
  return cut.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
