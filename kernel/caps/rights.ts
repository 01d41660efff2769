import * as v from 'valibot';

/** Every right a capability handle can carry, in bit order. */
export const RIGHTS = ['read', 'write', 'list', 'create', 'delete'] as const;

/** One right: `read` file contents, `write` existing files, `list` directories, `create` and `delete` entries. */
export const RightSchema = v.picklist(RIGHTS);

/** One right a capability handle can carry. */
export type Right = v.InferOutput<typeof RightSchema>;

/** A non-empty list of rights (duplicates allowed, order irrelevant). */
export const RightsSchema = v.pipe(v.array(RightSchema), v.minLength(1, 'Expected at least one right'));

/** Bitmask of all rights. */
export const ALL_RIGHTS_MASK = (1 << RIGHTS.length) - 1;

/** The bitmask of a list of rights. */
export function rightsToMask(rights: readonly Right[]): number {
  let mask = 0;
  for (const right of rights) mask |= 1 << RIGHTS.indexOf(right);
  return mask;
}

/** The rights in a bitmask, in canonical order. */
export function maskToRights(mask: number): Right[] {
  return RIGHTS.filter((_, i) => (mask & (1 << i)) !== 0);
}

/** The bit of one right. */
export function rightBit(right: Right): number {
  return 1 << RIGHTS.indexOf(right);
}
