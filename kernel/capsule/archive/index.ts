export { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits, type ArchiveLimitsInput } from './limits.ts';
export { packCapsule, packCapsuleBuffer, type PackOptions, type PackResult } from './pack.ts';
export {
  readCapsuleManifest,
  unpackCapsule,
  unpackCapsuleBuffer,
  type UnpackOptions,
  type UnpackResult,
} from './unpack.ts';
