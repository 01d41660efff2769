import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { open } from 'lmdb';
import { tempDir } from '../../test/support/temp-dir.ts';
import { ErrorCode, isKernelError } from '../errors/index.ts';
import type { KvValueSet, NewEvent } from '../events/index.ts';
import type { ProjectionDefinition } from '../projection/index.ts';
import { foldInMemory } from '../projection/index.ts';
import { openEventLog } from './event-log.ts';
import { sha256Hex } from './record.ts';

const kvSet = (key: string, value: unknown): NewEvent => ({
  type: 'kv.value.set', v: 1, source: 'user:test', data: { namespace: 'ns', key, value },
});

const lastWriter: ProjectionDefinition = {
  name: 'last',
  version: 1,
  types: ['kv.value.set'],
  apply(state, event) {
    const { key, value } = event.data as KvValueSet;
    if (value === 'boom') throw new Error('reducer refuses boom');
    state.put(key, { value: value as string, seq: event.seq });
  },
};

test('EventLog.append() assigns gapless seqs, chains hashes and survives a reopen', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'log.mdb');
  {
    await using log = await openEventLog({ path, create: { origin: 'host1' } });
    const first = await log.append([kvSet('a', 1), kvSet('b', 2)]);
    const second = await log.append([kvSet('c', 3)]);

    assert.deepEqual([...first, ...second].map((e) => e.seq), [1, 2, 3]);
    assert.equal(second[0]?.prev, first[1]?.hash);
    assert.equal(first[0]?.id, 'host1:1');
  }
  await using log = await openEventLog({ path });

  assert.deepEqual([...log.read()].map((e) => (e.data as KvValueSet).key), ['a', 'b', 'c']);
  assert.deepEqual(log.verify(), { ok: true, checked: 3, head: 3, firstBad: null });
});

test('EventLog.append() rejects an invalid event with EVENT_INVALID and writes nothing', async () => {
  await using dir = await tempDir();
  await using log = await openEventLog({ path: join(dir.path, 'log.mdb'), create: { origin: 'host1' } });

  await assert.rejects(log.append([kvSet('ok', 1), { ...kvSet('x', 1), data: { namespace: 'Bad NS', key: 'x', value: 1 } }]), (e) =>
    isKernelError(e, ErrorCode.EventInvalid),
  );
  await assert.rejects(log.append([{ type: 'no.such.type', v: 1, source: 'user:test', data: {} }]), (e) =>
    isKernelError(e, ErrorCode.EventInvalid),
  );

  assert.equal(log.head().seq, 0);
});

test('EventLog.append() rejects only the unit whose reducer throws and commits the rest of the batch', async () => {
  await using dir = await tempDir();
  await using log = await openEventLog({ path: join(dir.path, 'log.mdb'), create: { origin: 'host1' }, projections: [lastWriter] });

  const results = await Promise.allSettled([log.append([kvSet('a', 'x')]), log.append([kvSet('b', 'y'), kvSet('c', 'boom')]), log.append([kvSet('d', 'z')])]);

  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.ok(results[1]?.status === 'rejected' && isKernelError(results[1].reason, ErrorCode.ProjectionFailed));
  assert.deepEqual([...log.read()].map((e) => [e.seq, (e.data as KvValueSet).key]), [[1, 'a'], [2, 'd']]);
  assert.deepEqual(log.dumpProjection('last').map(([k]) => k), ['a', 'd']);
  assert.equal(log.projectionStatus('last').checkpoint, 2);
});

test('EventLog.rebuild() reproduces the live projection byte for byte and can pin a seq', async () => {
  await using dir = await tempDir();
  await using log = await openEventLog({ path: join(dir.path, 'log.mdb'), create: { origin: 'host1' }, projections: [lastWriter] });
  for (let i = 0; i < 50; i++) await log.append([kvSet(`k${i % 7}`, `v${i}`)]);
  const live = log.dumpProjection('last');

  await log.rebuild();
  const rebuilt = log.dumpProjection('last');
  await log.rebuild({ until: 10 });
  const pinned = log.dumpProjection('last');
  await log.append([kvSet('k0', 'after-pin')]);

  assert.deepEqual(rebuilt, live);
  assert.deepEqual(pinned, foldInMemory(lastWriter, log.read({ to: 10 })).dump());
  assert.deepEqual(log.projectionStatus('last'), { name: 'last', version: 1, checkpoint: 10, pinnedAt: 10 });
  assert.deepEqual(log.dumpProjection('last'), pinned);
});

test('EventLog.open() rebuilds a projection whose version was bumped', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'log.mdb');
  {
    await using log = await openEventLog({ path, create: { origin: 'host1' }, projections: [lastWriter] });
    await log.append([kvSet('a', 'x'), kvSet('b', 'y')]);
  }
  const v2: ProjectionDefinition = { ...lastWriter, version: 2, apply: (s, e) => s.put((e.data as KvValueSet).key.toUpperCase(), e.seq) };

  await using log = await openEventLog({ path, projections: [v2] });

  assert.deepEqual(log.dumpProjection('last'), [['A', '1'], ['B', '2']]);
});

test('EventLog.follow() yields the backlog then live events in order', async () => {
  await using dir = await tempDir();
  await using log = await openEventLog({ path: join(dir.path, 'log.mdb'), create: { origin: 'host1' } });
  await log.append([kvSet('a', 1), kvSet('b', 2)]);
  const controller = new AbortController();
  const seen: number[] = [];

  const following = (async () => {
    for await (const event of log.follow({ from: 2, signal: controller.signal, pageSize: 1 })) {
      seen.push(event.seq);
      if (seen.length === 3) controller.abort();
    }
  })();
  await log.append([kvSet('c', 3)]);
  await log.append([kvSet('d', 4)]);
  await following;

  assert.deepEqual(seen, [2, 3, 4]);
});

test('EventLog.follow() gives the same events from memory as from disk, past the recent window and for large events', async () => {
  await using dir = await tempDir();
  await using log = await openEventLog({ path: join(dir.path, 'log.mdb'), create: { origin: 'host1' } });
  const controller = new AbortController();
  const live: unknown[] = [];
  const total = 2600; // more than the 2048 events kept in memory
  const following = (async () => {
    for await (const event of log.follow({ from: 1, signal: controller.signal })) {
      live.push(event);
      if (live.length === total) controller.abort();
    }
  })();
  const big = 'y'.repeat(20_000); // larger than what is kept in memory: read back from disk
  for (let i = 0; i < total; i += 100) {
    await log.append(Array.from({ length: 100 }, (_, j) => kvSet(`k${i + j}`, (i + j) % 7 === 0 ? big : i + j)));
  }
  await following;
  assert.equal(live.length, total);
  // Through JSON: what a follower sees must be exactly what is stored, whichever path served it.
  assert.deepEqual(JSON.parse(JSON.stringify(live)), JSON.parse(JSON.stringify([...log.read()])));
  // A late follower starting far behind reads from disk, then catches up with the same events.
  const late = [];
  for await (const event of log.follow({ from: 1, signal: AbortSignal.timeout(5_000) })) {
    late.push(event.seq);
    if (late.length === total) break;
  }
  assert.deepEqual(late, Array.from({ length: total }, (_, i) => i + 1));
});

test('EventLog stores blobs content-addressed in the same transaction', async () => {
  await using dir = await tempDir();
  await using log = await openEventLog({ path: join(dir.path, 'log.mdb'), create: { origin: 'host1' } });
  const bytes = new TextEncoder().encode('large payload');

  await log.append([{ ...kvSet('file', 'sha'), blobs: [bytes] }]);

  assert.equal(log.getBlob('0'.repeat(64)), null);
  const stored = log.getBlob(sha256Hex(bytes));
  assert.deepEqual(stored === null ? null : Buffer.from(stored).toString(), 'large payload');
});

test('openEventLog() refuses a log written in a newer format with LOG_FORMAT_UNSUPPORTED', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'log.mdb');
  {
    await using log = await openEventLog({ path, create: { origin: 'host1' } });
    await log.append([kvSet('a', 1)]);
  }
  const raw = open({ path, maxDbs: 64 });
  await raw.openDB('meta', { encoding: 'json' }).put('format', { version: 99, origin: 'host1' });
  await raw.close();

  await assert.rejects(openEventLog({ path }), (e) => isKernelError(e, ErrorCode.LogFormatUnsupported));
});

test('EventLog.rebuild() refuses a log holding a newer version of a known event with EVENT_VERSION_UNSUPPORTED', async () => {
  await using dir = await tempDir();
  const path = join(dir.path, 'log.mdb');
  {
    await using log = await openEventLog({ path, create: { origin: 'host1' }, projections: [lastWriter] });
    await log.append([kvSet('a', 'x')]);
  }
  // Rewrite event 1 as a newer Astrid would have written it (v2), keeping its chain valid.
  const raw = open({ path, maxDbs: 64 });
  const events = raw.openDB<string, number>('events', { encoding: 'string' });
  const body = (events.get(1) ?? '').slice(64).replace('"v":1', '"v":2');
  await events.put(1, sha256Hex(body) + body);
  await raw.close();

  await assert.rejects(openEventLog({ path, projections: [{ ...lastWriter, version: 2 }] }), (e) => isKernelError(e, ErrorCode.EventVersionUnsupported));
});
