export { MemoryState, foldInMemory } from './memory-state.ts';
export type { JsonValue, MaterializeContext, Materializer, ProjectionDefinition, ProjectionStatus, StateReader, StateWriter } from './types.ts';
