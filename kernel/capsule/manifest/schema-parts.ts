import * as v from 'valibot';
import {
  CAPSULE_ID_PATTERN,
  commandProblem,
  isNetHost,
  isSemverRange,
  isSemverVersion,
  isSubjectPattern,
  relativePathProblem,
} from './rules.ts';

// Leaf schemas of Capsule.toml. Every message is an expectation ("expected …"); the parser
// prefixes it with the key path, so messages never repeat the key.

function text(max: number) {
  return v.pipe(v.string(), v.maxLength(max, `expected at most ${max} characters`));
}

function nonEmptyText(max: number) {
  return v.pipe(v.string(), v.nonEmpty('expected a non-empty string'), v.maxLength(max, `expected at most ${max} characters`));
}

function uniqueStrings<T extends string>(list: T[]): boolean {
  return new Set(list).size === list.length;
}

/** A capsule id, as `[package] name`: `^[a-z0-9][a-z0-9-]{0,62}$`. */
export const CapsuleIdSchema = v.pipe(
  v.string(),
  v.regex(CAPSULE_ID_PATTERN, 'expected a capsule id: 1 to 63 lowercase letters, digits or "-", not starting with "-"'),
);

/** A component id: same rule as a capsule id. */
export const ComponentIdSchema = v.pipe(
  v.string(),
  v.regex(CAPSULE_ID_PATTERN, 'expected a component id: 1 to 63 lowercase letters, digits or "-", not starting with "-"'),
);

/** A strict semver version such as `1.2.3`. */
export const SemverVersionSchema = v.pipe(
  v.string(),
  v.check(isSemverVersion, 'expected a semver version such as "1.2.3"'),
);

/** A semver range such as `>=0.1.0 <2`. */
export const SemverRangeSchema = v.pipe(
  v.string(),
  v.check(isSemverRange, 'expected a semver range such as ">=0.1.0" or "^1.2"'),
);

/** A NATS-style subject pattern (`*` one token, `>` the rest). */
export const SubjectPatternSchema = v.pipe(
  v.string(),
  v.check(isSubjectPattern, 'expected a subject pattern: dot-separated tokens of a-z, 0-9 or "-", "*" or a final ">"'),
);

/** A path inside the capsule: relative, `/`-separated, never leaving the capsule. */
export const CapsulePathSchema = v.pipe(
  v.string(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = relativePathProblem(dataset.value);
    if (problem !== null) addIssue({ message: `expected a relative path inside the capsule, but ${problem}` });
  }),
);

/** A path in the agent's workspace, relative to its root; `.` is the root itself. */
export const WorkspacePathSchema = v.pipe(
  v.string(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed || dataset.value === '.') return;
    const problem = relativePathProblem(dataset.value);
    if (problem !== null) addIssue({ message: `expected "." or a relative path inside the workspace, but ${problem}` });
  }),
);

/** A host process command: program name, absolute host path, or `./path` inside the capsule. */
export const CommandSchema = v.pipe(
  v.string(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = commandProblem(dataset.value);
    if (problem !== null) addIssue({ message: `expected a host command, but ${problem}` });
  }),
);

/** The name of a function a WebAssembly component exports. */
export const ExportNameSchema = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'expected an exported function name: letters, digits and "_", not starting with a digit'),
);

/** A short name (tools, context files, skills, MCP servers, KV namespaces). */
export const NameSchema = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'expected a name: 1 to 64 letters, digits, "_", "." or "-", starting with a letter or digit'),
);

/** The name of an `[env]` entry: upper-case letters, digits and `_`, starting with a letter. */
export const EnvNameSchema = v.pipe(
  v.string(),
  v.regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'expected an env name: upper-case letters, digits and "_", starting with a letter'),
);

/** The rights an fs grant may carry. */
export const FsRightSchema = v.picklist(
  ['read', 'write', 'list', 'create', 'delete'],
  'expected one of "read", "write", "list", "create" or "delete"',
);

/** One `fs` grant: a workspace path and the rights on it and everything below it. */
export const FsGrantSchema = v.strictObject({
  path: WorkspacePathSchema,
  rights: v.pipe(
    v.array(FsRightSchema),
    v.minLength(1, 'expected at least one right'),
    v.check(uniqueStrings, 'expected each right at most once'),
  ),
});

/** `[capabilities]`, also used inline in a `[[component]]`. */
export const CapabilitiesSchema = v.strictObject({
  ipc_publish: v.optional(v.array(SubjectPatternSchema)),
  ipc_subscribe: v.optional(v.array(SubjectPatternSchema)),
  kv: v.optional(v.union([v.boolean(), v.array(NameSchema)], 'expected true, false or an array of namespace names')),
  fs: v.optional(v.array(FsGrantSchema)),
  net: v.optional(
    v.array(
      v.pipe(v.string(), v.check(isNetHost, 'expected a host such as "api.example.com", "*.example.com", "*" or "host:443"')),
    ),
  ),
  host_process: v.optional(v.array(CommandSchema)),
  uplink: v.optional(v.boolean()),
});

/** `[package]`. */
export const PackageSchema = v.strictObject({
  name: CapsuleIdSchema,
  version: SemverVersionSchema,
  description: v.optional(text(4096)),
  authors: v.optional(v.array(nonEmptyText(256))),
  license: v.optional(nonEmptyText(256)),
  repository: v.optional(v.pipe(v.string(), v.url('expected a URL such as "https://example.com/repo"'))),
  'astrid-version': v.optional(SemverRangeSchema),
});

/** A host process a component runs as, instead of WebAssembly. */
export const ProcessSchema = v.strictObject({
  command: CommandSchema,
  args: v.optional(v.array(text(4096))),
});

/** One `[[component]]`: either a `wasm` file or a host `process`, with its own capabilities. */
export const ComponentSchema = v.strictObject({
  id: ComponentIdSchema,
  wasm: v.optional(CapsulePathSchema),
  process: v.optional(ProcessSchema),
  capabilities: v.optional(CapabilitiesSchema),
});

/** One `[[handler]]`: a subject pattern delivered to an exported function. */
export const HandlerSchema = v.strictObject({
  subject: SubjectPatternSchema,
  function: ExportNameSchema,
  component: v.optional(ComponentIdSchema),
});

/** A JSON value (TOML dates are not JSON). */
export type JsonValue = string | number | boolean | readonly JsonValue[] | { readonly [key: string]: JsonValue };

function isJsonValue(value: unknown, depth: number): boolean {
  if (depth > 64) return false;
  if (typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((item) => isJsonValue(item, depth + 1));
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(value).every((item) => isJsonValue(item, depth + 1));
}

function toPlainJson(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(toPlainJson);
  if (typeof value !== 'object') return value;
  const out: Record<string, JsonValue> = {};
  for (const [key, item] of Object.entries(value as Record<string, JsonValue>)) {
    // defineProperty, so that a "__proto__" key stays data and never becomes a prototype
    Object.defineProperty(out, key, { value: toPlainJson(item), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A JSON Schema table whose `type` is `"object"`: the input of a tool. */
export type JsonSchemaObject = { readonly type: 'object'; readonly [key: string]: JsonValue };

/**
 * A JSON Schema object describing a tool's input: a table whose `type` is `"object"`, holding
 * JSON values only. The output is a fresh copy made of plain objects and arrays.
 */
export const JsonSchemaObjectSchema = v.pipe(
  v.custom<JsonSchemaObject>(
    (input) =>
      isJsonValue(input, 0) &&
      typeof input === 'object' &&
      input !== null &&
      !Array.isArray(input) &&
      (input as { type?: unknown }).type === 'object',
    'expected a JSON Schema table with type = "object" (JSON values only, no dates)',
  ),
  v.transform((input) => toPlainJson(input) as JsonSchemaObject),
);

/** One `[[tool]]`. */
export const ToolSchema = v.strictObject({
  name: NameSchema,
  description: nonEmptyText(4096),
  input_schema: JsonSchemaObjectSchema,
});

/** One `[env.NAME]` entry. */
export const EnvEntrySchema = v.strictObject({
  description: v.optional(text(4096)),
  required: v.optional(v.boolean()),
  secret: v.optional(v.boolean()),
  default: v.optional(text(4096)),
});

/** One `[[mcp_server]]`: an MCP server the kernel spawns over stdio. */
export const McpServerSchema = v.strictObject({
  id: NameSchema,
  description: v.optional(text(4096)),
  command: CommandSchema,
  args: v.optional(v.array(text(4096))),
  env: v.optional(v.array(EnvNameSchema)),
});

/** One `[[context_file]]`. */
export const ContextFileSchema = v.strictObject({
  name: NameSchema,
  file: CapsulePathSchema,
});

/** One `[[skill]]`. */
export const SkillSchema = v.strictObject({
  name: NameSchema,
  description: v.optional(text(4096)),
  file: CapsulePathSchema,
});

function bounded(min: number, max: number, what: string) {
  return v.pipe(
    v.number(),
    v.safeInteger(`expected an integer number of ${what}`),
    v.minValue(min, `expected at least ${min} ${what}`),
    v.maxValue(max, `expected at most ${max} ${what}`),
  );
}

/** `[limits]`: per-capsule ceilings; the kernel applies its defaults and its own caps on top. */
export const LimitsSchema = v.strictObject({
  call_timeout_ms: v.optional(bounded(1, 3_600_000, 'milliseconds')),
  memory_pages: v.optional(bounded(1, 65_536, 'pages')),
  memory_bytes: v.optional(
    v.pipe(
      bounded(65_536, 4 * 1024 ** 3, 'bytes'),
      v.multipleOf(65_536, 'expected a multiple of 65536 bytes (one WebAssembly page)'),
    ),
  ),
  publish_payload_bytes: v.optional(bounded(1, 64 * 1024 ** 2, 'bytes')),
  publish_msgs_per_sec: v.optional(bounded(1, 1_000_000, 'messages')),
  publish_bytes_per_sec: v.optional(bounded(1, 1024 ** 3, 'bytes')),
  subscriptions: v.optional(bounded(0, 4096, 'subscriptions')),
});
