export {
  CAPSULE_FILES_MOUNT,
  CapsuleFiles,
  DEFAULT_READ_CHUNK_BYTES,
  DEFAULT_WRITE_FILE_BYTES,
  type CapsuleFilesOptions,
} from './capsule-files.ts';
export { grantPath, grantsAllow, pathWithin, requireRight } from './gate.ts';
export { hostDirLayer, sessionLayer, type FileLayer, type SessionFiles } from './layers.ts';
export { createMemorySessions, type MemorySessions } from './memory-sessions.ts';
