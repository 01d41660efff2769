import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { tempDir } from '../../test/support/temp-dir.ts';
import { ErrorCode, isKernelError } from '../errors/index.ts';
import type { KvValueSet, NewEvent } from '../events/index.ts';
import { foldInMemory, type ProjectionDefinition } from '../projection/index.ts';
import { openEventLog } from './event-log.ts';
import { decodeRecord, encodeBody, encodeRecord, peekType } from './record.ts';

const kvSet = (key: string, value: unknown): NewEvent => ({
  type: 'kv.value.set', v: 1, source: 'user:test', data: { namespace: 'ns', key, value },
});
const routeSet = (role: string): NewEvent => ({ type: 'route.assigned', v: 1, source: 'user:test', data: { role, capsuleId: 'cap' } });

const keyed = (name: string, version = 1): ProjectionDefinition => ({
  name,
  version,
  types: ['kv.value.set'],
  apply(state, event) {
    const { key, value } = event.data as KvValueSet;
    state.put(`${name}:${key}`, { value: value as string, seq: event.seq });
  },
});
const roles: ProjectionDefinition = {
  name: 'roles',
  version: 1,
  types: ['route.assigned'],
  apply: (state, event) => state.put(String((event.data as { role: string }).role), event.seq),
};
const failsAt7: ProjectionDefinition = {
  name: 'fails',
  version: 1,
  types: ['kv.value.set'],
  apply(state, event) {
    if (event.seq === 7) throw new Error('reducer refuses seq 7');
    state.put('last', event.seq);
  },
};

test('peekType() reads the type of any canonical record without parsing it', () => {
  const text = fc.string({ unit: 'grapheme', maxLength: 40 });
  fc.assert(
    fc.property(
      fc.stringMatching(/^[a-z][a-z0-9_]{0,8}(\.[a-z][a-z0-9_]{0,8}){1,3}$/),
      fc.option(text, { nil: undefined }),
      fc.jsonValue(),
      text,
      (type, subject, data, trap) => {
        const body = encodeBody({
          seq: 3, id: 'host1:3', origin: 'host1', ts: 1, type, v: 1, source: `user:${trap.length}`, subject,
          dataJson: JSON.stringify({ trap: `,"type":"${trap}`, data }), prev: '0'.repeat(64),
        });
        const record = encodeRecord('f'.repeat(64), body);

        assert.equal(peekType(record), type);
        assert.equal(decodeRecord(record).type, type);
      },
    ),
  );
});

test('peekType() returns null for text that is not a canonical record', () => {
  assert.equal(peekType(`${'0'.repeat(64)}{"seq":1}`), null);
  assert.equal(peekType(`${'0'.repeat(64)}{"seq":1,"type":"a.b`), null);
});

test('EventLog.open() catches up projections standing at different seqs to the same state as a fold', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'log.mdb');
  {
    await using log = await openEventLog({ path, create: { origin: 'host1' }, projections: [keyed('a'), roles] });
    for (let i = 0; i < 20; i++) await log.append([kvSet(`k${i % 5}`, `v${i}`), routeSet(`r${i % 3}`)]);
  }
  {
    // Only "a" is registered: "roles" stays at seq 40 while the log grows.
    await using log = await openEventLog({ path, projections: [keyed('a')] });
    for (let i = 0; i < 10; i++) await log.append([routeSet(`late${i}`), kvSet(`k${i}`, `w${i}`)]);
  }

  // "a" is bumped (back to 0), "b" and "fails" are new (at 0), "roles" is at 40: two groups.
  await using log = await openEventLog({ path, projections: [keyed('a', 2), keyed('b'), roles, failsAt7] });

  const events = [...log.read()];
  for (const def of [keyed('a', 2), keyed('b'), roles]) {
    assert.deepEqual(log.dumpProjection(def.name), foldInMemory(def, events).dump(), def.name);
    assert.equal(log.projectionStatus(def.name).checkpoint, 60, def.name);
  }
  assert.ok(isKernelError(log.projectionFailure('fails'), ErrorCode.ProjectionFailed));
  assert.equal(log.projectionStatus('fails').checkpoint, 0);
});
