export { IGNORE_FILE, IgnoreBoundary, normalizeRelative, type IgnoreBoundaryOptions, type IgnoreDecision } from './boundary.ts';
export { BUILTIN_HIDDEN_RULES, BUILTIN_PROTECTED_RULES } from './builtin-rules.ts';
export { MAX_IGNORE_FILE_BYTES, loadIgnoreBoundary } from './load-boundary.ts';
export { parseIgnoreFile, trimTrailingSpaces, type RootRule } from './rule-file.ts';
