export { capsuleInstallEvent } from './install.ts';
export { capsuleFiles, capsulesDir } from './materialize.ts';
export {
  CAPSULES_PROJECTION,
  InstalledCapsuleSchema,
  installedCapsuleOf,
  listInstalled,
  type InstalledCapsule,
  type InstalledCapsuleEntry,
} from './schema.ts';
