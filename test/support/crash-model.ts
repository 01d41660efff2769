import assert from 'node:assert/strict';
import type { HashedEvent } from '../../kernel/events/index.ts';
import type { EventLog } from '../../kernel/log/index.ts';
import type { JsonValue } from '../../kernel/projection/index.ts';
import { CRASH_NAMESPACE, type Ack } from './publisher-acks.ts';

const GENESIS = '0'.repeat(64);

/** What one check of the log found. */
export interface CrashCheck {
  /** Events appended since the previous check. */
  readonly newEvents: number;
  /** Of those, how many the child had acknowledged before it died. */
  readonly acked: number;
}

/**
 * An independent model of what the publisher children wrote to one home, kept across kills.
 * Each check reads only the events appended since the previous one, asserts they are the
 * children's own writes (each exactly once, none from another run), folds them into a
 * reference KV store and routing table, and asserts the earlier prefix never changed.
 */
export class CrashModel {
  #head = 0;
  #headHash = GENESIS;
  readonly #tags = new Set<string>();
  readonly #kv = new Map<string, { value: JsonValue; seq: number }>();
  readonly #routes = new Map<string, { capsuleId: string; seq: number }>();

  /** The head seen by the last check. */
  get head(): number {
    return this.#head;
  }

  /**
   * Checks the log after the child of `run` was killed, given the writes it acknowledged.
   * @throws AssertionError naming the first discrepancy
   */
  check(log: EventLog, run: string, acks: readonly Ack[]): CrashCheck {
    const head = log.head();
    assert.ok(head.seq >= this.#head, `the log shrank from seq ${this.#head} to ${head.seq}`);
    if (this.#head > 0) assert.equal(log.get(this.#head)?.hash, this.#headHash, `event ${this.#head} changed after an earlier check`);

    const report = log.verify();
    assert.equal(report.ok, true, `verify failed: ${JSON.stringify(report.firstBad)}`);
    assert.equal(report.checked, head.seq, 'seqs are not gapless from 1 to the head');

    const acked = new Set<number>();
    for (const ack of acks) {
      assert.ok(!acked.has(ack.seq), `seq ${ack.seq} was acknowledged twice`);
      acked.add(ack.seq);
      assert.ok(ack.seq > this.#head, `run ${run} acknowledged seq ${ack.seq}, which an earlier run already held`);
      const event = log.get(ack.seq);
      assert.ok(event !== null, `acknowledged seq ${ack.seq} (${ack.op}) is missing; head is ${head.seq}`);
      assertMatches(event, ack);
    }

    let newEvents = 0;
    for (const event of log.read({ from: this.#head + 1 })) {
      newEvents++;
      this.#absorb(event, run);
    }
    assert.equal(newEvents, head.seq - this.#head);
    this.#head = head.seq;
    this.#headHash = head.hash;
    return { newEvents, acked: acked.size };
  }

  /** Asserts the stored kv and routes projections equal the reference model. */
  assertProjections(log: EventLog): void {
    const kv = [...log.projection('kv').entries('')];
    assert.deepEqual(kv, sorted(this.#kv), 'the kv projection differs from the reference fold of the log');
    const routes = [...log.projection('routes').entries('')];
    assert.deepEqual(routes, sorted(this.#routes), 'the routes projection differs from the reference fold of the log');
  }

  #unique(tag: string, seq: number): void {
    assert.ok(!this.#tags.has(tag), `write "${tag}" is stored twice (again at seq ${seq})`);
    this.#tags.add(tag);
  }

  #absorb(event: HashedEvent, run: string): void {
    const data = event.data as Record<string, unknown>;
    switch (event.type) {
      case 'home.initialized':
        assert.equal(event.seq, 1, 'home.initialized is not the first event');
        return;
      case 'bus.message.published': {
        const payload = data['payload'] as { run: string; n: number };
        assert.equal(payload.run, run, `seq ${event.seq} was written by run ${payload.run} but appeared after run ${run}`);
        assert.ok(event.subject?.startsWith(`crash.${run}.`), `seq ${event.seq} has subject ${event.subject}`);
        this.#unique(`pub:${payload.run}:${payload.n}`, event.seq);
        return;
      }
      case 'kv.value.set': {
        const value = data['value'] as { run: string; n: number };
        assert.equal(data['namespace'], CRASH_NAMESPACE);
        assert.equal(value.run, run, `seq ${event.seq} was written by run ${value.run} but appeared after run ${run}`);
        this.#unique(`set:${value.run}:${value.n}`, event.seq);
        this.#kv.set(`${CRASH_NAMESPACE}/${String(data['key'])}`, { value: value as unknown as JsonValue, seq: event.seq });
        return;
      }
      case 'kv.value.deleted':
        this.#kv.delete(`${CRASH_NAMESPACE}/${String(data['key'])}`);
        return;
      case 'route.assigned': {
        const capsuleId = String(data['capsuleId']);
        assert.ok(capsuleId.startsWith(`c-${run}-`), `seq ${event.seq} names capsule ${capsuleId} but appeared after run ${run}`);
        this.#unique(`route:${capsuleId}`, event.seq);
        this.#routes.set(String(data['role']), { capsuleId, seq: event.seq });
        return;
      }
      default:
        assert.fail(`seq ${event.seq} has type ${event.type}, which no child writes`);
    }
  }
}

function assertMatches(event: HashedEvent, ack: Ack): void {
  const where = `acknowledged seq ${ack.seq}`;
  switch (ack.op) {
    case 'pub':
      assert.equal(event.type, 'bus.message.published', where);
      assert.equal(event.subject, ack.subject, where);
      assert.deepEqual(event.data, { kind: 'custom', payload: ack.payload }, where);
      return;
    case 'set':
      assert.equal(event.type, 'kv.value.set', where);
      assert.deepEqual(event.data, { namespace: CRASH_NAMESPACE, key: ack.key, value: ack.value }, where);
      return;
    case 'del':
      assert.equal(event.type, 'kv.value.deleted', where);
      assert.deepEqual(event.data, { namespace: CRASH_NAMESPACE, key: ack.key }, where);
      return;
    case 'route':
      assert.equal(event.type, 'route.assigned', where);
      assert.deepEqual(event.data, { role: ack.role, capsuleId: ack.capsuleId }, where);
      return;
  }
}

function sorted<T>(map: ReadonlyMap<string, T>): Array<readonly [string, T]> {
  return [...map.entries()].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}
