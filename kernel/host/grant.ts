import * as v from 'valibot';
import { RightSchema } from '../caps/index.ts';
import { ErrorCode, KernelError } from '../errors/index.ts';
import { VirtualPathSchema } from '../vfs/path/index.ts';
import { subjectTokens } from './grant-checker.ts';

export { AirlockLimits, GrantChecker, patternCovers, subjectTokens } from './grant-checker.ts';

const PatternSchema = v.pipe(
  v.string(),
  v.check((s) => subjectTokens(s, true) !== null, 'Expected a subject pattern such as "a.*.c" or "a.>"'),
);

/**
 * What a capsule may do through its airlocks, from its manifest: the subjects it may publish
 * and subscribe to (NATS patterns), whether it may read or write its KV namespace, and the
 * names of its declared `[env]` keys (readable with `astrid_config_get`).
 */
export const CapsuleGrantSchema = v.object({
  ipc: v.optional(
    v.object({
      publish: v.optional(v.array(PatternSchema), []),
      subscribe: v.optional(v.array(PatternSchema), []),
    }),
    { publish: [], subscribe: [] },
  ),
  kv: v.optional(v.array(v.picklist(['read', 'write'])), []),
  env: v.optional(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(256))), []),
  /** The manifest's `[capabilities] fs` as virtual paths: a handle never grants more than these. */
  fs: v.optional(v.array(v.object({ path: VirtualPathSchema, rights: v.array(RightSchema) })), []),
});

/** A capsule's grant as given to `host.load()` (fields may be omitted: nothing allowed). */
export type CapsuleGrantInput = v.InferInput<typeof CapsuleGrantSchema>;

/** A parsed grant. */
export type CapsuleGrant = v.InferOutput<typeof CapsuleGrantSchema>;

/** Parses a grant at the trust boundary; throws `CAPSULE_INVALID` naming the bad key. */
export function parseGrant(capsuleId: string, input: unknown): CapsuleGrant {
  const result = v.safeParse(CapsuleGrantSchema, input);
  if (!result.success) {
    const issue = result.issues[0];
    const path = issue === undefined ? '' : (v.getDotPath(issue) ?? '');
    throw new KernelError(ErrorCode.CapsuleInvalid, `Cannot load capsule "${capsuleId}" as its grant is invalid at "${path}": ${issue?.message ?? 'unknown'}`);
  }
  return result.output;
}
