import type { CapsuleDeliveryCompleted, CapsuleDeliveryFailed, StoredEvent } from '../kernel/events/index.ts';
import { deliveryKey, type DeliveryCursor } from '../kernel/runtime/deliveries.ts';
import type { ProjectionDefinition } from '../kernel/projection/index.ts';

/**
 * Handler cursors: for each capsule handler, the last bus message it finished (or gave up
 * on). The cursor moves in the same unit as the handler's effects, so after a crash a
 * handler resumes right after the last message whose effects were recorded. A reinstalled
 * capsule starts after its install event, whatever an older cursor says.
 */
export const deliveriesProjection: ProjectionDefinition = {
  name: 'deliveries',
  version: 1,
  types: ['capsule.delivery.completed', 'capsule.delivery.failed'],
  apply(state, event: StoredEvent) {
    const data = event.data as CapsuleDeliveryCompleted | CapsuleDeliveryFailed;
    const failed = event.type === 'capsule.delivery.failed';
    const cursor: DeliveryCursor = { seq: data.seq, failed: failed ? 1 : 0, at: event.seq };
    const previous = state.get(deliveryKey(data.capsuleId, data.handler)) as DeliveryCursor | undefined;
    state.put(deliveryKey(data.capsuleId, data.handler), { ...cursor, failed: (previous?.failed ?? 0) + cursor.failed });
  },
};
