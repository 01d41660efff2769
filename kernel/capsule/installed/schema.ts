import * as v from 'valibot';
import type { JsonValue, StateReader } from '../../projection/index.ts';

/** The name of the projection holding installed capsules. */
export const CAPSULES_PROJECTION = 'capsules';

/** What the capsules projection stores per capsule id. */
export const InstalledCapsuleSchema = v.object({
  version: v.string(),
  /** SHA-256 of the `.capsule` archive, a blob in the log. */
  archive: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  size: v.number(),
  /** The seq of the `capsule.installed` event. */
  seq: v.number(),
});

/** One installed capsule as the projection stores it. */
export type InstalledCapsule = v.InferOutput<typeof InstalledCapsuleSchema>;

/** An installed capsule with its id. */
export interface InstalledCapsuleEntry extends InstalledCapsule {
  readonly capsuleId: string;
}

/** Decodes a stored projection value (written by this build's projection, so trusted). */
export function installedCapsuleOf(capsuleId: string, stored: JsonValue): InstalledCapsuleEntry {
  return { capsuleId, ...v.parse(InstalledCapsuleSchema, stored) };
}

/** Every installed capsule, in id order. */
export function listInstalled(state: StateReader): InstalledCapsuleEntry[] {
  return [...state.entries('')].map(([id, stored]) => installedCapsuleOf(id, stored));
}
