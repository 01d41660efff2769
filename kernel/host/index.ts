export { createCapsuleHost, DEFAULT_LIMITS, type CapsuleHost, type CapsuleHostOptions, type LoadOptions } from './capsule-host.ts';
export { CapsuleInstance, type CallOptions, type CapsuleLimits } from './capsule-instance.ts';
export {
  AirlockLimits,
  CapsuleGrantSchema,
  GrantChecker,
  parseGrant,
  patternCovers,
  subjectTokens,
  type CapsuleGrant,
  type CapsuleGrantInput,
} from './grant.ts';
export { createMemoryHostServices, type CapturedLog, type MemoryHostServices } from './memory-services.ts';
export type {
  CallEffects,
  CapsuleLogLevel,
  FsCaller,
  FsEntry,
  FsGrant,
  FsStat,
  HostFile,
  HostServices,
  IpcBatch,
  IpcMessage,
  IpcPublication,
  KvWrite,
  MaybePromise,
} from './services.ts';
export { AIRLOCK_NAMES, EXTISM_ENV_IMPORTS, ModuleCache, capLinearMemory, checkModuleInterface, type CompiledCapsule } from './wasm-module.ts';
