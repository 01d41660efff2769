import semver from 'semver';
import { isPattern } from '../../bus/subject.ts';

/** A capsule id: lowercase letters, digits and `-`, starting with a letter or digit, 1 to 63 characters. */
export const CAPSULE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The most bytes one capsule-relative path may have (in UTF-8). */
export const MAX_RELATIVE_PATH_BYTES = 1024;

/** The most bytes one segment of a capsule-relative path may have (in UTF-8). */
export const MAX_PATH_SEGMENT_BYTES = 255;

// Control characters (NUL included) are never valid in a name the kernel resolves.
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/**
 * Why `path` is not a safe path relative to a capsule (or workspace) root, or null when it is.
 * Safe means: non-empty, `/`-separated, no empty, `.` or `..` segment, not absolute, no drive
 * letter, no backslash, no control character (NUL included), at most
 * {@link MAX_RELATIVE_PATH_BYTES} bytes and {@link MAX_PATH_SEGMENT_BYTES} per segment.
 * Such a path can never leave the directory it is resolved against, on any platform.
 */
export function relativePathProblem(path: string): string | null {
  if (path === '') return 'it is empty';
  if (CONTROL_CHARS.test(path)) return 'it contains a control character';
  if (path.includes('\\')) return 'it contains a backslash';
  if (path.startsWith('/')) return 'it is absolute';
  if (/^[A-Za-z]:/.test(path)) return 'it starts with a drive letter';
  if (Buffer.byteLength(path) > MAX_RELATIVE_PATH_BYTES) return `it is longer than ${MAX_RELATIVE_PATH_BYTES} bytes`;
  for (const segment of path.split('/')) {
    if (segment === '') return 'it has an empty segment';
    if (segment === '..') return 'it has a ".." segment';
    if (segment === '.') return 'it has a "." segment';
    if (Buffer.byteLength(segment) > MAX_PATH_SEGMENT_BYTES) {
      return `a segment is longer than ${MAX_PATH_SEGMENT_BYTES} bytes`;
    }
  }
  return null;
}

/** True when `version` is a strict semver version such as `1.2.3` or `1.0.0-rc.1` (no `v`, no spaces). */
export function isSemverVersion(version: string): boolean {
  return semver.valid(version) === version;
}

/** True when `range` is a semver range such as `>=0.1.0 <2` or `^1.4`. */
export function isSemverRange(range: string): boolean {
  return range.trim() !== '' && range.length <= 256 && semver.validRange(range) !== null;
}


/**
 * True when `pattern` is a NATS-style subject pattern: dot-separated tokens of `[a-z0-9-]`,
 * `*` for one token, `>` only as the last token; at most 256 bytes and 16 tokens.
 */
/** Whether `pattern` is a valid NATS-style subscription pattern (the bus's own rule). */
export function isSubjectPattern(pattern: string): boolean {
  return isPattern(pattern);
}

const HOST_LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const NET_HOST = new RegExp(`^(?:\\*|(?:\\*\\.)?${HOST_LABEL}(?:\\.${HOST_LABEL})*)(?::(\\d{1,5}))?$`);

/**
 * True when `host` is a network host grant: `*` (any host), a lowercase host name, or
 * `*.` plus a host name (any subdomain), each optionally with `:port` (1 to 65535).
 */
export function isNetHost(host: string): boolean {
  if (host.length > 253 + 6) return false;
  const match = NET_HOST.exec(host);
  if (match === null) return false;
  const port = match[1];
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
}

/**
 * Why `command` is not a host process command, or null when it is: a bare program name
 * (looked up on the host's PATH), an absolute host path, or `./` plus a safe path inside the capsule.
 */
export function commandProblem(command: string): string | null {
  if (command === '' || command.length > 1024) return 'it is empty or longer than 1024 characters';
  if (CONTROL_CHARS.test(command)) return 'it contains a control character';
  if (command.startsWith('/')) return command.split('/').includes('..') ? 'it has a ".." segment' : null;
  if (command.startsWith('./')) {
    const inside = relativePathProblem(command.slice(2));
    return inside === null ? null : `the path inside the capsule is unsafe: ${inside}`;
  }
  return /^[A-Za-z0-9._+-]+$/.test(command) && command !== '.' && command !== '..'
    ? null
    : 'expected a program name, an absolute path or "./" plus a path inside the capsule';
}
