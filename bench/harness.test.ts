import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { median, meetsTarget, percentile, result } from './harness.ts';

test('median() takes the middle value, or the mean of the middle two', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('percentile() is the nearest-rank value and never leaves the range', () => {
  assert.equal(percentile([5, 1, 4, 2, 3], 50), 3);
  assert.equal(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 99), 99);
  assert.equal(percentile([7], 99), 7);
  fc.assert(
    fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1 }), fc.integer({ min: 0, max: 100 }), (xs, p) => {
      const x = percentile(xs, p);

      assert.ok(xs.includes(x));
      assert.ok(xs.filter((y) => y <= x).length >= (p / 100) * xs.length);
    }),
  );
});

test('result() computes the ratio to the baseline, and null without one', () => {
  assert.equal(result('a', 50, 'x/s', 200).ratio, 0.25);
  assert.equal(result('a', 50, 'x/s', null).ratio, null);
  assert.equal(result('a', 123456.789, 'x/s', null).value, 123500);
});

test('meetsTarget() applies the bound to the value or the ratio, and is null without a target', () => {
  const rate = result('a', 60_000, 'msgs/s', 1e6, { target: { of: 'value', op: '>=', bound: 50_000 } });
  const time = result('b', 300, 'ms', 180, { target: { of: 'ratio', op: '<=', bound: 1.5 } });

  assert.equal(meetsTarget(rate), true);
  assert.equal(meetsTarget(time), false);
  assert.equal(meetsTarget(result('c', 1, 'ms', 1)), null);
});
