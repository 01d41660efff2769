import * as v from 'valibot';
import {
  CapabilitiesSchema,
  ComponentSchema,
  ContextFileSchema,
  EnvEntrySchema,
  EnvNameSchema,
  HandlerSchema,
  LimitsSchema,
  McpServerSchema,
  PackageSchema,
  SkillSchema,
  ToolSchema,
} from './schema-parts.ts';

function isPlainTable(input: unknown): input is Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return false;
  const proto: unknown = Object.getPrototypeOf(input);
  return proto === Object.prototype || proto === null;
}

/**
 * `[env]`: a table of `[env.NAME]` entries. Every key is checked before the record schema runs,
 * because valibot's record silently skips `constructor` and `prototype`.
 */
export const EnvSchema = v.pipe(
  v.custom<Record<string, unknown>>(isPlainTable, 'expected a table of [env.NAME] entries'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const key of Object.keys(dataset.value)) {
      if (!v.is(EnvNameSchema, key)) {
        addIssue({
          message: 'expected an env name: upper-case letters, digits and "_", starting with a letter',
          path: [{ type: 'unknown', origin: 'key', input: dataset.value, key, value: dataset.value[key] }],
        });
      }
    }
  }),
  v.record(EnvNameSchema, EnvEntrySchema),
);

/** The tables of `Capsule.toml`, each strict, before cross-references are checked. */
export const ManifestShapeSchema = v.strictObject({
  package: PackageSchema,
  component: v.optional(v.array(ComponentSchema)),
  capabilities: v.optional(CapabilitiesSchema),
  handler: v.optional(v.array(HandlerSchema)),
  tool: v.optional(v.array(ToolSchema)),
  env: v.optional(EnvSchema),
  mcp_server: v.optional(v.array(McpServerSchema)),
  context_file: v.optional(v.array(ContextFileSchema)),
  skill: v.optional(v.array(SkillSchema)),
  limits: v.optional(LimitsSchema),
});

/** A `Capsule.toml` whose tables are valid but whose cross-references are not checked yet. */
export type ManifestShape = v.InferOutput<typeof ManifestShapeSchema>;
