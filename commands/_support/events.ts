import type { NewEvent } from '../../kernel/events/index.ts';
import { CLI_SOURCE } from './base.ts';

/** The event `astrid kv set` appends. */
export function kvSetEvent(namespace: string, key: string, value: unknown): NewEvent {
  return { type: 'kv.value.set', v: 1, source: CLI_SOURCE, data: { namespace, key, value } };
}

/** The event `astrid kv delete` appends. */
export function kvDeleteEvent(namespace: string, key: string): NewEvent {
  return { type: 'kv.value.deleted', v: 1, source: CLI_SOURCE, data: { namespace, key } };
}

/** The event `astrid route set` appends. */
export function routeAssignedEvent(role: string, capsuleId: string): NewEvent {
  return { type: 'route.assigned', v: 1, source: CLI_SOURCE, data: { role, capsuleId } };
}

/** The event `astrid route remove` appends. */
export function routeRemovedEvent(role: string): NewEvent {
  return { type: 'route.removed', v: 1, source: CLI_SOURCE, data: { role } };
}
