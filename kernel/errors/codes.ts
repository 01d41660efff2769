/**
 * Every stable error code of Astrid, in one table. Codes are part of the public contract:
 * add new ones, never rename or reuse one. Each area keeps its own block; append new codes
 * at the end of the block they belong to.
 */
export const ErrorCode = {
  // general
  Internal: 'INTERNAL',
  InvalidArgument: 'INVALID_ARGUMENT',
  Unsupported: 'UNSUPPORTED',
  Aborted: 'ABORTED',
  Timeout: 'TIMEOUT',
  NotFound: 'NOT_FOUND',
  // home and config
  HomeNotInitialized: 'HOME_NOT_INITIALIZED',
  HomeInvalid: 'HOME_INVALID',
  HomeLocked: 'HOME_LOCKED',
  ConfigInvalid: 'CONFIG_INVALID',
  // event log
  LogClosed: 'LOG_CLOSED',
  LogFormatUnsupported: 'LOG_FORMAT_UNSUPPORTED',
  LogCorrupt: 'LOG_CORRUPT',
  EventInvalid: 'EVENT_INVALID',
  EventVersionUnsupported: 'EVENT_VERSION_UNSUPPORTED',
  BlobMissing: 'BLOB_MISSING',
  // projections
  ProjectionUnknown: 'PROJECTION_UNKNOWN',
  ProjectionFailed: 'PROJECTION_FAILED',
  ProjectionPinned: 'PROJECTION_PINNED',
  // bus
  SubjectInvalid: 'SUBJECT_INVALID',
  PatternInvalid: 'PATTERN_INVALID',
  PayloadInvalid: 'PAYLOAD_INVALID',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  QuotaRateExceeded: 'QUOTA_RATE_EXCEEDED',
  QuotaBytesExceeded: 'QUOTA_BYTES_EXCEEDED',
  QuotaSubscriptionsExceeded: 'QUOTA_SUBSCRIPTIONS_EXCEEDED',
  // kv and routes
  KvKeyInvalid: 'KV_KEY_INVALID',
  RouteInvalid: 'ROUTE_INVALID',
  // kernel socket and daemon
  DaemonNotRunning: 'DAEMON_NOT_RUNNING',
  DaemonAlreadyRunning: 'DAEMON_ALREADY_RUNNING',
  ProtocolMismatch: 'PROTOCOL_MISMATCH',
  ProtocolViolation: 'PROTOCOL_VIOLATION',
  ConnectionLost: 'CONNECTION_LOST',
  // capsules: manifest, archive, install
  ManifestInvalid: 'MANIFEST_INVALID',
  ArchiveInvalid: 'ARCHIVE_INVALID',
  ArchiveUnsafeEntry: 'ARCHIVE_UNSAFE_ENTRY',
  ArchiveTooLarge: 'ARCHIVE_TOO_LARGE',
  CapsuleNotFound: 'CAPSULE_NOT_FOUND',
  CapsuleInvalid: 'CAPSULE_INVALID',
  // capsule host
  WasmInvalid: 'WASM_INVALID',
  WasmImportDenied: 'WASM_IMPORT_DENIED',
  WasmExportMissing: 'WASM_EXPORT_MISSING',
  CapsuleTrapped: 'CAPSULE_TRAPPED',
  CapsuleTimeout: 'CAPSULE_TIMEOUT',
  CapsuleMemoryExceeded: 'CAPSULE_MEMORY_EXCEEDED',
  CapsuleFailed: 'CAPSULE_FAILED',
  CapabilityDenied: 'CAPABILITY_DENIED',
  BuildFailed: 'BUILD_FAILED',
  CapsuleClosed: 'CAPSULE_CLOSED',
  // vfs, capability handles, ignore boundary
  PathInvalid: 'PATH_INVALID',
  PathEscape: 'PATH_ESCAPE',
  PathIgnored: 'PATH_IGNORED',
  PathNotFound: 'PATH_NOT_FOUND',
  PathExists: 'PATH_EXISTS',
  PathNotDirectory: 'PATH_NOT_DIRECTORY',
  PathIsDirectory: 'PATH_IS_DIRECTORY',
  ReadOnly: 'READ_ONLY',
  SessionNotFound: 'SESSION_NOT_FOUND',
  HandleInvalid: 'HANDLE_INVALID',
} as const;

/** One of the stable error codes. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
