/**
 * The capsule workflow a user follows, through the real `astrid` CLI against a daemon:
 * `capsule new` → `build` (cached, byte-identical) → `install` (file and directory) → `list`
 * → `info` → `call` → `remove`; calls that trap or time out end with their codes while the
 * kernel keeps serving; a handler that traps records `capsule.delivery.failed` and the next
 * message is still delivered.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { HashedEvent } from '../../kernel/events/index.ts';
import { spawnChild } from '../support/child.ts';
import { assertCliBuilt, cliArgs, parseJson, runCli, runCliJson, startDaemon, type TestDaemon } from '../support/cli.ts';
import { tempDir, type TempDir } from '../support/temp-dir.ts';

interface BuildResult {
  readonly capsuleId: string;
  readonly version: string;
  readonly file: string;
  readonly sha256: string;
  readonly cached: boolean;
}

interface CliError {
  readonly error: { readonly code: string; readonly message: string };
}

interface Cursor {
  readonly seq: number;
  readonly failed: number;
}

/** Functions the test adds to the scaffold: a trap, a runaway loop and a bus handler. */
const EXTRA_SOURCE = `
import { readMessage } from "astrid-sdk";

// Writes, then trips an assertion: the call traps and the write is dropped.
export function boom(): i32 {
  kvSet("never", "written");
  assert(false, "boom went the capsule");
  return 0;
}

// Never returns: the kernel must stop it at call_timeout_ms.
export function spin(): i32 {
  let x: u64 = 1;
  while (x != 0) x = x * 6364136223846793005 + 1442695040888963407;
  return 0;
}

@json
class Ping {
  n: i32 = 0;
  @optional boom: bool = false;
}

// [[handler]] hello.ping: records the last ping; traps when asked to.
export function on_ping(): i32 {
  const ping = JSON.parse<Ping>(readMessage().payload.data);
  kvSet("last-ping", ping.n.toString());
  assert(!ping.boom, "ping asked the handler to trap");
  return 0;
}
`;

const EXTRA_MANIFEST = `
[[handler]]
subject = "hello.ping"
function = "on_ping"
`;

/** Runs `astrid <args> --home <home> --json` in `cwd` (for `capsule new`, which writes there). */
async function runIn(cwd: string, home: string, args: readonly string[]): Promise<unknown> {
  await using child = spawnChild(process.execPath, cliArgs(home, args), { cwd, env: { ASTRID_LOG: 'warn' } });
  const exit = await child.exited;
  assert.equal(exit.code, 0, `astrid ${args.join(' ')} failed: ${child.stderr}`);
  return JSON.parse(child.lines.join('\n')) as unknown;
}

/** The error code a failing command printed under --json. */
async function failureCode(home: string, args: readonly string[]): Promise<string> {
  const result = await runCli(home, args);
  assert.notEqual(result.code, 0, `astrid ${args.join(' ')} should have failed`);
  return parseJson<CliError>(result).error.code;
}

async function eventsOf(home: string, type: string): Promise<HashedEvent[]> {
  const events = await runCliJson<HashedEvent[]>(home, ['log', 'show', '--limit', '10000']);
  return events.filter((e) => e.type === type);
}

describe('`astrid capsule` from scaffold to removal, against a daemon', { timeout: 600_000 }, () => {
  let work: TempDir | null = null;
  let daemon: TestDaemon | null = null;
  let root = '';
  let home = '';
  let first: BuildResult | null = null;

  before(async () => {
    assertCliBuilt();
    work = await tempDir('astrid-capsule-cli-');
    root = work.path;
    home = join(root, 'home');
    await runCliJson(home, ['init']);
    await runIn(root, home, ['capsule', 'new', 'hello']);
    const dir = join(root, 'hello');
    await writeFile(join(dir, 'assembly', 'index.ts'), (await readFile(join(dir, 'assembly', 'index.ts'), 'utf8')) + EXTRA_SOURCE);
    const manifest = (await readFile(join(dir, 'Capsule.toml'), 'utf8'))
      .replace('kv = true\n', 'kv = true\nipc_subscribe = ["hello.ping"]\n')
      .replace('call_timeout_ms = 5000', 'call_timeout_ms = 1000');
    await writeFile(join(dir, 'Capsule.toml'), manifest + EXTRA_MANIFEST);
    first = await runCliJson<BuildResult>(home, ['build', dir, '--out', root], { timeoutMs: 300_000 });
    daemon = await startDaemon(home);
  });
  after(async () => {
    await daemon?.stop();
    await work?.[Symbol.asyncDispose]();
  });

  test('`astrid build` of an unchanged capsule is cached and packs identical bytes', async () => {
    const before = await readFile(first?.file ?? '');
    const second = await runCliJson<BuildResult>(home, ['build', join(root, 'hello'), '--out', root]);

    assert.equal(first?.cached, false);
    assert.deepEqual([second.capsuleId, second.version, second.cached], ['hello', '0.1.0', true]);
    assert.equal(second.sha256, first?.sha256);
    assert.ok((await readFile(second.file)).equals(before));
  });

  test('`capsule install` of the file, then `list`, `info` and `call` round-trip UTF-8 input', async () => {
    const receipt = await runCliJson<{ capsuleId: string; version: string; replaced: string | null }>(home, ['capsule', 'install', join(root, 'hello-0.1.0.capsule')]);
    const list = await runCliJson<{ capsules: Array<{ capsuleId: string; version: string; archive: string }> }>(home, ['capsule', 'list']);
    const info = await runCliJson<{ installed: { archive: string }; manifest: { package: { name: string } } | null }>(home, ['capsule', 'info', 'hello']);
    const call = await runCliJson<{ output: string; json: unknown }>(home, ['capsule', 'call', 'hello', 'greet', '--input', '{"name":"zoë"}']);

    assert.deepEqual([receipt.capsuleId, receipt.version, receipt.replaced], ['hello', '0.1.0', null]);
    assert.deepEqual(list.capsules.map((c) => [c.capsuleId, c.version, c.archive]), [['hello', '0.1.0', first?.sha256]]);
    assert.equal(info.installed.archive, first?.sha256);
    assert.equal(info.manifest?.package.name, 'hello');
    assert.deepEqual(call.json, { text: 'Hello, zoë!', count: 1 });
  });

  test('`capsule install` of an unpacked directory replaces the installed archive', async () => {
    const unpacked = join(root, 'unpacked');
    await mkdir(unpacked);
    for (const name of ['Capsule.toml', 'hello.wasm']) await copyFile(join(root, 'hello', name), join(unpacked, name));

    const receipt = await runCliJson<{ capsuleId: string; replaced: string | null }>(home, ['capsule', 'install', unpacked]);
    const info = await runCliJson<{ installed: { archive: string } }>(home, ['capsule', 'info', 'hello']);
    const call = await runCliJson<{ json: unknown }>(home, ['capsule', 'call', 'hello', 'greet', '--input', '{"name":"Łódź 🦀"}']);

    assert.deepEqual([receipt.capsuleId, receipt.replaced], ['hello', '0.1.0']);
    assert.notEqual(info.installed.archive, first?.sha256);
    // KV survives an upgrade: it belongs to the capsule id, not to the archive.
    assert.deepEqual(call.json, { text: 'Hello, Łódź 🦀!', count: 2 });
  });

  test('`capsule call` that traps or times out ends with its code and the kernel keeps serving', async () => {
    const pid = daemon?.pid;
    const trapped = await failureCode(home, ['capsule', 'call', 'hello', 'boom']);
    const afterTrap = await runCliJson<{ json: unknown }>(home, ['capsule', 'call', 'hello', 'greet', '--input', '{"name":"a"}']);
    const timedOut = await failureCode(home, ['capsule', 'call', 'hello', 'spin']);
    const afterTimeout = await runCliJson<{ json: unknown }>(home, ['capsule', 'call', 'hello', 'greet', '--input', '{"name":"b"}']);
    const missing = await failureCode(home, ['capsule', 'call', 'hello', 'no_such_export']);
    const status = await runCliJson<{ running: boolean; status: { pid: number } | null }>(home, ['daemon', 'status']);
    const never = await failureCode(home, ['kv', 'get', 'capsule-hello', 'never']);

    assert.equal(trapped, 'CAPSULE_TRAPPED');
    assert.deepEqual(afterTrap.json, { text: 'Hello, a!', count: 3 });
    assert.equal(timedOut, 'CAPSULE_TIMEOUT');
    assert.deepEqual(afterTimeout.json, { text: 'Hello, b!', count: 4 });
    assert.equal(missing, 'WASM_EXPORT_MISSING');
    assert.equal(status.running, true);
    assert.equal(status.status?.pid, pid, 'the same daemon still serves');
    assert.equal(never, 'NOT_FOUND', 'the trapped call’s KV write was dropped');
  });

  test('a `[[handler]]` that traps records `capsule.delivery.failed` and the next message is still delivered', async () => {
    const bad = await runCliJson<{ first: { seq: number } }>(home, ['bus', 'publish', 'hello.ping', '{"n":1,"boom":true}']);
    const good = await runCliJson<{ first: { seq: number } }>(home, ['bus', 'publish', 'hello.ping', '{"n":2}']);
    let cursor: Cursor | undefined;
    for (let i = 0; i < 200 && (cursor === undefined || cursor.seq < good.first.seq); i++) {
      const page = await runCliJson<{ entries: Array<[string, Cursor]> }>(home, ['projection', 'show', 'deliveries', '--prefix', 'hello/']);
      cursor = page.entries.find(([key]) => key === 'hello/on_ping:hello.ping')?.[1];
    }
    const failed = (await eventsOf(home, 'capsule.delivery.failed')).map((e) => e.data as { handler: string; seq: number; code: string });
    const completed = (await eventsOf(home, 'capsule.delivery.completed')).map((e) => e.data as { handler: string; seq: number });
    const lastPing = await runCliJson<{ value: unknown }>(home, ['kv', 'get', 'capsule-hello', 'last-ping']);

    assert.deepEqual(cursor, { ...cursor, seq: good.first.seq, failed: 1 });
    assert.deepEqual(failed.map((f) => [f.handler, f.seq, f.code]), [['on_ping:hello.ping', bad.first.seq, 'CAPSULE_TRAPPED']]);
    assert.deepEqual(completed.map((c) => [c.handler, c.seq]), [['on_ping:hello.ping', good.first.seq]]);
    assert.equal(lastPing.value, '2');
  });

  test('`capsule remove` uninstalls the capsule and later calls find nothing', async () => {
    const removed = await runCliJson<{ capsuleId: string }>(home, ['capsule', 'remove', 'hello']);
    const list = await runCliJson<{ capsules: unknown[] }>(home, ['capsule', 'list']);
    const call = await failureCode(home, ['capsule', 'call', 'hello', 'greet', '--input', '{"name":"x"}']);

    assert.equal(removed.capsuleId, 'hello');
    assert.deepEqual(list.capsules, []);
    assert.equal(call, 'CAPSULE_NOT_FOUND');
  });
});
