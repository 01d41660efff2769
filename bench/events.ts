import type { NewEvent } from '../kernel/events/index.ts';

/** The origin host id every bench log is created with. */
export const BENCH_ORIGIN = 'benchhost';

/** The source recorded on bench events. */
export const BENCH_SOURCE = 'user:bench';

/**
 * A realistic agent payload of about 200 bytes of JSON, varying with `i` (the same shape
 * the research baselines used, so figures compare).
 */
export function payload(i: number): Record<string, unknown> {
  return {
    type: 'tool.call.completed',
    n: i,
    agent: `agent-${i % 17}`,
    session: `s-01JD7X3K9Q${(i % 1000).toString().padStart(4, '0')}`,
    data: { tool: 'fs.read', path: `src/kernel/bus/${i % 97}.ts`, bytes: (i * 7919) % 65536, ok: i % 13 !== 0 },
    corr: `c-${((i * 2654435761) % 4294967296).toString(16)}`,
  };
}

/** A `bus.message.published` event carrying {@link payload}(i) on a per-agent subject. */
export function busEvent(i: number): NewEvent {
  return {
    type: 'bus.message.published',
    v: 1,
    source: BENCH_SOURCE,
    subject: `agent.${i % 17}.tool`,
    data: { kind: 'custom', payload: payload(i) },
  };
}

/**
 * The replay mix: 80% `kv.value.set` over 10,000 keys in 10 namespaces, 5% `kv.value.deleted`,
 * 5% `route.assigned` over 50 roles, and 10% bus messages (which no projection reads).
 */
export function mixedEvent(i: number): NewEvent {
  const r = i % 20;
  if (r < 16) {
    return {
      type: 'kv.value.set',
      v: 1,
      source: BENCH_SOURCE,
      data: { namespace: `ns${i % 10}`, key: `key-${i % 10_000}`, value: { n: i, note: `value number ${i}`, ok: i % 3 === 0 } },
    };
  }
  if (r === 16) {
    return { type: 'kv.value.deleted', v: 1, source: BENCH_SOURCE, data: { namespace: `ns${i % 10}`, key: `key-${(i * 7) % 10_000}` } };
  }
  if (r === 17) {
    return { type: 'route.assigned', v: 1, source: BENCH_SOURCE, data: { role: `role${i % 50}`, capsuleId: `capsule-${i % 7}` } };
  }
  return busEvent(i);
}
