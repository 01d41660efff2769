import type { CapabilityRevoked, StoredEvent } from '../kernel/events/index.ts';
import type { ProjectionDefinition } from '../kernel/projection/index.ts';
import { REVOCATIONS_PROJECTION } from '../kernel/vfs/overlay/index.ts';

/** Revoked capability handle ids: id → the seq of its `capability.revoked`. */
export const revocationsProjection: ProjectionDefinition = {
  name: REVOCATIONS_PROJECTION,
  version: 1,
  types: ['capability.revoked'],
  apply(state, event: StoredEvent) {
    const { id } = event.data as CapabilityRevoked;
    if (state.get(id) === undefined) state.put(id, { seq: event.seq });
  },
};
