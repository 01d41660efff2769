import type { ProjectionDefinition } from '../kernel/projection/index.ts';
import { capsulesProjection } from './capsules.ts';
import { deliveriesProjection } from './deliveries.ts';
import { kvProjection } from './kv.ts';
import { revocationsProjection } from './revocations.ts';
import { routesProjection } from './routes.ts';
import { vfsProjection } from './vfs.ts';

export { capsulesProjection } from './capsules.ts';
export { deliveriesProjection } from './deliveries.ts';
export { kvEntryOf, kvGet, kvList, kvProjection, kvStoreKey, type KvEntry } from './kv.ts';
export { revocationsProjection } from './revocations.ts';
export { vfsProjection } from './vfs.ts';
export { routeGet, routeOf, routeList, routesProjection, type Route } from './routes.ts';

/** Every projection the kernel maintains, in the order they are applied. */
export const allProjections: readonly ProjectionDefinition[] = [kvProjection, routesProjection, capsulesProjection, deliveriesProjection, vfsProjection, revocationsProjection];
