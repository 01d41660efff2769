import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyedSerial } from './keyed-serial.ts';

test('KeyedSerial runs work one at a time per key, in order, past failures, and forgets drained keys', async () => {
  const serial = new KeyedSerial();
  const log: string[] = [];
  const step = (name: string, ms: number, fail = false) => async () => {
    log.push(`${name}:start`);
    await sleep(ms);
    log.push(`${name}:end`);
    if (fail) throw new Error(name);
    return name;
  };
  const a1 = serial.run('a', step('a1', 20, true));
  const a2 = serial.run('a', step('a2', 1));
  const b1 = serial.run('b', step('b1', 1));
  assert.equal(serial.size, 2);
  await assert.rejects(a1, /a1/);
  assert.deepEqual(await Promise.all([a2, b1]), ['a2', 'b1']);
  // b ran beside a; a2 waited for a1 although a1 failed.
  assert.ok(log.indexOf('b1:end') < log.indexOf('a1:end'));
  assert.ok(log.indexOf('a1:end') < log.indexOf('a2:start'));
  await sleep(0);
  assert.equal(serial.size, 0);
});
