import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, isKernelError, type ErrorCode as Code } from '../errors/index.ts';
import { DEFAULT_QUOTA_POLICY, QuotaTracker, parseQuotaPolicy } from './quotas.ts';

const MiB = 1024 * 1024;

function refused(fn: () => unknown, code: Code, details: Record<string, unknown>): void {
  assert.throws(fn, (error) => {
    assert.ok(isKernelError(error, code), `expected ${code}`);
    for (const [key, value] of Object.entries(details)) assert.equal(error.details?.[key], value, key);
    return true;
  });
}

describe('QuotaPolicy', () => {
  test('`DEFAULT_QUOTA_POLICY` holds the documented defaults', () => {
    assert.deepEqual(DEFAULT_QUOTA_POLICY, {
      maxPayloadBytes: MiB,
      messagesPerSecond: 20_000,
      messagesBurst: 20_000,
      bytesPerSecond: 64 * MiB,
      bytesBurst: 64 * MiB,
      maxSubscriptions: 256,
    });
    assert.ok(Object.isFrozen(DEFAULT_QUOTA_POLICY));
  });

  test('`parseQuotaPolicy()` fills in defaults for missing fields', () => {
    assert.deepEqual(parseQuotaPolicy({ maxSubscriptions: 4 }), { ...DEFAULT_QUOTA_POLICY, maxSubscriptions: 4 });
  });

  test('`parseQuotaPolicy()` throws INVALID_ARGUMENT naming the field when a value is out of range', () => {
    refused(() => parseQuotaPolicy({ messagesPerSecond: 0 }), ErrorCode.InvalidArgument, { path: 'messagesPerSecond' });
    refused(() => parseQuotaPolicy({ messagesBurst: 1.5 }), ErrorCode.InvalidArgument, { path: 'messagesBurst' });
    refused(() => parseQuotaPolicy({ maxSubscriptions: -1 }), ErrorCode.InvalidArgument, { path: 'maxSubscriptions' });
    refused(() => parseQuotaPolicy('fast'), ErrorCode.InvalidArgument, { path: '' });
  });

  test('`parseQuotaPolicy()` throws INVALID_ARGUMENT when the byte burst is below the payload limit', () => {
    refused(() => parseQuotaPolicy({ maxPayloadBytes: 100, bytesBurst: 99 }), ErrorCode.InvalidArgument, { path: 'bytesBurst' });
  });
});

describe('QuotaTracker.checkPublish()', () => {
  test('`checkPublish()` throws PAYLOAD_TOO_LARGE above the payload limit and charges nothing', () => {
    const quotas = new QuotaTracker({ policy: { maxPayloadBytes: 1000 } });

    quotas.checkPublish('cap', 1000, 0);
    refused(() => quotas.checkPublish('cap', 1001, 0), ErrorCode.PayloadTooLarge, {
      source: 'cap',
      limit: 1000,
      bytes: 1001,
      retryAfterMs: null,
    });

    assert.equal(quotas.remaining('cap', 0).messages, DEFAULT_QUOTA_POLICY.messagesBurst - 1);
  });

  test('`checkPublish()` throws QUOTA_RATE_EXCEEDED once the burst is spent, with the time to wait', () => {
    const quotas = new QuotaTracker({ policy: { messagesPerSecond: 10, messagesBurst: 3 } });
    for (let i = 0; i < 3; i++) quotas.checkPublish('cap', 1, 0);

    refused(() => quotas.checkPublish('cap', 1, 0), ErrorCode.QuotaRateExceeded, { source: 'cap', limit: 10, retryAfterMs: 100 });
    refused(() => quotas.checkPublish('cap', 1, 40), ErrorCode.QuotaRateExceeded, { retryAfterMs: 60 });
  });

  test('`checkPublish()` accepts again once the bucket has refilled', () => {
    const quotas = new QuotaTracker({ policy: { messagesPerSecond: 10, messagesBurst: 3 } });
    for (let i = 0; i < 3; i++) quotas.checkPublish('cap', 1, 0);

    quotas.checkPublish('cap', 1, 100);

    refused(() => quotas.checkPublish('cap', 1, 100), ErrorCode.QuotaRateExceeded, { retryAfterMs: 100 });
  });

  test('`checkPublish()` refills no further than the burst', () => {
    const quotas = new QuotaTracker({ policy: { messagesPerSecond: 10, messagesBurst: 3 } });
    quotas.checkPublish('cap', 1, 0);

    assert.equal(quotas.remaining('cap', 3_600_000).messages, 3);
    for (let i = 0; i < 3; i++) quotas.checkPublish('cap', 1, 3_600_000);
    refused(() => quotas.checkPublish('cap', 1, 3_600_000), ErrorCode.QuotaRateExceeded, {});
  });

  test('`checkPublish()` throws QUOTA_BYTES_EXCEEDED once the byte burst is spent, with the time to wait', () => {
    const quotas = new QuotaTracker({ policy: { maxPayloadBytes: 600, bytesPerSecond: 1000, bytesBurst: 1000 } });
    quotas.checkPublish('cap', 600, 0);

    refused(() => quotas.checkPublish('cap', 500, 0), ErrorCode.QuotaBytesExceeded, {
      source: 'cap',
      limit: 1000,
      burst: 1000,
      retryAfterMs: 100,
    });
    quotas.checkPublish('cap', 400, 0);
    quotas.checkPublish('cap', 500, 500);
  });

  test('`checkPublish()` does not consume tokens when it refuses', () => {
    const quotas = new QuotaTracker({ policy: { maxPayloadBytes: 600, messagesBurst: 5, bytesBurst: 1000 } });
    quotas.checkPublish('cap', 600, 0);
    const before = quotas.remaining('cap', 0);

    refused(() => quotas.checkPublish('cap', 600, 0), ErrorCode.QuotaBytesExceeded, {});
    refused(() => quotas.checkPublish('cap', 601, 0), ErrorCode.PayloadTooLarge, {});

    assert.deepEqual(quotas.remaining('cap', 0), before);
  });

  test('`checkPublish()` keeps each source in its own buckets', () => {
    const quotas = new QuotaTracker({ policy: { messagesBurst: 1 } });
    quotas.checkPublish('a', 1, 0);

    quotas.checkPublish('b', 1, 0);

    refused(() => quotas.checkPublish('a', 1, 0), ErrorCode.QuotaRateExceeded, { source: 'a' });
  });

  test('`checkPublish()` refills nothing when the clock goes backwards', () => {
    const quotas = new QuotaTracker({ policy: { messagesPerSecond: 10, messagesBurst: 1 } });
    quotas.checkPublish('cap', 1, 1000);

    refused(() => quotas.checkPublish('cap', 1, 500), ErrorCode.QuotaRateExceeded, {});
    refused(() => quotas.checkPublish('cap', 1, 1050), ErrorCode.QuotaRateExceeded, { retryAfterMs: 50 });
    quotas.checkPublish('cap', 1, 1100);
  });

  test('`checkPublish()` takes the time from the clock option when none is given', () => {
    let now = 0;
    const quotas = new QuotaTracker({ policy: { messagesPerSecond: 1, messagesBurst: 1 }, clock: () => now });
    quotas.checkPublish('cap', 1);

    refused(() => quotas.checkPublish('cap', 1), ErrorCode.QuotaRateExceeded, { retryAfterMs: 1000 });
    now = 1000;
    quotas.checkPublish('cap', 1);
  });

  test('`checkPublish()` throws INVALID_ARGUMENT for a negative or NaN size', () => {
    const quotas = new QuotaTracker();

    refused(() => quotas.checkPublish('cap', -1, 0), ErrorCode.InvalidArgument, {});
    refused(() => quotas.checkPublish('cap', Number.NaN, 0), ErrorCode.InvalidArgument, {});
  });

  test('`checkPublish()` never lets more through than burst plus rate times elapsed time (property)', () => {
    const step = fc.record({ dt: fc.nat({ max: 300 }), bytes: fc.nat({ max: 120 }) });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const policy = { maxPayloadBytes: 100, messagesPerSecond: 20, messagesBurst: 5, bytesPerSecond: 400, bytesBurst: 200 };
        const quotas = new QuotaTracker({ policy });
        let now = 0;
        let messages = 0;
        let bytes = 0;
        for (const { dt, bytes: size } of steps) {
          now += dt;
          try {
            quotas.checkPublish('cap', size, now);
            messages++;
            bytes += size;
          } catch (error) {
            assert.ok(isKernelError(error));
          }
          assert.ok(messages <= policy.messagesBurst + (now * policy.messagesPerSecond) / 1000 + 1e-9);
          assert.ok(bytes <= policy.bytesBurst + (now * policy.bytesPerSecond) / 1000 + 1e-9);
        }
      }),
    );
  });
});

describe('QuotaTracker.checkPublishBatch()', () => {
  test('`checkPublishBatch()` charges all or nothing', () => {
    const quotas = new QuotaTracker({ policy: { messagesBurst: 3 } });
    quotas.checkPublishBatch('cap', [1, 1], 0);

    refused(() => quotas.checkPublishBatch('cap', [1, 1], 0), ErrorCode.QuotaRateExceeded, { retryAfterMs: 1 });

    quotas.checkPublish('cap', 1, 0);
  });

  test('`checkPublishBatch()` refuses a batch larger than a burst with no retry time', () => {
    const quotas = new QuotaTracker({ policy: { messagesBurst: 3, maxPayloadBytes: 10, bytesBurst: 10 } });

    refused(() => quotas.checkPublishBatch('cap', [1, 1, 1, 1], 0), ErrorCode.QuotaRateExceeded, { retryAfterMs: null });
    refused(() => quotas.checkPublishBatch('cap', [6, 5], 0), ErrorCode.QuotaBytesExceeded, { retryAfterMs: null });
    assert.deepEqual(quotas.remaining('cap', 0), { messages: 3, bytes: 10, subscriptions: 256 });
  });

  test('`checkPublishBatch()` accepts an empty batch without tracking the source', () => {
    const quotas = new QuotaTracker();

    quotas.checkPublishBatch('cap', [], 0);

    assert.equal(quotas.trackedSources, 0);
  });
});

describe('QuotaTracker.acquireSubscription()', () => {
  test('`acquireSubscription()` throws QUOTA_SUBSCRIPTIONS_EXCEEDED at the limit', () => {
    const quotas = new QuotaTracker({ policy: { maxSubscriptions: 2 } });
    quotas.acquireSubscription('cap');
    quotas.acquireSubscription('cap');

    refused(() => quotas.acquireSubscription('cap'), ErrorCode.QuotaSubscriptionsExceeded, {
      source: 'cap',
      limit: 2,
      retryAfterMs: null,
    });
    quotas.acquireSubscription('other');
  });

  test('`acquireSubscription()` frees a slot on release, and a second release frees nothing', () => {
    const quotas = new QuotaTracker({ policy: { maxSubscriptions: 2 } });
    const release = quotas.acquireSubscription('cap');
    quotas.acquireSubscription('cap');

    release();
    release();

    quotas.acquireSubscription('cap');
    refused(() => quotas.acquireSubscription('cap'), ErrorCode.QuotaSubscriptionsExceeded, {});
  });

  test('`acquireSubscription()` refuses every subscription when the limit is zero', () => {
    const quotas = new QuotaTracker({ policy: { maxSubscriptions: 0 } });

    refused(() => quotas.acquireSubscription('cap'), ErrorCode.QuotaSubscriptionsExceeded, { limit: 0 });
  });
});

describe('QuotaTracker policies and memory', () => {
  test('`setPolicy()` gives one source its own limits and `null` restores the default', () => {
    const quotas = new QuotaTracker({ policy: { messagesBurst: 1 } });
    quotas.setPolicy('big', { messagesBurst: 3 });

    for (let i = 0; i < 3; i++) quotas.checkPublish('big', 1, 0);
    quotas.checkPublish('small', 1, 0);
    refused(() => quotas.checkPublish('small', 1, 0), ErrorCode.QuotaRateExceeded, {});

    quotas.setPolicy('big', null);
    assert.equal(quotas.policyOf('big').messagesBurst, 1);
  });

  test('`setPolicy()` clamps current buckets to a lower burst', () => {
    const quotas = new QuotaTracker({ policy: { messagesBurst: 100 } });
    quotas.checkPublish('cap', 1, 0);

    quotas.setPolicy('cap', { messagesBurst: 2 });

    assert.equal(quotas.remaining('cap', 0).messages, 2);
  });

  test('`setPolicy()` throws INVALID_ARGUMENT for an invalid policy', () => {
    const quotas = new QuotaTracker();

    refused(() => quotas.setPolicy('cap', { bytesPerSecond: -5 }), ErrorCode.InvalidArgument, { path: 'bytesPerSecond' });
  });

  test('`QuotaTracker` sweeps idle full buckets so many sources stay bounded', () => {
    const quotas = new QuotaTracker({ policy: { messagesPerSecond: 1000, messagesBurst: 10 }, sweepAbove: 100 });

    for (let i = 0; i < 10_000; i++) quotas.checkPublish(`cap-${i}`, 10, i);

    assert.ok(quotas.trackedSources <= 200, `tracked ${quotas.trackedSources}`);
  });

  test('`QuotaTracker` keeps the state of busy sources and of sources holding subscriptions', () => {
    const quotas = new QuotaTracker({ policy: { messagesPerSecond: 1000, messagesBurst: 1 }, sweepAbove: 10, clock: () => 0 });
    quotas.setPolicy('busy', { messagesPerSecond: 0.001, messagesBurst: 1 });
    quotas.checkPublish('busy', 1, 0);
    const release = quotas.acquireSubscription('listener');

    for (let i = 0; i < 1000; i++) quotas.checkPublish(`cap-${i}`, 0, i);

    assert.ok(quotas.trackedSources < 100, `tracked ${quotas.trackedSources}`);
    refused(() => quotas.checkPublish('busy', 1, 1000), ErrorCode.QuotaRateExceeded, {});
    assert.equal(quotas.remaining('listener').subscriptions, 255);
    release();
    assert.equal(quotas.remaining('listener').subscriptions, 256);
  });

  test('`QuotaTracker` decides the same with and without sweeping (property)', () => {
    const op = fc.record({ source: fc.constantFrom('a', 'b', 'c', 'd', 'e'), dt: fc.nat({ max: 400 }), bytes: fc.nat({ max: 50 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 150 }), (ops) => {
        const policy = { maxPayloadBytes: 50, messagesPerSecond: 5, messagesBurst: 2, bytesPerSecond: 100, bytesBurst: 60 };
        const swept = new QuotaTracker({ policy, sweepAbove: 1 });
        const kept = new QuotaTracker({ policy, sweepAbove: 1_000_000 });
        let now = 0;
        for (const { source, dt, bytes } of ops) {
          now += dt;
          const outcome = (q: QuotaTracker) => {
            try {
              q.checkPublish(source, bytes, now);
              return 'ok';
            } catch (error) {
              return isKernelError(error) ? `${error.code}:${String(error.details?.['retryAfterMs'])}` : 'other';
            }
          };
          assert.equal(outcome(swept), outcome(kept));
        }
      }),
    );
  });
});
