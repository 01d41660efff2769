import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ErrorCode, isKernelError } from '../errors/index.ts';
import { createCapsuleHost, type CapsuleHost } from './capsule-host.ts';
import type { CapsuleInstance } from './capsule-instance.ts';
import { createMemoryHostServices } from './memory-services.ts';
import { watFixture } from './testing.ts';

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
// Generous call limits: a loaded two-core machine must not turn a trap into a timeout.
const LIMITS = { timeoutMs: 5_000, memoryBytes: 2 * 1024 * 1024 };

/**
 * Runs `hostile` while `neighbour` answers echo calls in a loop; the loop goes on until the
 * hostile call has settled and the neighbour has answered once more after that. Returns
 * the hostile call's error and the number of neighbour answers.
 */
async function againstNeighbour(neighbour: CapsuleInstance, hostile: Promise<unknown>): Promise<{ error: unknown; answers: number }> {
  let settled = false;
  const outcome = hostile.then(
    () => ({ error: null }),
    (error: unknown) => ({ error }),
  ).finally(() => {
    settled = true;
  });
  let answers = 0;
  let after = 0;
  while (after < 1) {
    const wasSettled = settled;
    const payload = `ping ${answers}`;
    assert.equal(text(await neighbour.call('echo', payload)), payload);
    answers++;
    if (wasSettled) after++;
  }
  return { error: (await outcome).error, answers };
}

function assertCode(error: unknown, code: string): void {
  assert.ok(isKernelError(error, code as never), `expected ${code}, got ${String(error)}`);
}

describe('createCapsuleHost()', { timeout: 60_000 }, () => {
  test('`call()` echoes UTF-8 input through the worker', async () => {
    await using host = createCapsuleHost({ services: createMemoryHostServices(), spareWorkers: 0 });
    await using echo = await host.load({ capsuleId: 'echo', wasm: await watFixture('echo') });

    const out = await echo.call('echo', 'zoë ✓ 🦀');

    assert.equal(text(out), 'zoë ✓ 🦀');
  });

  test('`call()` serializes concurrent calls on one instance', async () => {
    await using host = createCapsuleHost({ services: createMemoryHostServices(), spareWorkers: 0 });
    await using echo = await host.load({ capsuleId: 'echo', wasm: await watFixture('echo') });

    const outs = await Promise.all(Array.from({ length: 20 }, (_, i) => echo.call('echo', `n${i}`)));

    assert.deepEqual(outs.map(text), Array.from({ length: 20 }, (_, i) => `n${i}`));
  });

  // One host and one neighbour serve every hostile case below.
  let shared: CapsuleHost;
  let neighbour: CapsuleInstance;
  before(async () => {
    shared = createCapsuleHost({ services: createMemoryHostServices(), spareWorkers: 2 });
    neighbour = await shared.load({ capsuleId: 'neighbour', wasm: await watFixture('echo') });
  });
  after(async () => {
    await shared.close();
  });

  const hostile: Array<[fixture: string, fn: string, code: string]> = [
    ['spin', 'run', ErrorCode.CapsuleTimeout],
    ['memory-bomb', 'run', ErrorCode.CapsuleMemoryExceeded],
    ['memory-bomb', 'alloc_bomb', ErrorCode.CapsuleMemoryExceeded],
    ['deep-recursion', 'run', ErrorCode.CapsuleTrapped],
    ['unreachable', 'run', ErrorCode.CapsuleTrapped],
    ['abi-misuse', 'dangling', ErrorCode.CapsuleTrapped],
    ['abi-misuse', 'offset', ErrorCode.CapsuleTrapped],
    ['abi-misuse', 'wrong_type', ErrorCode.CapsuleTrapped],
    ['abi-misuse', 'bad_load', ErrorCode.CapsuleTrapped],
    ['abi-misuse', 'into_outside', ErrorCode.CapsuleTrapped],
    ['abi-misuse', 'into_output', ErrorCode.CapsuleTrapped],
    ['abi-misuse', 'into_i64', ErrorCode.CapsuleTrapped],
    ['unexported-memory', 'run', ErrorCode.CapsuleTrapped],
  ];
  for (const [fixture, fn, code] of hostile) {
    test(`\`call()\` fails "${fixture}.${fn}" with ${code} while a neighbour keeps answering`, async () => {
      const limits = fixture === 'spin' ? { ...LIMITS, timeoutMs: 400 } : LIMITS;
      await using bad = await shared.load({ capsuleId: fixture, wasm: await watFixture(fixture), grant: { kv: ['read'] }, limits });

      const { error, answers } = await againstNeighbour(neighbour, bad.call(fn));

      assertCode(error, code);
      assert.ok(answers >= 1);
      assert.equal(text(await bad.call('nop')), '');
    });
  }

  test('`call()` works again on an instance recycled after a timeout', async () => {
    await using host = createCapsuleHost({ services: createMemoryHostServices(), spareWorkers: 0 });
    await using slow = await host.load({ capsuleId: 'slow', wasm: await watFixture('spin'), limits: LIMITS });

    await assert.rejects(slow.call('run', '', { timeoutMs: 200 }), (e) => isKernelError(e, ErrorCode.CapsuleTimeout));
    await assert.rejects(slow.call('run', '', { timeoutMs: 100 }), (e) => isKernelError(e, ErrorCode.CapsuleTimeout));

    assert.equal(text(await slow.call('nop')), '');
    await assert.rejects(slow.call('missing'), (e) => isKernelError(e, ErrorCode.WasmExportMissing));
  });

  test('`call()` answers an oversized airlock argument with a coded error result', async () => {
    await using host = createCapsuleHost({ services: createMemoryHostServices(), spareWorkers: 0 });
    await using abi = await host.load({ capsuleId: 'abi', wasm: await watFixture('abi-misuse'), grant: { kv: ['read'] } });

    const result: unknown = JSON.parse(text(await abi.call('oversize')));

    assert.deepEqual(Object.keys(result as object), ['ok', 'code', 'message']);
    assert.equal((result as { code: string }).code, ErrorCode.PayloadTooLarge);
  });

  test('`call()` rejects with the abort reason and the instance recovers', async () => {
    await using host = createCapsuleHost({ services: createMemoryHostServices(), spareWorkers: 0 });
    await using spin = await host.load({ capsuleId: 'spin', wasm: await watFixture('spin'), limits: { timeoutMs: 30_000 } });
    const controller = new AbortController();
    const reason = new Error('stop now');

    const call = spin.call('run', '', { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);

    await assert.rejects(call, (e) => e === reason);
    await assert.rejects(spin.call('run', '', { signal: AbortSignal.abort(reason) }), (e) => e === reason);
  });

  test('`call()` rejects with CAPSULE_CLOSED after `close()`, which is idempotent', async () => {
    await using host = createCapsuleHost({ services: createMemoryHostServices(), spareWorkers: 0 });
    const echo = await host.load({ capsuleId: 'echo', wasm: await watFixture('echo') });

    await echo.close();
    await echo.close();

    await assert.rejects(echo.call('echo', 'x'), (e) => isKernelError(e, ErrorCode.CapsuleClosed));
    assert.equal(host.instances.size, 0);
  });

  test('`close()` on the host ends a running call and refuses new loads', async () => {
    const host = createCapsuleHost({ services: createMemoryHostServices(), spareWorkers: 0 });
    const spin = await host.load({ capsuleId: 'spin', wasm: await watFixture('spin'), limits: { timeoutMs: 30_000 } });
    const running = spin.call('run');
    await new Promise((resolve) => setTimeout(resolve, 50));

    await host.close();
    await host.close();

    await assert.rejects(running, (e) => isKernelError(e, ErrorCode.CapsuleClosed));
    await assert.rejects(host.load({ capsuleId: 'x', wasm: await watFixture('echo') }), (e) => isKernelError(e, ErrorCode.CapsuleClosed));
  });

  const refused: Array<[fixture: string, code: string]> = [
    ['foreign-import', ErrorCode.WasmImportDenied],
    ['env-import', ErrorCode.WasmImportDenied],
    ['unknown-airlock', ErrorCode.WasmImportDenied],
    ['imported-memory', ErrorCode.WasmImportDenied],
    ['missing-export', ErrorCode.WasmExportMissing],
  ];
  for (const [fixture, code] of refused) {
    test(`\`load()\` refuses "${fixture}" with ${code} while a neighbour keeps answering`, async () => {
      const before = shared.instances.size;

      const { error, answers } = await againstNeighbour(neighbour, shared.load({ capsuleId: fixture, wasm: await watFixture(fixture), exports: ['run'] }));

      assertCode(error, code);
      assert.ok(answers >= 1);
      assert.equal(shared.instances.size, before);
    });
  }

  test('`load()` gives up on a start function that never returns with CAPSULE_TIMEOUT', async () => {
    const before = shared.instances.size;

    const { error, answers } = await againstNeighbour(neighbour, shared.load({ capsuleId: 'start-spin', wasm: await watFixture('start-spin'), limits: { startTimeoutMs: 300 } }));

    assertCode(error, ErrorCode.CapsuleTimeout);
    assert.ok(answers >= 1);
    assert.equal(shared.instances.size, before);
  });

  test('`load()` refuses bytes that are not wasm with WASM_INVALID', async () => {
    await using host = createCapsuleHost({ services: createMemoryHostServices(), spareWorkers: 0 });

    await assert.rejects(host.load({ capsuleId: 'junk', wasm: new TextEncoder().encode('not wasm at all') }), (e) => isKernelError(e, ErrorCode.WasmInvalid));
    await assert.rejects(host.load({ capsuleId: 'junk', wasm: Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 9) }), (e) => isKernelError(e, ErrorCode.WasmInvalid));
  });

  test('`load()` refuses a bad grant or bad limits with CAPSULE_INVALID', async () => {
    await using host = createCapsuleHost({ services: createMemoryHostServices(), spareWorkers: 0 });
    const wasm = await watFixture('echo');

    await assert.rejects(host.load({ capsuleId: 'e', wasm, grant: { ipc: { publish: ['a..b'] } } }), (e) => isKernelError(e, ErrorCode.CapsuleInvalid));
    await assert.rejects(host.load({ capsuleId: 'e', wasm, limits: { timeoutMs: 0 } }), (e) => isKernelError(e, ErrorCode.CapsuleInvalid));
  });
});

describe('airlocks through the bridge', { timeout: 60_000 }, () => {
  test('`astrid_kv_get` answers CAPABILITY_DENIED without a kv grant and the value with one', async () => {
    const services = createMemoryHostServices();
    await services.kvSet('reader', 'k', 'zoë');
    await using host = createCapsuleHost({ services, spareWorkers: 0 });
    await using denied = await host.load({ capsuleId: 'reader', wasm: await watFixture('kv-reader') });
    await using allowed = await host.load({ capsuleId: 'reader', wasm: await watFixture('kv-reader'), grant: { kv: ['read'] } });

    const no = JSON.parse(text(await denied.call('get', 'k'))) as { ok: boolean; code: string };
    const yes: unknown = JSON.parse(text(await allowed.call('get', 'k')));

    assert.equal(no.ok, false);
    assert.equal(no.code, ErrorCode.CapabilityDenied);
    assert.deepEqual(yes, { ok: true, value: 'zoë' });
  });

  test('`astrid_kv_get_into` writes the status byte and the value in place, or a coded error', async () => {
    const services = createMemoryHostServices();
    await services.kvSet('reader', 'k', 'zoë');
    await using host = createCapsuleHost({ services, spareWorkers: 0 });
    await using denied = await host.load({ capsuleId: 'reader', wasm: await watFixture('kv-reader') });
    await using allowed = await host.load({ capsuleId: 'reader', wasm: await watFixture('kv-reader'), grant: { kv: ['read'] } });

    const value = await allowed.call('get_into', 'k');
    const absent = await allowed.call('get_into', 'missing');
    const badKey = await allowed.call('get_into', 'a\0b');
    const no = await denied.call('get_into', 'k');

    assert.deepEqual([...value], [1, ...new TextEncoder().encode('zoë')]);
    assert.deepEqual([...absent], [0]);
    assert.equal(badKey[0], 2);
    assert.equal((JSON.parse(text(badKey.subarray(1))) as { code: string }).code, ErrorCode.KvKeyInvalid);
    assert.equal(no[0], 2);
    assert.deepEqual(Object.keys(JSON.parse(text(no.subarray(1))) as object), ['ok', 'code', 'message']);
    assert.equal((JSON.parse(text(no.subarray(1))) as { code: string }).code, ErrorCode.CapabilityDenied);
  });

  test('`call()` times out even while the kernel never answers a bridge request', async () => {
    const services = createMemoryHostServices();
    services.kvGet = () => new Promise<never>(() => undefined);
    await using host = createCapsuleHost({ services, spareWorkers: 0 });
    await using reader = await host.load({ capsuleId: 'reader', wasm: await watFixture('kv-reader'), grant: { kv: ['read'] }, limits: LIMITS });

    await assert.rejects(reader.call('get', 'k', { timeoutMs: 200 }), (e) => isKernelError(e, ErrorCode.CapsuleTimeout));
    services.kvGet = () => 'back';

    assert.deepEqual(JSON.parse(text(await reader.call('get', 'k'))), { ok: true, value: 'back' });
  });

  test('a kernel failure reaches the capsule as INTERNAL without its details', async () => {
    const services = createMemoryHostServices();
    services.kvGet = () => {
      throw new Error('secret path /home/x');
    };
    await using host = createCapsuleHost({ services, spareWorkers: 0 });
    await using reader = await host.load({ capsuleId: 'reader', wasm: await watFixture('kv-reader'), grant: { kv: ['read'] } });

    const result = JSON.parse(text(await reader.call('get', 'k'))) as { code: string; message: string };

    assert.equal(result.code, ErrorCode.Internal);
    assert.ok(!result.message.includes('secret'));
  });
});
