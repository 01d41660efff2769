export { mergeCapabilities, mergedCapabilities, type EffectiveCapabilities } from './capabilities.ts';
export { manifestFileReferences, type ManifestFileReference } from './files.ts';
export {
  MANIFEST_FILE_NAME,
  MAX_MANIFEST_BYTES,
  loadManifest,
  parseManifest,
  validateManifest,
  type ParseManifestOptions,
} from './parse.ts';
export { relativePathProblem } from './rules.ts';
export {
  CapsuleManifestSchema,
  type CapsuleCapabilities,
  type CapsuleComponent,
  type CapsuleLimits,
  type CapsuleManifest,
} from './schema.ts';
export type { JsonValue } from './schema-parts.ts';
