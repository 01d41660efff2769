import type { RouteAssigned, RouteRemoved, StoredEvent } from '../kernel/events/index.ts';
import type { JsonValue, ProjectionDefinition, StateReader } from '../kernel/projection/index.ts';

/** A route: which capsule serves a role, and since which seq. */
export interface Route {
  readonly role: string;
  readonly capsuleId: string;
  readonly seq: number;
}

/** The routing table: role → capsule id, from `route.assigned` and `route.removed`. */
export const routesProjection: ProjectionDefinition = {
  name: 'routes',
  version: 1,
  types: ['route.assigned', 'route.removed'],
  apply(state, event: StoredEvent) {
    if (event.type === 'route.assigned') {
      const { role, capsuleId } = event.data as RouteAssigned;
      state.put(role, { capsuleId, seq: event.seq });
    } else {
      state.delete((event.data as RouteRemoved).role);
    }
  },
};

/** Decodes a stored route. */
export function routeOf(role: string, stored: JsonValue): Route {
  const { capsuleId, seq } = stored as { capsuleId: string; seq: number };
  return { role, capsuleId, seq };
}

/** The capsule serving `role`, or null. */
export function routeGet(state: StateReader, role: string): Route | null {
  const stored = state.get(role);
  return stored === undefined ? null : routeOf(role, stored);
}

/** Every route, in role order. */
export function routeList(state: StateReader): Route[] {
  return [...state.entries('')].map(([role, stored]) => routeOf(role, stored));
}
