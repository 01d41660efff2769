import { fileURLToPath } from 'node:url';

/** The absolute path of the repository root, with a trailing separator. */
export const repoRoot: string = fileURLToPath(new URL('../../', import.meta.url));

/** The absolute path of a file or folder given relative to the repository root. */
export function repoPath(relative: string): string {
  return fileURLToPath(new URL(relative, new URL('../../', import.meta.url)));
}
