import * as v from 'valibot';
import { referenceProblems } from './references.ts';
import { ManifestShapeSchema } from './shape.ts';
import type { CapabilitiesSchema, ComponentSchema, LimitsSchema } from './schema-parts.ts';

/**
 * The whole `Capsule.toml` after TOML parsing: every table strict (unknown keys are issues),
 * then the cross-references (unique ids, handler components, host_process listings, env names).
 * Validating with it alone is enough; `parseManifest` adds TOML parsing and coded errors.
 */
export const CapsuleManifestSchema = v.pipe(
  ManifestShapeSchema,
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const problem of referenceProblems(dataset.value)) {
      const [first, ...rest] = problem.path.map(
        (key): v.IssuePathItem => ({ type: 'unknown', origin: 'value', input: dataset.value, key, value: undefined }),
      );
      addIssue(first === undefined ? { message: problem.message } : { message: problem.message, path: [first, ...rest] });
    }
  }),
);

/** A validated `Capsule.toml`, exactly as written (no defaults filled in). */
export type CapsuleManifest = v.InferOutput<typeof CapsuleManifestSchema>;

/** `[capabilities]` (or a component's inline capabilities) as written. */
export type CapsuleCapabilities = v.InferOutput<typeof CapabilitiesSchema>;

/** One `[[component]]` as written. */
export type CapsuleComponent = v.InferOutput<typeof ComponentSchema>;

/** `[limits]` as written. */
export type CapsuleLimits = v.InferOutput<typeof LimitsSchema>;
