export { MemoryState, foldInMemory } from './memory-state.ts';
export type { JsonValue, ProjectionDefinition, ProjectionStatus, StateReader, StateWriter } from './types.ts';
