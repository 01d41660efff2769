import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, KernelError, isKernelError } from '../errors/index.ts';
import { InPlaceStatus, guestKey, guestRange, inPlace, writeResult } from './guest-memory.ts';

const encode = (s: string): Uint8Array => new TextEncoder().encode(s);
const trapped = (e: unknown): boolean => isKernelError(e, ErrorCode.CapsuleTrapped) && e.details?.['reason'] === 'abi';

describe('guestRange()', () => {
  test('returns the range of an unsigned pointer and length inside memory', () => {
    const memory = new Uint8Array(64);

    assert.deepEqual(guestRange(memory, 'f', 1, 8, 56), [8, 64]);
    assert.deepEqual(guestRange(memory, 'f', 1, 64, 0), [64, 64]);
  });

  test('traps on a range past the end, a negative i32 and a non-i32 argument', () => {
    const memory = new Uint8Array(64);

    assert.throws(() => guestRange(memory, 'f', 1, 8, 57), trapped);
    assert.throws(() => guestRange(memory, 'f', 1, -8, 4), trapped);
    assert.throws(() => guestRange(memory, 'f', 1, 8n, 4), trapped);
    assert.throws(() => guestRange(memory, 'f', 1, 0, undefined), trapped);
  });
});

describe('guestKey()', () => {
  test('decodes a UTF-8 key', () => {
    const memory = new Uint8Array(16);
    memory.set(encode('zoë'), 2);

    assert.equal(guestKey(memory, 'f', 2, 6), 'zoë');
  });

  test('refuses an empty key, a NUL, bad UTF-8 and a key above the limit with coded errors', () => {
    const memory = new Uint8Array(5000);
    memory.set([0x61, 0, 0x62, 0xff], 0);

    assert.throws(() => guestKey(memory, 'f', 0, 0), (e) => isKernelError(e, ErrorCode.KvKeyInvalid));
    assert.throws(() => guestKey(memory, 'f', 0, 3), (e) => isKernelError(e, ErrorCode.KvKeyInvalid));
    assert.throws(() => guestKey(memory, 'f', 3, 4), (e) => isKernelError(e, ErrorCode.PayloadInvalid));
    assert.throws(() => guestKey(memory, 'f', 0, 4097), (e) => isKernelError(e, ErrorCode.PayloadTooLarge));
  });
});

describe('writeResult()', () => {
  test('writes the status byte and the payload when they fit, and returns their length', () => {
    const memory = new Uint8Array(64);
    const long = encode('x'.repeat(40));

    assert.equal(writeResult(memory, 4, 4, InPlaceStatus.value, encode('abc')), 4);
    assert.deepEqual([...memory.subarray(4, 8)], [1, 0x61, 0x62, 0x63]);
    assert.equal(writeResult(memory, 10, 41, InPlaceStatus.value, long), 41);
    assert.deepEqual(memory.subarray(11, 51), long);
    assert.equal(writeResult(memory, 0, 1, InPlaceStatus.absent, null), 1);
    assert.equal(memory[0], 0);
  });

  test('writes nothing when the result is longer than the capacity', () => {
    const memory = new Uint8Array(8).fill(7);

    assert.equal(writeResult(memory, 0, 3, InPlaceStatus.value, encode('abc')), 4);
    assert.equal(writeResult(memory, 0, 0, InPlaceStatus.absent, null), 1);
    assert.deepEqual([...memory], [7, 7, 7, 7, 7, 7, 7, 7]);
  });
});

describe('inPlace()', () => {
  const memory = new Uint8Array(256);
  const view = (): Uint8Array => memory;

  test('passes the checked output range to the body', () => {
    const fn = inPlace('f', 3, view, (mem, _args, out, cap) => writeResult(mem, out, cap, InPlaceStatus.value, encode('v')));

    assert.equal(fn(null, 0, 0, 100, 8), 2);
    assert.deepEqual([...memory.subarray(100, 102)], [1, 0x76]);
  });

  test('turns an expected KernelError into an error result, JSON after the status byte', () => {
    const fn = inPlace('f', 3, view, () => {
      throw new KernelError(ErrorCode.CapabilityDenied, 'no');
    });

    const n = fn(null, 0, 0, 0, 256);

    assert.equal(memory[0], InPlaceStatus.error);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(memory.subarray(1, n))), { ok: false, code: ErrorCode.CapabilityDenied, message: 'no' });
  });

  test('lets a trap, a foreign error and a bad output range through', () => {
    const trap = inPlace('f', 3, view, () => {
      throw new KernelError(ErrorCode.CapsuleTrapped, 'trap');
    });
    const foreign = inPlace('f', 3, view, () => {
      throw new TypeError('bug');
    });

    assert.throws(() => trap(null, 0, 0, 0, 8), (e) => isKernelError(e, ErrorCode.CapsuleTrapped));
    assert.throws(() => foreign(null, 0, 0, 0, 8), TypeError);
    assert.throws(() => foreign(null, 0, 0, 250, 8), trapped);
  });
});
