import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, isKernelError } from '../errors/index.ts';
import { watFixture } from './testing.ts';
import { Wasm } from './wasm-api.ts';
import { ModuleCache, capLinearMemory, checkModuleInterface } from './wasm-module.ts';

interface GrowableMemory {
  grow(pages: number): number;
}

async function memoryOf(bytes: Uint8Array): Promise<GrowableMemory> {
  const instantiate = (globalThis as unknown as { WebAssembly: { instantiate(b: Uint8Array, i: object): Promise<{ instance: { exports: Record<string, unknown> } }> } }).WebAssembly.instantiate;
  const { instance } = await instantiate(bytes, {});
  return instance.exports['memory'] as GrowableMemory;
}

describe('capLinearMemory()', () => {
  test('`capLinearMemory()` makes growth past the cap fail', async () => {
    const wasm = await watFixture('unreachable');

    const capped = capLinearMemory(wasm, 3);
    const memory = await memoryOf(capped.bytes);

    assert.equal(capped.maxPages, 3);
    assert.equal(memory.grow(2), 1);
    assert.throws(() => memory.grow(1), RangeError);
  });

  test('`capLinearMemory()` keeps a lower declared maximum and refuses a too large initial size', async () => {
    const wasm = await watFixture('unreachable');

    assert.equal(capLinearMemory(capLinearMemory(wasm, 2).bytes, 10).maxPages, 2);
    assert.throws(() => capLinearMemory(wasm, 0), (e) => isKernelError(e, ErrorCode.CapsuleMemoryExceeded));
  });

  test('`capLinearMemory()` reports malformed sections as WASM_INVALID', () => {
    const truncated = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 50, 0);

    assert.throws(() => capLinearMemory(truncated, 4), (e) => isKernelError(e, ErrorCode.WasmInvalid));
  });
});

describe('checkModuleInterface()', () => {
  test('`checkModuleInterface()` refuses foreign imports and missing exports', async () => {
    for (const name of ['foreign-import', 'env-import', 'unknown-airlock', 'imported-memory']) {
      const module = await Wasm.compile(await watFixture(name));
      assert.throws(() => checkModuleInterface(module, []), (e) => isKernelError(e, ErrorCode.WasmImportDenied), name);
    }
    const missing = await Wasm.compile(await watFixture('missing-export'));
    assert.throws(() => checkModuleInterface(missing, ['run']), (e) => isKernelError(e, ErrorCode.WasmExportMissing));
    assert.ok(checkModuleInterface(missing, ['other']).has('other'));
  });
});

describe('ModuleCache', () => {
  test('`get()` compiles each digest and cap once', async () => {
    const cache = new ModuleCache();
    const wasm = await watFixture('echo');

    const [a, b] = await Promise.all([cache.get(wasm, 16, []), cache.get(wasm.slice(), 16, ['echo'])]);
    const c = await cache.get(wasm, 32, []);

    assert.equal(a, b);
    assert.notEqual(a.module, c.module);
    assert.equal(cache.size, 2);
    assert.match(a.digest, /^[0-9a-f]{64}$/);
  });

  test('`get()` does not keep a failed compilation', async () => {
    const cache = new ModuleCache();

    await assert.rejects(cache.get(await watFixture('env-import'), 16, []), (e) => isKernelError(e, ErrorCode.WasmImportDenied));

    assert.equal(cache.size, 0);
  });
});
