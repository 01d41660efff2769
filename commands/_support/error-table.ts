import { ErrorCode } from '../../kernel/errors/index.ts';

/** What the CLI does with an error code: the process exit code and a hint for the user. */
export interface ErrorOutcome {
  readonly exit: number;
  readonly hint: string;
}

/** Exit codes by family. 1 is an unexpected failure; 0 never signals an error. */
export const Exit = {
  Internal: 1,
  Usage: 2,
  Home: 3,
  NotFound: 4,
  Refused: 5,
  Integrity: 6,
  Kernel: 7,
  Security: 8,
  Capsule: 9,
} as const;

const table: Partial<Record<ErrorCode, ErrorOutcome>> = {
  [ErrorCode.InvalidArgument]: { exit: Exit.Usage, hint: 'Check the arguments against `astrid <command> --help`.' },
  [ErrorCode.HomeNotInitialized]: { exit: Exit.Home, hint: 'Run `astrid init` (or pass --home / ASTRID_HOME for another home).' },
  [ErrorCode.HomeInvalid]: { exit: Exit.Home, hint: 'This directory is not a usable Astrid home; point --home elsewhere.' },
  [ErrorCode.HomeLocked]: { exit: Exit.Kernel, hint: 'Another astrid process owns the home; wait for it or stop it.' },
  [ErrorCode.LogFormatUnsupported]: { exit: Exit.Home, hint: 'A newer Astrid wrote this home; upgrade Astrid to read it.' },
  [ErrorCode.EventVersionUnsupported]: { exit: Exit.Home, hint: 'A newer Astrid wrote events this build cannot read; upgrade Astrid.' },
  [ErrorCode.LogCorrupt]: { exit: Exit.Integrity, hint: 'Restore the log from a backup; `astrid log verify` names the first bad seq.' },
  [ErrorCode.EventInvalid]: { exit: Exit.Usage, hint: 'The event does not match its schema; nothing was written.' },
  [ErrorCode.ProjectionUnknown]: { exit: Exit.Usage, hint: 'List projections with `astrid daemon status --json`.' },
  [ErrorCode.ProjectionFailed]: { exit: Exit.Internal, hint: 'A projection refused an event; nothing was written. Report it as a bug.' },
  [ErrorCode.SubjectInvalid]: { exit: Exit.Usage, hint: 'Subjects are dot-separated tokens of letters, digits, "_" and "-", with no wildcards.' },
  [ErrorCode.PatternInvalid]: { exit: Exit.Usage, hint: 'Patterns are subjects where "*" matches one token and a final ">" matches the rest.' },
  [ErrorCode.PayloadInvalid]: { exit: Exit.Usage, hint: 'Payloads are JSON; a standard "type" must match its schema.' },
  [ErrorCode.PayloadTooLarge]: { exit: Exit.Refused, hint: 'Send a smaller payload, or raise the publisher quota.' },
  [ErrorCode.QuotaRateExceeded]: { exit: Exit.Refused, hint: 'Slow down and retry after the time in the details.' },
  [ErrorCode.QuotaBytesExceeded]: { exit: Exit.Refused, hint: 'Slow down and retry after the time in the details.' },
  [ErrorCode.QuotaSubscriptionsExceeded]: { exit: Exit.Refused, hint: 'Close some subscriptions first.' },
  [ErrorCode.KvKeyInvalid]: { exit: Exit.Usage, hint: 'Namespaces are lowercase tokens; keys are printable text.' },
  [ErrorCode.RouteInvalid]: { exit: Exit.Usage, hint: 'Roles are lowercase dotted tokens; capsule ids are lowercase with "-".' },
  [ErrorCode.NotFound]: { exit: Exit.NotFound, hint: 'Nothing is stored under that name.' },
  [ErrorCode.CapsuleNotFound]: { exit: Exit.NotFound, hint: 'List installed capsules with `astrid capsule list`.' },
  [ErrorCode.ManifestInvalid]: { exit: Exit.Usage, hint: 'Fix Capsule.toml; see capsules/README.md for the schema.' },
  [ErrorCode.ArchiveInvalid]: { exit: Exit.Usage, hint: 'The file is not a valid .capsule archive.' },
  [ErrorCode.ArchiveUnsafeEntry]: { exit: Exit.Security, hint: 'The archive holds an unsafe entry; nothing was written.' },
  [ErrorCode.ArchiveTooLarge]: { exit: Exit.Refused, hint: 'The archive exceeds the size or entry limits.' },
  [ErrorCode.CapsuleInvalid]: { exit: Exit.Usage, hint: 'The manifest names files the capsule lacks.' },
  [ErrorCode.DaemonNotRunning]: { exit: Exit.Kernel, hint: 'Start it with `astrid daemon start`.' },
  [ErrorCode.DaemonAlreadyRunning]: { exit: Exit.Kernel, hint: 'Check it with `astrid daemon status`.' },
  [ErrorCode.ProtocolMismatch]: { exit: Exit.Kernel, hint: 'The running daemon is another Astrid version; restart it.' },
  [ErrorCode.ProtocolViolation]: { exit: Exit.Kernel, hint: 'The kernel and this client disagree; restart the daemon.' },
  [ErrorCode.ConnectionLost]: { exit: Exit.Kernel, hint: 'The kernel went away; check `astrid daemon status` and retry.' },
  [ErrorCode.Timeout]: { exit: Exit.Kernel, hint: 'Retry, or raise the timeout.' },
  [ErrorCode.Unsupported]: { exit: Exit.Usage, hint: 'This platform or option is not supported yet.' },
  [ErrorCode.CapabilityDenied]: { exit: Exit.Security, hint: 'Grant the capability in the capsule manifest; a handle can only be narrowed, never widened.' },
  [ErrorCode.CapsuleTrapped]: { exit: Exit.Capsule, hint: 'The capsule trapped; its effects were dropped. Check its logs.' },
  [ErrorCode.CapsuleTimeout]: { exit: Exit.Capsule, hint: 'The call exceeded its time limit ([limits] call_timeout_ms); its effects were dropped.' },
  [ErrorCode.CapsuleMemoryExceeded]: { exit: Exit.Capsule, hint: 'The call exceeded its memory limit ([limits] memory_bytes).' },
  [ErrorCode.CapsuleFailed]: { exit: Exit.Capsule, hint: 'The capsule reported an error.' },
  [ErrorCode.WasmExportMissing]: { exit: Exit.Usage, hint: 'The capsule does not export that function.' },
  [ErrorCode.WasmImportDenied]: { exit: Exit.Security, hint: 'The module imports functions Astrid does not provide.' },
  [ErrorCode.WasmInvalid]: { exit: Exit.Usage, hint: 'The component is not valid WebAssembly.' },
  [ErrorCode.BuildFailed]: { exit: Exit.Usage, hint: 'Fix the compiler errors shown.' },
  [ErrorCode.HandleInvalid]: { exit: Exit.Security, hint: 'Mint a fresh handle with `astrid cap mint`.' },
  [ErrorCode.PathEscape]: { exit: Exit.Security, hint: 'Paths must stay inside their root.' },
  [ErrorCode.PathExists]: { exit: Exit.Usage, hint: 'Choose another name or remove the existing path first.' },
  [ErrorCode.PathNotFound]: { exit: Exit.NotFound, hint: 'Check the path.' },
  [ErrorCode.PathIgnored]: { exit: Exit.Security, hint: 'The path is hidden by .astridignore or a built-in secret rule.' },
  [ErrorCode.PathInvalid]: { exit: Exit.Usage, hint: 'Paths are POSIX, without "..", control characters or over-long names.' },
  [ErrorCode.PathNotDirectory]: { exit: Exit.Usage, hint: 'A component of the path is not a directory.' },
  [ErrorCode.PathIsDirectory]: { exit: Exit.Usage, hint: 'The path is a directory; name a file.' },
  [ErrorCode.SessionNotFound]: { exit: Exit.NotFound, hint: 'Open one with `astrid vfs session open --lower DIR`; committed and discarded sessions are closed.' },
  [ErrorCode.ReadOnly]: { exit: Exit.Refused, hint: 'This layer is read-only; write through a VFS session.' },
  [ErrorCode.ConfigInvalid]: { exit: Exit.Usage, hint: 'Fix the configuration file named in the message.' },
  [ErrorCode.BlobMissing]: { exit: Exit.Integrity, hint: 'The log lacks a blob it references; run `astrid log verify`.' },
};

/** The exit code and hint for an error code. Unknown codes exit 1 with a generic hint. */
export function outcomeOf(code: string): ErrorOutcome {
  return table[code as ErrorCode] ?? { exit: Exit.Internal, hint: 'Run again with ASTRID_LOG=debug for details.' };
}
