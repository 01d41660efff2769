import type { ProjectionDefinition } from '../kernel/projection/index.ts';
import { capsulesProjection } from './capsules.ts';
import { deliveriesProjection } from './deliveries.ts';
import { kvProjection } from './kv.ts';
import { routesProjection } from './routes.ts';

export { capsulesProjection } from './capsules.ts';
export { deliveriesProjection } from './deliveries.ts';
export { kvEntryOf, kvGet, kvList, kvProjection, kvStoreKey, type KvEntry } from './kv.ts';
export { routeGet, routeOf, routeList, routesProjection, type Route } from './routes.ts';

/** Every projection the kernel maintains, in the order they are applied. */
export const allProjections: readonly ProjectionDefinition[] = [kvProjection, routesProjection, capsulesProjection, deliveriesProjection];
