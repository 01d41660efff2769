import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { tempDir } from '../test/support/temp-dir.ts';
import { Bus } from '../kernel/bus/bus.ts';
import { ErrorCode, isKernelError } from '../kernel/errors/index.ts';
import type { NewEvent } from '../kernel/events/index.ts';
import { openEventLog, type EventLog } from '../kernel/log/index.ts';
import { foldInMemory, type ProjectionDefinition } from '../kernel/projection/index.ts';
import { LocalKernel } from '../kernel/service/index.ts';
import { allProjections } from './index.ts';

/*
 * Properties of replay over random logs of kv set/delete, route assign/remove and bus
 * messages (which no projection here reads), appended in random units and batches:
 * (a) replaying twice gives the same projection bytes, equal to the live projection;
 * (b) the state as of seq N (projectionPage `at`, foldInMemory) equals that of a separate
 *     log holding only the first N events; (c) rebuild({ until: N }) gives that state too.
 */

const SOURCE = 'user:prop';

const namespaceArb = fc.constantFrom('a', 'ab', 'notes', 'n-1', 'x_y');
const keyArb = fc.oneof(
  fc.constantFrom('k', 'k2', 'greeting', 'a/b', 'é', '😀', 'a b', '.'),
  // Printable, well-formed text: graphemes with no control characters.
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s)),
);
const roleArb = fc.constantFrom('orchestrator', 'llm.anthropic', 'llm.openai', 'uplink.cli', 'tool-router');
const capsuleArb = fc.constantFrom('my-orch', 'anthropic', 'openai-2', 'cli', 'r0');

const eventArb: fc.Arbitrary<NewEvent> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ namespace: namespaceArb, key: keyArb, value: fc.jsonValue({ maxDepth: 2 }) }).map((data): NewEvent => ({ type: 'kv.value.set', v: 1, source: SOURCE, data })) },
  { weight: 2, arbitrary: fc.record({ namespace: namespaceArb, key: keyArb }).map((data): NewEvent => ({ type: 'kv.value.deleted', v: 1, source: SOURCE, data })) },
  { weight: 2, arbitrary: fc.record({ role: roleArb, capsuleId: capsuleArb }).map((data): NewEvent => ({ type: 'route.assigned', v: 1, source: SOURCE, data })) },
  { weight: 1, arbitrary: fc.record({ role: roleArb }).map((data): NewEvent => ({ type: 'route.removed', v: 1, source: SOURCE, data })) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: 99 }).map((n): NewEvent => ({ type: 'bus.message.published', v: 1, source: SOURCE, subject: `prop.m${n}`, data: { kind: 'custom', payload: { n } } })),
  },
);

/** Rounds of units: the units of one round are appended at once (one LMDB transaction), each unit as one `append`. */
const roundsArb = fc.array(fc.array(fc.array(eventArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 8 });

type Dumps = Record<string, Array<readonly [string, string]>>;

function dumps(log: EventLog): Dumps {
  return Object.fromEntries(allProjections.map((p) => [p.name, log.dumpProjection(p.name)]));
}

function folded(log: EventLog, to: number): Dumps {
  const events = [...log.read({ to })];
  return Object.fromEntries(allProjections.map((p: ProjectionDefinition) => [p.name, foldInMemory(p, events).dump()]));
}

/** Appends the rounds and returns the events in the order they were stored. */
async function appendRounds(log: EventLog, rounds: ReadonlyArray<ReadonlyArray<readonly NewEvent[]>>): Promise<NewEvent[]> {
  const order: NewEvent[] = [];
  for (const units of rounds) {
    const first = order.length + 1;
    const stored = (await Promise.all(units.map((unit) => log.append(unit)))).flat();
    order.push(...units.flat());
    assert.deepEqual(stored.map((e) => e.seq), stored.map((_, i) => first + i));
  }
  return order;
}

test('`EventLog.rebuild()` twice reproduces the live projections byte for byte', async () => {
  await fc.assert(
    fc.asyncProperty(roundsArb, async (rounds) => {
      await using dir = await tempDir('astrid-replay-');
      await using log = await openEventLog({ path: join(dir.path, 'log.mdb'), create: { origin: 'host1' }, projections: allProjections });
      await appendRounds(log, rounds);
      const live = dumps(log);

      await log.rebuild();
      const first = dumps(log);
      await log.rebuild();
      const second = dumps(log);

      assert.deepEqual(first, live);
      assert.deepEqual(second, live);
      assert.deepEqual(folded(log, log.head().seq), live);
    }),
    { numRuns: 60 },
  );
});

test('the state as of seq N equals the state of a separate log cut at N, by `projectionPage({ at })`, `foldInMemory` and `rebuild({ until })`', async () => {
  await fc.assert(
    fc.asyncProperty(roundsArb, fc.nat(), fc.integer({ min: 1, max: 8 }), async (rounds, where, chunk) => {
      await using dir = await tempDir('astrid-replay-');
      await using log = await openEventLog({ path: join(dir.path, 'log.mdb'), create: { origin: 'host1' }, projections: allProjections });
      const order = await appendRounds(log, rounds);
      const head = log.head().seq;
      const n = where % (head + 1);
      await using kernel = new LocalKernel(log, new Bus(log), { role: 'command', home: dir.path, projections: allProjections });
      await using cut = await openEventLog({ path: join(dir.path, 'cut.mdb'), create: { origin: 'host1' }, projections: allProjections });
      // The cut log gets the same events in other transactions: `chunk` events per append.
      for (let i = 0; i < n; i += chunk) await cut.append(order.slice(i, Math.min(n, i + chunk)));
      const expected = dumps(cut);

      const pages = await Promise.all(allProjections.map((p) => kernel.projectionPage(p.name, { at: n })));
      const inMemory = folded(log, n);
      await log.rebuild({ until: n });
      const pinned = dumps(log);
      const statuses = allProjections.map((p) => log.projectionStatus(p.name));
      await log.rebuild();

      assert.equal(cut.head().seq, n);
      assert.deepEqual([...cut.read()].map((e) => [e.type, e.data]), [...log.read({ to: n })].map((e) => [e.type, e.data]));
      assert.deepEqual(inMemory, expected);
      for (const [i, p] of allProjections.entries()) {
        const stored = expected[p.name]?.map(([k, text]) => [k, JSON.parse(text) as unknown] as const);
        assert.deepEqual(pages[i]?.entries, stored, `projectionPage("${p.name}", { at: ${n} })`);
        assert.equal(pages[i]?.asOf, n);
      }
      assert.deepEqual(pinned, expected);
      assert.ok(statuses.every((s) => s.checkpoint === n && s.pinnedAt === n), JSON.stringify(statuses));
      assert.deepEqual(dumps(log), folded(log, head));
    }),
    { numRuns: 60 },
  );
});

test('`projectionPage({ at })` lists kv keys in the stored order, or the log refuses keys it cannot order', async () => {
  await using dir = await tempDir('astrid-replay-');
  await using log = await openEventLog({ path: join(dir.path, 'log.mdb'), create: { origin: 'host1' }, projections: allProjections });
  await using kernel = new LocalKernel(log, new Bus(log), { role: 'command', home: dir.path, projections: allProjections });
  // A lone surrogate is not text: LMDB orders its key bytes as WTF-8, Buffer.from() as U+FFFD.
  const keys = ['a\ud800x', 'a\ufffd', 'a\udc00', 'b'];

  const outcomes = await Promise.allSettled(keys.map((key) => log.append([{ type: 'kv.value.set', v: 1, source: SOURCE, data: { namespace: 'ns', key, value: 1 } }])));
  const computed = await kernel.projectionPage('kv', { at: log.head().seq });
  const stored = await kernel.projectionPage('kv', {});

  for (const outcome of outcomes) {
    if (outcome.status === 'rejected') assert.ok(isKernelError(outcome.reason, ErrorCode.EventInvalid), String(outcome.reason));
  }
  assert.deepEqual(computed.entries.map(([k]) => k), stored.entries.map(([k]) => k));
});
