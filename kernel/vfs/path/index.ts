export { MountTable, type Layer, type Mount, type MountResolution } from './mount-table.ts';
export { openExactInRoot, openInRoot, readExactInRoot, type OpenFlags, type OpenInRootOptions } from './open-in-root.ts';
export type { ExactFile } from './open-exact.ts';
export {
  canonicalRoot,
  resolveInRoot,
  typeOf,
  type EntryType,
  type ResolveOptions,
  type ResolvedPath,
} from './resolve-in-root.ts';
export {
  MAX_NAME_BYTES,
  MAX_PATH_BYTES,
  VIRTUAL_ROOT,
  VirtualPathBrandSchema,
  VirtualPathSchema,
  isNormalizedVirtualPath,
  isWithinVirtual,
  normalizeVirtualPath,
  relativeVirtual,
  virtualPathFromParts,
  virtualPathParts,
  type VirtualPath,
} from './virtual-path.ts';
export { MAX_SYMLINK_HOPS, type SymlinkPolicy } from './walk.ts';
