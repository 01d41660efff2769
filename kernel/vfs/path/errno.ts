import { ErrorCode, KernelError, isKernelError } from '../../errors/index.ts';

/** The `code` of a Node system error (`ENOENT`, `ELOOP`, ...), or undefined. */
export function errnoOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * Maps a file system error met while resolving `vpath` to a coded {@link KernelError}.
 * A KernelError passes through unchanged; an unknown errno becomes `INTERNAL` with the errno
 * in `details` (never the host path, which would tell a capsule where its root lives).
 */
export function toPathError(error: unknown, vpath: string, action: string): KernelError {
  if (isKernelError(error)) return error;
  const errno = errnoOf(error);
  const at = `Cannot ${action} "${vpath}"`;
  switch (errno) {
    case 'ENOENT':
      return new KernelError(ErrorCode.PathNotFound, `${at} as it does not exist`, { cause: error });
    case 'ENOTDIR':
      return new KernelError(ErrorCode.PathNotDirectory, `${at} as a component is not a directory`, { cause: error });
    case 'EISDIR':
      return new KernelError(ErrorCode.PathIsDirectory, `${at} as it is a directory`, { cause: error });
    case 'EEXIST':
      return new KernelError(ErrorCode.PathExists, `${at} as it already exists`, { cause: error });
    case 'EROFS':
      return new KernelError(ErrorCode.ReadOnly, `${at} as the file system is read-only`, { cause: error });
    case 'ENAMETOOLONG':
      return new KernelError(ErrorCode.PathInvalid, `${at} as the host path is too long`, { cause: error });
    case 'ENXIO':
      return new KernelError(ErrorCode.PathInvalid, `${at} as it is not a regular file`, { cause: error });
    default:
      return new KernelError(ErrorCode.Internal, `${at}: unexpected ${errno ?? 'error'}`, {
        cause: error,
        details: { errno: errno ?? null },
      });
  }
}
