import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { open } from 'lmdb';
import { tempDir } from '../../test/support/temp-dir.ts';
import { openEventLog } from '../log/index.ts';
import { Bus } from './bus.ts';

test('Bus.publish() stores each message as exactly the JSON of its event data, and subscribers get it back', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'log.mdb');
  const payloads: unknown[] = [
    { type: 'agent_response', text: 'zoë ✓', is_final: true },
    { n: 1, nested: { list: [1, 'two', null, { deep: '\u{1F600}' }] } },
    'just a string',
    42,
    [true, false],
  ];
  const delivered: unknown[] = [];
  {
    await using log = await openEventLog({ path, create: { origin: 'host1' } });
    const bus = new Bus(log);
    const controller = new AbortController();
    const following = (async () => {
      for await (const m of bus.subscribe('agent.>', { from: 1, signal: controller.signal })) {
        delivered.push({ kind: m.kind, payload: m.payload });
        if (delivered.length === payloads.length) controller.abort();
      }
    })();
    await bus.publish(payloads.map((payload, i) => ({ subject: `agent.${i}.out`, payload })), { source: 'user:test' });
    await following;
  }
  // Read the stored records with the log closed: the body's data must be what JSON.stringify gives.
  const root = open({ path, maxDbs: 64, compression: false });
  try {
    const events = root.openDB<string, number>('events', { encoding: 'string' });
    const stored = [...events.getRange({ start: 1 })].map(({ value }) => value.slice(64));
    assert.equal(stored.length, payloads.length);
    for (const [i, body] of stored.entries()) {
      const parsed = JSON.parse(body) as { data: { kind: string; payload: unknown } };
      assert.ok(body.includes(`"data":${JSON.stringify(parsed.data)},"prev"`), `record ${i + 1} holds canonical data JSON`);
      assert.deepEqual(parsed.data, delivered[i]);
    }
  } finally {
    await root.close();
  }
  // A standard payload is stored as its schema parsed it, defaults applied.
  assert.deepEqual(delivered, [{ kind: 'agent_response', payload: { type: 'agent_response', text: 'zoë ✓', is_final: true, session_id: 'default' } }, ...payloads.slice(1).map((payload) => ({ kind: 'custom', payload }))]);
});
