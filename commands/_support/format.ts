import type { HashedEvent } from '../../kernel/events/index.ts';

/** One human-readable line for an event: seq, time, type, subject, source and a data excerpt. */
export function eventLine(event: HashedEvent): string {
  const time = new Date(event.ts).toISOString();
  const data = JSON.stringify(event.data);
  const excerpt = data.length > 120 ? `${data.slice(0, 117)}...` : data;
  return [String(event.seq).padStart(6), time, event.type, event.subject ?? '-', event.source, excerpt].join('  ');
}
