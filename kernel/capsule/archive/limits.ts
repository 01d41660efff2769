import { ErrorCode, KernelError } from '../../errors/index.ts';
import { relativePathProblem } from '../manifest/index.ts';

/** Ceilings applied when packing and unpacking a `.capsule` archive. */
export interface ArchiveLimits {
  /** Most file and directory entries (default 10,000). */
  readonly maxEntries: number;
  /**
   * Most bytes of the uncompressed tar stream, headers and padding included (default 256 MiB).
   * It bounds the sum of all file sizes and stops gzip bombs while they inflate.
   */
  readonly maxTotalBytes: number;
  /** Most bytes of one file (default 64 MiB). */
  readonly maxFileBytes: number;
  /** Most bytes of one entry path in UTF-8 (default 1,024; each segment at most 255). */
  readonly maxPathBytes: number;
}

/** The default {@link ArchiveLimits}. */
export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = Object.freeze({
  maxEntries: 10_000,
  maxTotalBytes: 256 * 1024 * 1024,
  maxFileBytes: 64 * 1024 * 1024,
  maxPathBytes: 1024,
});

/** Limits given by a caller: any subset of {@link ArchiveLimits}. */
export type ArchiveLimitsInput = Partial<ArchiveLimits>;

/**
 * Fills `input` from {@link DEFAULT_ARCHIVE_LIMITS}. Throws KernelError INVALID_ARGUMENT when a
 * value is not a positive safe integer.
 */
export function resolveLimits(input: ArchiveLimitsInput = {}): ArchiveLimits {
  const pick = (key: keyof ArchiveLimits): number => {
    const value = input[key] ?? DEFAULT_ARCHIVE_LIMITS[key];
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new KernelError(ErrorCode.InvalidArgument, `Cannot use archive limit "${key}" as ${String(value)} is not a positive integer`);
    }
    return value;
  };
  return {
    maxEntries: pick('maxEntries'),
    maxTotalBytes: pick('maxTotalBytes'),
    maxFileBytes: pick('maxFileBytes'),
    maxPathBytes: pick('maxPathBytes'),
  };
}

/** What an entry of a `.capsule` archive is, once it passed every check. */
export type EntryKind = 'file' | 'directory';

/**
 * Why `name` (a tar entry path, directories with a trailing `/`) is not a safe entry path, or
 * null when it is. A safe path is relative, has no `..`, `.` or empty segment, no backslash, no
 * control character (NUL included) and at most `maxPathBytes` bytes. Pure.
 */
export function entryPathProblem(name: string, maxPathBytes: number): string | null {
  const bare = name.endsWith('/') ? name.slice(0, -1) : name;
  if (Buffer.byteLength(bare) > maxPathBytes) return `it is longer than ${maxPathBytes} bytes`;
  return relativePathProblem(bare);
}

/** Builds the error for an entry refused as unsafe. */
export function unsafeEntry(source: string, name: string, why: string): KernelError {
  return new KernelError(ErrorCode.ArchiveUnsafeEntry, `Cannot accept entry ${JSON.stringify(name)} of archive "${source}" as ${why}`, {
    details: { source, entry: name.slice(0, 1024) },
  });
}

/** Builds the error for an archive that exceeds a limit. */
export function tooLarge(source: string, why: string, limit: keyof ArchiveLimits, value: number): KernelError {
  return new KernelError(ErrorCode.ArchiveTooLarge, `Cannot accept archive "${source}" as ${why}`, {
    details: { source, limit, value },
  });
}

/** Builds the error for an archive that is not a valid `.capsule` (bad gzip, bad tar, no manifest…). */
export function invalidArchive(source: string, why: string, cause?: unknown): KernelError {
  return new KernelError(ErrorCode.ArchiveInvalid, `Cannot read archive "${source}" as ${why}`, {
    details: { source },
    ...(cause === undefined ? {} : { cause }),
  });
}
