import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, isKernelError } from '../errors/index.ts';
import { createMemoryHostServices } from './memory-services.ts';

describe('createMemoryHostServices()', () => {
  test('`ipcPoll()` returns matching messages published after the subscription, in order', async () => {
    const s = createMemoryHostServices();
    s.publishAs('user:t', 'a.early', '1');
    const id = await s.ipcSubscribe('cap', 'a.*');

    s.publishAs('user:t', 'a.one', '1');
    s.publishAs('user:t', 'b.two', '2');
    await s.ipcPublish('other', 'a.three', '3');

    assert.deepEqual((await s.ipcPoll('cap', id, 1)).messages.map((m) => m.subject), ['a.one']);
    assert.deepEqual((await s.ipcPoll('cap', id, 10)).messages.map((m) => [m.subject, m.source]), [['a.three', 'capsule:other']]);
    assert.equal((await s.ipcPoll('cap', id, 10)).messages.length, 0);
  });

  test('`ipcPoll()` refuses a subscription of another capsule with NOT_FOUND', async () => {
    const s = createMemoryHostServices();
    const id = await s.ipcSubscribe('cap', 'a.>');

    assert.throws(() => s.ipcPoll('thief', id, 1), (e) => isKernelError(e, ErrorCode.NotFound));
    assert.equal(await s.ipcUnsubscribe('thief', id), false);
    assert.equal(await s.ipcUnsubscribe('cap', id), true);
  });

  test('`kv*()` keep one namespace per capsule and `commit()` applies a batch', async () => {
    const s = createMemoryHostServices();
    await s.kvSet('a', 'k1', 'v1');
    await s.commit?.('b', { kv: [{ key: 'k1', value: 'b1' }, { key: 'k2', value: 'b2' }, { key: 'k2', value: null }], published: [{ subject: 'x.y', payloadJson: '{}' }] });

    assert.equal(await s.kvGet('a', 'k1'), 'v1');
    assert.equal(await s.kvGet('b', 'k1'), 'b1');
    assert.deepEqual(await s.kvList('b', ''), ['k1']);
    assert.equal(await s.kvDelete('a', 'k1'), true);
    assert.equal(s.messages.length, 1);
    assert.equal(s.commits, 1);
  });
});
