import type { CapsuleInstalled, CapsuleRemoved, StoredEvent } from '../kernel/events/index.ts';
import type { InstalledCapsule } from '../kernel/capsule/installed/index.ts';
import type { ProjectionDefinition } from '../kernel/projection/index.ts';

/**
 * Installed capsules: capsule id → the installed version and its archive blob. The kernel
 * materialises each archive under `<home>/capsules/<id>/` from this state.
 */
export const capsulesProjection: ProjectionDefinition = {
  name: 'capsules',
  version: 1,
  types: ['capsule.installed', 'capsule.removed'],
  apply(state, event: StoredEvent) {
    if (event.type === 'capsule.installed') {
      const { capsuleId, version, archive, size } = event.data as CapsuleInstalled;
      const value: InstalledCapsule = { version, archive, size, seq: event.seq };
      state.put(capsuleId, { ...value });
    } else {
      state.delete((event.data as CapsuleRemoved).capsuleId);
    }
  },
};
