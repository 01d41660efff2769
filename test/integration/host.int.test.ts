/**
 * The capsule host against a real AssemblyScript capsule built from source with the SDK
 * (`capsules/echo`), and the build tool itself.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAllFirstParty, buildCapsuleWasm } from '../../capsules/tools/build.ts';
import { ErrorCode, isKernelError } from '../../kernel/errors/index.ts';
import {
  createCapsuleHost,
  createMemoryHostServices,
  type CapsuleGrantInput,
  type CapsuleHost,
  type MemoryHostServices,
} from '../../kernel/host/index.ts';
import { tempDir } from '../support/temp-dir.ts';

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const GRANT: CapsuleGrantInput = { ipc: { publish: ['echo.>'], subscribe: ['echo.>'] }, kv: ['read', 'write'], env: ['GREETING'] };
const LIMITS = { timeoutMs: 5_000, memoryBytes: 4 * 1024 * 1024 };

let wasm: Uint8Array;
let host: CapsuleHost;
let services: MemoryHostServices;

before(async () => {
  wasm = (await buildCapsuleWasm('capsules/echo')).wasm;
});

describe('echo capsule on the host', { timeout: 120_000 }, () => {
  before(() => {
    services = createMemoryHostServices();
    services.setConfig('echo', 'GREETING', 'hej');
    host = createCapsuleHost({ services, spareWorkers: 1 });
  });
  after(async () => {
    await host.close();
  });

  test('`exercise` reaches every airlock and commits only its surviving effects', async () => {
    await using echo = await host.load({ capsuleId: 'echo', wasm, grant: GRANT, limits: LIMITS });

    const report: unknown = JSON.parse(text(await echo.call('exercise', '{"name":"zoë"}')));

    assert.deepEqual(report, {
      greeting: 'hej, zoë',
      stored: 'hej, zoë',
      keys: ['scratch', 'user:zoë'],
      deleted: true,
      afterDelete: null,
      polled: [],
      unsubscribed: true,
      deniedCode: ErrorCode.CapabilityDenied,
      badKeyCode: ErrorCode.KvKeyInvalid,
      missingConfigCode: ErrorCode.CapabilityDenied,
    });
    assert.deepEqual([...services.kvOf('echo')], [['user:zoë', 'hej, zoë']]);
    assert.deepEqual(services.messages.map((m) => [m.subject, m.source, m.payloadJson]), [['echo.out.greeting', 'capsule:echo', '{"text":"hej, zoë"}']]);
    assert.deepEqual(services.logs, [{ capsuleId: 'echo', level: 'info', message: 'exercising for zoë' }]);
    assert.deepEqual(services.subscriptionsOf('echo'), []);
  });

  test('`echo` returns UTF-8 input byte for byte', async () => {
    await using echo = await host.load({ capsuleId: 'echo', wasm, limits: LIMITS });
    const input = 'zoë ✓ 🦀 '.repeat(50);

    assert.equal(text(await echo.call('echo', input)), input);
  });

  test('`poll` returns messages published between calls to a subscription', async () => {
    await using echo = await host.load({ capsuleId: 'poller', wasm, grant: GRANT, limits: LIMITS });
    const id = text(await echo.call('subscribe', 'echo.in.>'));

    services.publishAs('user:test', 'echo.in.a', '{"n":1}');
    services.publishAs('user:test', 'other.x', '{"n":2}');
    services.publishAs('user:test', 'echo.in.b.c', '[1,"é"]');

    assert.equal(text(await echo.call('poll', id)), 'echo.in.a={"n":1}\necho.in.b.c=[1,"é"]');
    await assert.rejects(echo.call('poll', 'sub-unknown'), (e) => isKernelError(e, ErrorCode.CapsuleFailed) && e.details?.['capsuleCode'] === ErrorCode.NotFound);
  });

  test('`handle` receives one bus message per call and keeps state in KV', async () => {
    await using echo = await host.load({ capsuleId: 'handler', wasm, grant: GRANT, limits: LIMITS });
    const message = (n: number): string => JSON.stringify({ seq: n, subject: 'echo.in.ping', source: 'user:test', payload: { n } });

    assert.equal(text(await echo.call('handle', message(1))), '1');
    assert.equal(text(await echo.call('handle', message(2))), '2');

    const replies = services.messages.filter((m) => m.source === 'capsule:handler').map((m) => JSON.parse(m.payloadJson) as unknown);
    assert.deepEqual(replies, [
      { subject: 'echo.in.ping', payload: { n: 1 }, count: 1 },
      { subject: 'echo.in.ping', payload: { n: 2 }, count: 2 },
    ]);
  });

  const failing: Array<[fn: string, code: string]> = [
    ['fail_soft', ErrorCode.CapsuleFailed],
    ['boom', ErrorCode.CapsuleTrapped],
    ['write_then_spin', ErrorCode.CapsuleTimeout],
  ];
  for (const [fn, code] of failing) {
    test(`\`${fn}\` fails with ${code} and leaves no effect behind`, async () => {
      const id = `failing-${fn}`;
      await using echo = await host.load({ capsuleId: id, wasm, grant: GRANT, limits: LIMITS });
      const before = services.messages.length;

      const options = fn === 'write_then_spin' ? { timeoutMs: 500 } : {};

      const error: unknown = await echo.call(fn, 'input', options).catch((e: unknown) => e);

      assert.ok(isKernelError(error, code as never), String(error));
      assert.equal(services.kvOf(id).size, 0);
      assert.equal(services.messages.length, before);
      assert.equal(text(await echo.call('echo', 'alive')), 'alive');
    });
  }

  test('`fail_soft` surfaces the capsule\'s own code and `boom` its assertion text', async () => {
    await using echo = await host.load({ capsuleId: 'texts', wasm, grant: GRANT, limits: LIMITS });

    await assert.rejects(echo.call('fail_soft', 'bad'), (e) => isKernelError(e, ErrorCode.CapsuleFailed) && e.details?.['capsuleCode'] === 'BAD_INPUT' && e.message.includes('refused: bad'));
    await assert.rejects(echo.call('boom'), (e) => isKernelError(e, ErrorCode.CapsuleTrapped) && e.message.includes('boom went the capsule'));
  });

  test('a trap closes the subscriptions of the recycled instance', async () => {
    await using echo = await host.load({ capsuleId: 'subs', wasm, grant: GRANT, limits: LIMITS });
    await echo.call('subscribe', 'echo.x.>');
    assert.equal(services.subscriptionsOf('subs').length, 1);

    await assert.rejects(echo.call('boom'));

    assert.deepEqual(services.subscriptionsOf('subs'), []);
  });

  test('a capsule without capabilities gets CAPABILITY_DENIED from its airlocks', async () => {
    await using echo = await host.load({ capsuleId: 'nobody', wasm, limits: LIMITS });

    await assert.rejects(echo.call('exercise', '{"name":"x"}'), (e) => isKernelError(e, ErrorCode.CapsuleFailed) && e.details?.['capsuleCode'] === ErrorCode.CapabilityDenied);
    // Denied airlocks answer with an error and the call goes on: nothing is written.
    assert.equal(text(await echo.call('handle', '{"subject":"a","payload":1}')), '1');
    assert.equal(services.kvOf('nobody').size, 0);
    assert.equal(services.messages.filter((m) => m.source === 'capsule:nobody').length, 0);
  });

  test('`grow` past the memory cap fails with CAPSULE_MEMORY_EXCEEDED and the instance recovers', async () => {
    await using echo = await host.load({ capsuleId: 'grower', wasm, limits: LIMITS });

    await assert.rejects(echo.call('grow', '16'), (e) => isKernelError(e, ErrorCode.CapsuleMemoryExceeded) && e.details?.['reason'] === 'linear-memory');

    assert.equal(text(await echo.call('grow', '1')).length > 0, true);
  });

  test('a call that uses every Extism block fails with CAPSULE_MEMORY_EXCEEDED', async () => {
    await using echo = await host.load({ capsuleId: 'blocks', wasm, grant: GRANT, limits: { ...LIMITS, memoryBytes: 32 * 1024 * 1024 } });

    await assert.rejects(echo.call('alloc_loop', '40000'), (e) => isKernelError(e, ErrorCode.CapsuleMemoryExceeded) && e.details?.['reason'] === 'extism-blocks');
    assert.equal(text(await echo.call('alloc_loop', '1000')), '1000');
  });

  test('`kvGet` reads in place: no Extism block, however many reads a call makes', async () => {
    await using echo = await host.load({ capsuleId: 'reads', wasm, grant: GRANT, limits: { ...LIMITS, memoryBytes: 32 * 1024 * 1024 } });
    services.kvOf('reads');
    await services.kvSet('reads', 'bench', 'v');

    assert.equal(text(await echo.call('kv_loop', '40000')), '40000');
  });

  test('`kvGet` returns long and non-ASCII values whole, and the airlock\'s coded errors', async () => {
    await using echo = await host.load({ capsuleId: 'values', wasm, grant: GRANT, limits: LIMITS });
    await using denied = await host.load({ capsuleId: 'values', wasm, limits: LIMITS });
    // Longer than the SDK's result buffer, then longer than what it keeps between reads.
    const long = 'zoë ✓ 🦀 '.repeat(100);
    const longer = 'zoë ✓ 🦀 '.repeat(10_000);
    await services.kvSet('values', 'long', long);
    await services.kvSet('values', 'longer', longer);
    await services.kvSet('values', 'ünï', '');

    assert.equal(text(await echo.call('get', 'long')), `+${long}`);
    assert.equal(text(await echo.call('get', 'longer')), `+${longer}`);
    assert.equal(text(await echo.call('get', 'ünï')), '+');
    assert.equal(text(await echo.call('get', 'absent')), '-');
    assert.equal(text(await echo.call('get', 'long')), `+${long}`);
    await assert.rejects(echo.call('get', 'k'.repeat(5000)), (e) => isKernelError(e, ErrorCode.CapsuleFailed) && e.details?.['capsuleCode'] === ErrorCode.PayloadTooLarge);
    await assert.rejects(echo.call('get', ''), (e) => isKernelError(e, ErrorCode.CapsuleFailed) && e.details?.['capsuleCode'] === ErrorCode.KvKeyInvalid);
    await assert.rejects(denied.call('get', 'long'), (e) => isKernelError(e, ErrorCode.CapsuleFailed) && e.details?.['capsuleCode'] === ErrorCode.CapabilityDenied);
  });

  test('a read sees the kernel\'s value when the call starts and the call\'s own writes after', async () => {
    await using echo = await host.load({ capsuleId: 'rw', wasm, grant: GRANT, limits: LIMITS });
    await services.kvSet('rw', 'rw', 'old');

    assert.deepEqual(JSON.parse(text(await echo.call('rewrite', 'new'))), ['old', 'new', null]);
    assert.equal(services.kvOf('rw').has('rw'), false);
    await services.kvSet('rw', 'rw', 'set between calls');
    assert.deepEqual(JSON.parse(text(await echo.call('rewrite', 'again'))), ['set between calls', 'again', null]);
  });

  test('effects go through the per-airlock methods when the port has no `commit()`', async () => {
    const plain = createMemoryHostServices({ commit: false });
    await using other = createCapsuleHost({ services: plain, spareWorkers: 0 });
    await using echo = await other.load({ capsuleId: 'echo', wasm, grant: GRANT, limits: LIMITS });

    await echo.call('exercise', '{"name":"ana"}');

    assert.equal(plain.commits, 0);
    assert.deepEqual([...plain.kvOf('echo')], [['user:ana', 'hi, ana']]);
    assert.equal(plain.messages.length, 1);
  });
});

describe('buildCapsuleWasm()', { timeout: 300_000 }, () => {
  test('`buildCapsuleWasm()` returns the cached module when nothing changed', async () => {
    const again = await buildCapsuleWasm('capsules/echo');

    assert.equal(again.cached, true);
    assert.deepEqual(again.wasm, wasm);
  });

  test('`buildCapsuleWasm()` fails with BUILD_FAILED and the diagnostics', async () => {
    await using dir = await tempDir('astrid-build-');
    const capsule = join(dir.path, 'broken');
    await mkdir(join(capsule, 'assembly'), { recursive: true });
    await writeFile(join(capsule, 'assembly', 'index.ts'), 'export function run(): i32 { return "not a number"; }\n');

    await assert.rejects(buildCapsuleWasm(capsule, { optimize: false, cacheDir: join(dir.path, 'cache') }), (e) => isKernelError(e, ErrorCode.BuildFailed) && /TS2322|not assignable/.test(e.message));
  });

  test('`buildCapsuleWasm()` fails with BUILD_FAILED for a module the host would refuse', async () => {
    await using dir = await tempDir('astrid-build-');
    const capsule = join(dir.path, 'clock');
    await mkdir(join(capsule, 'assembly'), { recursive: true });
    await writeFile(join(capsule, 'assembly', 'index.ts'), 'import { output } from "astrid-sdk";\nexport function now(): i32 { output(Uint8Array.wrap(String.UTF8.encode(Date.now().toString()))); return 0; }\n');

    await assert.rejects(buildCapsuleWasm(capsule, { optimize: false, cacheDir: join(dir.path, 'cache') }), (e) => isKernelError(e, ErrorCode.BuildFailed) && e.message.includes('env.Date.now'));
  });

  test('`buildAllFirstParty()` builds every capsule folder with sources but not the SDK', async () => {
    const all = await buildAllFirstParty();

    assert.ok(all.has('echo'));
    assert.ok(!all.has('sdk'));
    assert.deepEqual(all.get('echo')?.wasm, wasm);
  });
});
