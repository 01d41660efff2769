/**
 * Two first-party capsules (`capsules/counter`, `capsules/client`), built from source with
 * `astrid build`, converse over the durable bus through a spawned `astrid run`. A second run
 * is killed with SIGKILL mid-conversation and restarted: delivery resumes from the log,
 * nothing is lost and no handler that finished sees its message again. `replay` after
 * deleting the capsule trees restores the installed capsules and their KV exactly.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { HashedEvent } from '../../kernel/events/index.ts';
import { spawnChild, type ChildHandle } from '../support/child.ts';
import { assertCliBuilt, cliArgs, runCli, runCliJson, spawnCli } from '../support/cli.ts';
import { repoPath } from '../support/repo-root.ts';
import { tempDir, type TempDir } from '../support/temp-dir.ts';

const CAPSULES = ['counter', 'client'] as const;

interface Completion {
  readonly capsuleId: string;
  readonly handler: string;
  readonly seq: number;
}

interface ClientStatus {
  readonly target: number;
  readonly received: number;
  readonly last: number;
  readonly done: boolean;
}

/** Resolves once `check()` holds, polling; rejects after `timeoutMs` with `what`. */
async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Spawns `astrid run` on `home` and waits until it owns the home and serves the socket. */
async function startRun(home: string): Promise<ChildHandle> {
  const run = spawnChild(process.execPath, cliArgs(home, ['run'], { human: true }), { env: { ASTRID_LOG: 'warn' } });
  try {
    await until('`astrid run` to start', () => run.stderr.includes('Astrid kernel running') || run.done);
    if (run.done) throw new Error(`astrid run exited early: ${run.stderr}`);
    return run;
  } catch (error) {
    await run.close();
    throw error;
  }
}

/** Stops `astrid run` as Ctrl-C would and asserts it exits cleanly. */
async function stopRun(run: ChildHandle): Promise<void> {
  run.kill('SIGTERM');
  const exit = await run.exited;
  assert.equal(exit.code, 0, `astrid run exited ${exit.code ?? exit.signal}: ${run.stderr}`);
}

/** A fresh home with both capsules installed from the `.capsule` files in `built`. */
async function homeWithCapsules(root: string, built: string): Promise<string> {
  const home = join(root, 'home');
  await runCliJson(home, ['init']);
  for (const id of CAPSULES) await runCliJson(home, ['capsule', 'install', join(built, `${id}-0.1.0.capsule`)]);
  return home;
}

/** Every event of the log, read page by page with `astrid log show --json`. */
async function allEvents(home: string): Promise<HashedEvent[]> {
  const events: HashedEvent[] = [];
  for (;;) {
    const page = await runCliJson<HashedEvent[]>(home, ['log', 'show', '--from', String(events.length + 1), '--limit', '10000']);
    events.push(...page);
    if (page.length < 10_000) return events;
  }
}

/** The KV entries of the capsules' namespaces, as `projection show kv --json` gives them. */
async function capsuleKv(home: string): Promise<ReadonlyArray<readonly [string, unknown]>> {
  const page = await runCliJson<{ entries: Array<[string, unknown]> }>(home, ['projection', 'show', 'kv', '--prefix', 'capsule-', '--limit', '100000']);
  return page.entries;
}

function kvValue(entries: ReadonlyArray<readonly [string, unknown]>, key: string): unknown {
  const stored = entries.find(([k]) => k === key)?.[1] as { value: unknown } | undefined;
  return stored?.value;
}

/** Every file under `dir` with its mode and SHA-256. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(d, entry.name);
      const mode = ((await stat(path)).mode & 0o777).toString(8);
      if (entry.isDirectory()) {
        out.push(`${relative(dir, path)}/ ${mode}`);
        await walk(path);
      } else {
        out.push(`${relative(dir, path)} ${mode} ${createHash('sha256').update(await readFile(path)).digest('hex')}`);
      }
    }
  };
  await walk(dir);
  return out;
}

/**
 * Checks the delivery record of a finished conversation to `target`: no (handler, seq) pair
 * completed twice, no failure, every request and every answer completed exactly once, the
 * answers are 1..target in order, and the KV of both capsules agrees. Returns the completions.
 */
function assertExactConversation(events: readonly HashedEvent[], kv: ReadonlyArray<readonly [string, unknown]>, target: number): Completion[] {
  const completions = events.filter((e) => e.type === 'capsule.delivery.completed').map((e) => e.data as Completion);
  const pairs = completions.map((c) => `${c.capsuleId}/${c.handler}@${c.seq}`);
  const duplicates = pairs.filter((p, i) => pairs.indexOf(p) !== i);
  assert.deepEqual(duplicates, [], 'a handler that finished a message was given it again');
  assert.deepEqual(events.filter((e) => e.type === 'capsule.delivery.failed').map((e) => e.data), []);

  const published = events.filter((e) => e.type === 'bus.message.published');
  const requests = published.filter((e) => e.subject === 'counter.increment').map((e) => e.seq);
  const answers = published.filter((e) => e.subject === 'counter.value');
  const counted = completions.filter((c) => c.capsuleId === 'counter' && c.handler === 'increment:counter.increment').map((c) => c.seq);
  const heard = completions.filter((c) => c.capsuleId === 'client' && c.handler === 'on_value:counter.value').map((c) => c.seq);
  assert.deepEqual(counted, requests, 'every request is completed once by the counter, in log order');
  assert.deepEqual(heard, answers.map((e) => e.seq), 'every answer is completed once by the client, in log order');
  const values = answers.map((e) => (e.data as { payload: { value: number } }).payload.value);
  assert.deepEqual(values, Array.from({ length: target }, (_, i) => i + 1));
  assert.equal(kvValue(kv, 'capsule-counter/count'), String(counted.length));
  assert.deepEqual(
    ['received', 'last', 'done'].map((k) => kvValue(kv, `capsule-client/${k}`)),
    [String(target), String(target), 'true'],
  );
  return completions;
}

describe('counter and client converse through `astrid run`', { timeout: 600_000 }, () => {
  let out: TempDir | null = null;
  let built = '';

  before(async () => {
    assertCliBuilt();
    // `astrid build` compiles from source (cached by source hash) and packs each capsule.
    out = await tempDir('astrid-conversation-build-');
    built = out.path;
    for (const id of CAPSULES) {
      const result = await runCliJson<{ capsuleId: string; file: string }>(built, ['build', repoPath(`capsules/${id}`), '--out', built], { timeoutMs: 300_000 });
      assert.equal(result.capsuleId, id);
    }
  });
  after(async () => {
    await out?.[Symbol.asyncDispose]();
  });

  test('`astrid run` carries a conversation to its target with every message handled once', async () => {
    await using dir = await tempDir();
    const home = await homeWithCapsules(dir.path, built);
    const target = 20;

    await using run = await startRun(home);
    await runCliJson(home, ['bus', 'publish', 'client.start', JSON.stringify({ target })]);
    await runCliJson(home, ['bus', 'subscribe', 'client.done', '--from', '1', '--count', '1'], { timeoutMs: 120_000 });
    const status = await runCliJson<{ json: ClientStatus }>(home, ['capsule', 'call', 'client', 'report']);
    const count = await runCliJson<{ output: string }>(home, ['capsule', 'call', 'counter', 'get']);
    await stopRun(run);
    const events = await allEvents(home);
    const kv = await capsuleKv(home);

    assert.deepEqual(status.json, { target, received: target, last: target, done: true });
    assert.equal(count.output, String(target));
    const completions = assertExactConversation(events, kv, target);
    // start + target answers for the client, target requests for the counter.
    assert.equal(completions.length, 1 + 2 * target);
  });

  test('a kernel killed with SIGKILL mid-conversation resumes from the log: nothing lost, nothing handled twice', async (t) => {
    await using dir = await tempDir();
    const home = await homeWithCapsules(dir.path, built);
    const target = 300;

    let seenAtKill = 0;
    {
      await using first = await startRun(home);
      // From the next seq, not "from whenever it connects": a publish racing the watcher's
      // start must still reach it.
      const { status } = await runCliJson<{ status: { head: { seq: number } } }>(home, ['daemon', 'status']);
      await using watch = spawnCli(home, ['bus', 'subscribe', '>', '--from', String(status.head.seq + 1)]);
      try {
        // Only start once the watcher follows the bus, so the kill lands early in the conversation.
        await runCliJson(home, ['bus', 'publish', 'test.ready', '{}']);
        await watch.waitForLine((line) => line.includes('"test.ready"'));
        await runCliJson(home, ['bus', 'publish', 'client.start', JSON.stringify({ target })]);
        const { line } = await watch.waitForLine((l) => l.includes('"counter.value"') && (JSON.parse(l) as { payload: { value: number } }).payload.value >= 25);
        seenAtKill = (JSON.parse(line) as { payload: { value: number } }).payload.value;
      } finally {
        // Both in the same tick: the watcher must not take the home over from the dead kernel.
        watch.kill('SIGKILL');
        first.kill('SIGKILL');
      }
      const exit = await first.exited;
      assert.equal(exit.signal, 'SIGKILL');
    }
    const headAtKill = (await runCliJson<{ head: number }>(home, ['projection', 'show', 'deliveries'])).head;

    await using second = await startRun(home);
    const done = await runCliJson<{ seq: number; payload: ClientStatus }>(home, ['bus', 'subscribe', 'client.done', '--from', '1', '--count', '1'], { timeoutMs: 180_000 });
    await stopRun(second);
    const events = await allEvents(home);
    const kv = await capsuleKv(home);

    assert.ok(seenAtKill < target, `the conversation had already ended (value ${seenAtKill}) when the kernel was killed`);
    assert.ok(done.seq > headAtKill, 'client.done came from the restarted kernel');
    assert.deepEqual(done.payload, { target, received: target, last: target, done: true });
    assertExactConversation(events, kv, target);
    // The message in flight at the kill was published before it and handled only after the restart.
    const resumed = events.filter((e) => e.type === 'capsule.delivery.completed' && e.seq > headAtKill && (e.data as Completion).seq <= headAtKill);
    assert.equal(resumed.length, 1, 'exactly one message was waiting for its handler when the kernel died');
    t.diagnostic(`killed at counter value ${seenAtKill}, log head ${headAtKill}; resumed with message seq ${(resumed[0]?.data as Completion).seq}`);
  });

  test('`astrid replay` after deleting the capsule trees restores installed capsules and KV exactly', async () => {
    await using dir = await tempDir();
    const home = await homeWithCapsules(dir.path, built);
    {
      await using run = await startRun(home);
      await runCliJson(home, ['bus', 'publish', 'client.start', JSON.stringify({ target: 5 })]);
      await runCliJson(home, ['bus', 'subscribe', 'client.done', '--from', '1', '--count', '1'], { timeoutMs: 120_000 });
      await stopRun(run);
    }
    const capsulesRoot = join(home, 'capsules');
    const filesBefore = await Promise.all(CAPSULES.map((id) => snapshot(join(capsulesRoot, id))));
    const kvBefore = await runCliJson<{ entries: unknown }>(home, ['projection', 'show', 'kv']);
    const listBefore = await runCliJson<{ capsules: unknown[] }>(home, ['capsule', 'list']);

    await rm(capsulesRoot, { recursive: true, force: true });
    const replayed = await runCli(home, ['replay']);
    const filesAfter = await Promise.all(CAPSULES.map((id) => snapshot(join(capsulesRoot, id))));
    const kvAfter = await runCliJson<{ entries: unknown }>(home, ['projection', 'show', 'kv']);
    const listAfter = await runCliJson<{ capsules: unknown[] }>(home, ['capsule', 'list']);

    assert.equal(replayed.code, 0, replayed.stderr);
    assert.ok(filesBefore.every((files) => files.some((f) => f.startsWith('Capsule.toml ')) && files.some((f) => /\.wasm /.test(f))));
    assert.deepEqual(filesAfter, filesBefore);
    assert.deepEqual(kvAfter.entries, kvBefore.entries);
    assert.equal(kvValue(kvAfter.entries as Array<[string, unknown]>, 'capsule-counter/count'), '5');
    assert.deepEqual(listAfter.capsules, listBefore.capsules);
    assert.equal(listAfter.capsules.length, 2);
  });
});
