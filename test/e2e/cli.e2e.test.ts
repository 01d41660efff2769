import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PublishResult } from '../../commands/bus/publish.ts';
import type { DaemonStartResult } from '../../commands/daemon/start.ts';
import type { DaemonStatusResult } from '../../commands/daemon/status.ts';
import type { DaemonStopResult } from '../../commands/daemon/stop.ts';
import type { InitResult } from '../../commands/init.ts';
import type { KvListResult } from '../../commands/kv/list.ts';
import type { RouteListResult } from '../../commands/route/list.ts';
import type { HashedEvent } from '../../kernel/events/index.ts';
import type { VerifyReport } from '../../kernel/log/index.ts';
import type { ProjectionStatus } from '../../kernel/projection/index.ts';
import type { BusMessage, ProjectionPage, ReplayResult } from '../../kernel/service/index.ts';
import type { KvEntry } from '../../projections/index.ts';
import { tempDir } from '../support/temp-dir.ts';
import { assertBuilt, astrid, failsWith, type CliRun, isAlive, okJson, okNdjson, repoDir, startAstrid, startDaemon } from './run-cli.ts';

assertBuilt();

type Shown = ProjectionPage & { name: string };
type ProjectionListResult = { head: number; projections: ProjectionStatus[] };

const LOAD_LINES = 5000;
const loadInput = Array.from({ length: LOAD_LINES }, (_, i) => JSON.stringify({ n: i + 1 })).join('\n') + '\n';

/** Every `astrid` command id, read from the compiled command tree. */
async function commandIds(): Promise<string[]> {
  const root = join(repoDir, 'dist', 'commands');
  const ids: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('_')) await walk(path);
      } else if (entry.name.endsWith('.js') && !entry.name.endsWith('.test.js')) {
        const parts = relative(root, path).slice(0, -'.js'.length).split(sep);
        if (parts.at(-1) === 'index') parts.pop();
        ids.push(parts.join(' '));
      }
    }
  };
  await walk(root);
  return ids.sort();
}

test('`astrid <command> --help` shows usage and examples for every command', async () => {
  const ids = await commandIds();

  const runs = await Promise.all(ids.map((id) => astrid([...id.split(' '), '--help'], { json: false })));

  for (const id of ['init', 'bus publish', 'bus subscribe', 'kv set', 'kv get', 'kv delete', 'kv list', 'route set', 'route list', 'route remove',
    'log show', 'log tail', 'log verify', 'replay', 'projection show', 'projection list', 'daemon', 'daemon start', 'daemon status', 'daemon stop']) {
    assert.ok(ids.includes(id), `command "${id}" is missing from dist/commands`);
  }
  for (const [i, run] of runs.entries()) {
    const id = ids[i] ?? '';
    assert.equal(run.code, 0, `astrid ${id} --help exited ${run.code}: ${run.stderr}`);
    assert.match(run.stdout, /^USAGE$/m, `astrid ${id} --help has no USAGE`);
    assert.match(run.stdout, /^EXAMPLES$/m, `astrid ${id} --help has no EXAMPLES`);
    assert.ok(run.stdout.includes(`$ astrid ${id}`), `astrid ${id} --help has no example of itself`);
  }
});

test('the `astrid` user tour of issue #2 works end to end, with and without a daemon', async (t) => {
  await using dir = await tempDir('astrid-e2e-');
  const home = join(dir.path, 'home');
  const cli = (args: readonly string[], stdin?: string) => astrid(args, { home, ...(stdin === undefined ? {} : { stdin }) });
  let origin = '';

  await t.test('`astrid init` creates the home with event 1 and is harmless when run again', async () => {
    const first = okJson<InitResult>(await cli(['init']));
    const second = okJson<InitResult>(await cli(['init']));

    assert.equal(first.created, true);
    assert.equal(first.head, 1);
    assert.match(first.origin, /^[a-z0-9]{4,32}$/);
    assert.deepEqual(second, { ...first, created: false });
    origin = first.origin;
  });

  await t.test('`astrid bus publish` appends a standard payload durably and answers with its seq', async () => {
    const result = okJson<PublishResult>(await cli(['bus', 'publish', 'agent.v1.response', '{"type":"agent_response","text":"hi","is_final":true}']));

    const receipt = { seq: 2, id: `${origin}:2`, subject: 'agent.v1.response', kind: 'agent_response' };
    assert.deepEqual(result, { published: 1, first: receipt, last: receipt });
  });

  await t.test('`astrid kv` sets, gets, lists by prefix and deletes values', async () => {
    const set1 = okJson<{ seq: number }>(await cli(['kv', 'set', 'notes', 'greeting', '"hello"']));
    const set2 = okJson<{ seq: number }>(await cli(['kv', 'set', 'notes', 'greet2', '{"a":[1,2]}']));
    const set3 = okJson<{ seq: number }>(await cli(['kv', 'set', 'other', 'x', '1']));
    const got = okJson<KvEntry>(await cli(['kv', 'get', 'notes', 'greeting']));
    const listed = okJson<KvListResult>(await cli(['kv', 'list', 'notes']));
    const byPrefix = okJson<KvListResult>(await cli(['kv', 'list', 'notes', '--prefix', 'greeti']));
    const deleted = okJson<{ seq: number }>(await cli(['kv', 'delete', 'notes', 'greet2']));
    const gone = failsWith(await cli(['kv', 'get', 'notes', 'greet2']), 'NOT_FOUND', 4);
    const after = okJson<KvListResult>(await cli(['kv', 'list', 'notes']));

    assert.deepEqual([set1.seq, set2.seq, set3.seq, deleted.seq], [3, 4, 5, 6]);
    assert.deepEqual(got, { namespace: 'notes', key: 'greeting', value: 'hello', seq: 3 });
    assert.deepEqual(listed.entries, [
      { namespace: 'notes', key: 'greet2', value: { a: [1, 2] }, seq: 4 },
      { namespace: 'notes', key: 'greeting', value: 'hello', seq: 3 },
    ]);
    assert.deepEqual(byPrefix.entries.map((e) => e.key), ['greeting']);
    assert.deepEqual(gone.details, { namespace: 'notes', key: 'greet2' });
    assert.deepEqual(after.entries.map((e) => e.key), ['greeting']);
  });

  await t.test('`astrid route` sets, lists and removes routes', async () => {
    okJson(await cli(['route', 'set', 'orchestrator', 'my-orchestrator']));
    okJson(await cli(['route', 'set', 'llm.anthropic', 'anthropic-provider']));
    const both = okJson<RouteListResult>(await cli(['route', 'list']));
    const removed = okJson<{ role: string; seq: number }>(await cli(['route', 'remove', 'llm.anthropic']));
    const one = okJson<RouteListResult>(await cli(['route', 'list']));

    assert.deepEqual(both.routes, [
      { role: 'llm.anthropic', capsuleId: 'anthropic-provider', seq: 8 },
      { role: 'orchestrator', capsuleId: 'my-orchestrator', seq: 7 },
    ]);
    assert.deepEqual(removed, { role: 'llm.anthropic', seq: 9 });
    assert.deepEqual(one.routes, [{ role: 'orchestrator', capsuleId: 'my-orchestrator', seq: 7 }]);
  });

  await t.test('`astrid bus publish --stdin` publishes one payload per line, 5000 lines in order', async () => {
    const result = okJson<PublishResult>(await cli(['bus', 'publish', 'load.test', '--stdin'], loadInput));

    assert.equal(result.published, LOAD_LINES);
    assert.deepEqual(result.first, { seq: 10, id: `${origin}:10`, subject: 'load.test', kind: 'custom' });
    assert.deepEqual(result.last, { seq: 5009, id: `${origin}:5009`, subject: 'load.test', kind: 'custom' });
  });

  await t.test('`astrid bus subscribe --from 0 --count N --json` prints the matching messages as NDJSON', async () => {
    const load = okNdjson<BusMessage>(await cli(['bus', 'subscribe', 'load.*', '--from', '0', '--count', String(LOAD_LINES)]));
    const agent = okNdjson<BusMessage>(await cli(['bus', 'subscribe', 'agent.>', '--from', '0', '--count', '1']));

    assert.equal(load.length, LOAD_LINES);
    assert.deepEqual(load.map((m) => m.seq), Array.from({ length: LOAD_LINES }, (_, i) => 10 + i));
    assert.deepEqual(load.map((m) => m.payload), Array.from({ length: LOAD_LINES }, (_, i) => ({ n: i + 1 })));
    assert.ok(load.every((m) => m.subject === 'load.test' && m.kind === 'custom' && m.source === 'user:cli'));
    assert.equal(agent.length, 1);
    assert.deepEqual({ ...agent[0], ts: 0 }, {
      seq: 2, id: `${origin}:2`, ts: 0, source: 'user:cli', subject: 'agent.v1.response', kind: 'agent_response',
      payload: { type: 'agent_response', text: 'hi', is_final: true, session_id: 'default' },
    });
  });

  await t.test('`astrid log show --from --limit --json` prints envelopes in order with an intact chain', async () => {
    okJson(await cli(['kv', 'set', 'notes', 'greeting', '"changed"']));
    okJson(await cli(['route', 'set', 'orchestrator', 'other-orchestrator']));

    const head = okJson<HashedEvent[]>(await cli(['log', 'show', '--from', '1', '--limit', '20']));
    const tail = okJson<HashedEvent[]>(await cli(['log', 'show', '--from', '5005', '--limit', '20']));

    assert.deepEqual(head.map((e) => e.seq), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.deepEqual(head.slice(0, 10).map((e) => e.type), [
      'home.initialized', 'bus.message.published', 'kv.value.set', 'kv.value.set', 'kv.value.set', 'kv.value.deleted',
      'route.assigned', 'route.assigned', 'route.removed', 'bus.message.published',
    ]);
    assert.equal(head[0]?.prev, '0'.repeat(64));
    for (const [i, e] of head.entries()) {
      assert.equal(e.id, `${origin}:${e.seq}`);
      assert.equal(e.origin, origin);
      assert.match(e.hash, /^[0-9a-f]{64}$/);
      if (i > 0) assert.equal(e.prev, head[i - 1]?.hash);
    }
    assert.deepEqual(tail.map((e) => e.seq), [5005, 5006, 5007, 5008, 5009, 5010, 5011]);
    assert.deepEqual(tail.at(-2)?.data, { namespace: 'notes', key: 'greeting', value: 'changed' });
  });

  await t.test('`astrid log tail` prints stored events with --from and follows new ones as they are appended', async () => {
    const stored = okNdjson<HashedEvent>(await cli(['log', 'tail', '--from', '1', '--count', '3']));
    const firstThree = okJson<HashedEvent[]>(await cli(['log', 'show', '--from', '1', '--limit', '3']));
    await using follower = startAstrid(['log', 'tail', '--from', '5012', '--count', '2'], { home, timeoutMs: 60_000 });
    // Wait until the follower owns the home (no daemon runs), so the publishes below reach it live.
    for (let i = 0; i < 400; i++) {
      const status = JSON.parse((await cli(['daemon', 'status'])).stdout) as DaemonStatusResult;
      if (status.owner?.pid === follower.pid) break;
      await sleep(25);
    }

    okJson(await cli(['bus', 'publish', 'tail.test', '{"live":1}']));
    okJson(await cli(['bus', 'publish', 'tail.test', '{"live":2}']));
    const live = okNdjson<HashedEvent>(await follower.done);

    assert.deepEqual(stored, firstThree);
    assert.deepEqual(live.map((e) => [e.seq, e.subject, e.data]), [
      [5012, 'tail.test', { kind: 'custom', payload: { live: 1 } }],
      [5013, 'tail.test', { kind: 'custom', payload: { live: 2 } }],
    ]);
  });

  await t.test('`astrid log verify` walks the whole chain', async () => {
    const report = okJson<VerifyReport>(await cli(['log', 'verify']));

    assert.deepEqual(report, { ok: true, checked: 5013, head: 5013, firstBad: null });
  });

  await t.test('`astrid replay` rebuilds every projection to the same state', async () => {
    const kvBefore = okJson<Shown>(await cli(['projection', 'show', 'kv']));
    const routesBefore = okJson<Shown>(await cli(['projection', 'show', 'routes']));

    const result = okJson<ReplayResult>(await cli(['replay']));
    const kvAfter = okJson<Shown>(await cli(['projection', 'show', 'kv']));
    const routesAfter = okJson<Shown>(await cli(['projection', 'show', 'routes']));

    assert.equal(result.head, 5013);
    assert.equal(result.until, null);
    assert.ok(result.projections.length >= 2);
    assert.ok(result.projections.every((p) => p.checkpoint === 5013 && p.pinnedAt === null), JSON.stringify(result));
    assert.deepEqual(kvAfter, kvBefore);
    assert.deepEqual(routesAfter, routesBefore);
    assert.deepEqual(kvAfter.entries, [
      ['notes/greeting', { value: 'changed', seq: 5010 }],
      ['other/x', { value: 1, seq: 5 }],
    ]);
  });

  await t.test('`astrid replay --until 42` freezes projections at 42 until a full replay', async () => {
    const expected42 = okJson<Shown>(await cli(['projection', 'show', 'kv', '--at', '42']));

    const pinned = okJson<ReplayResult>(await cli(['replay', '--until', '42']));
    const frozen = okJson<Shown>(await cli(['projection', 'show', 'kv']));
    const frozenList = okJson<ProjectionListResult>(await cli(['projection', 'list']));
    okJson(await cli(['kv', 'set', 'notes', 'frozen', 'true']));
    const stillFrozen = okJson<Shown>(await cli(['projection', 'show', 'kv']));
    const unpinned = okJson<ReplayResult>(await cli(['replay']));
    const live = okJson<Shown>(await cli(['projection', 'show', 'kv']));

    assert.equal(pinned.until, 42);
    assert.ok(pinned.projections.every((p) => p.checkpoint === 42 && p.pinnedAt === 42), JSON.stringify(pinned));
    assert.deepEqual(frozen.entries, [
      ['notes/greeting', { value: 'hello', seq: 3 }],
      ['other/x', { value: 1, seq: 5 }],
    ]);
    assert.deepEqual(frozen.entries, expected42.entries);
    assert.deepEqual([frozen.asOf, frozen.head, frozen.status.pinnedAt, frozen.status.checkpoint], [42, 5013, 42, 42]);
    assert.ok(frozenList.projections.every((p) => p.pinnedAt === 42));
    assert.deepEqual(stillFrozen.entries, frozen.entries);
    assert.deepEqual([stillFrozen.asOf, stillFrozen.head], [42, 5014]);
    assert.ok(unpinned.projections.every((p) => p.checkpoint === 5014 && p.pinnedAt === null), JSON.stringify(unpinned));
    assert.deepEqual(live.entries, [
      ['notes/frozen', { value: true, seq: 5014 }],
      ['notes/greeting', { value: 'changed', seq: 5010 }],
      ['other/x', { value: 1, seq: 5 }],
    ]);
    assert.deepEqual([live.asOf, live.status.pinnedAt], [5014, null]);
  });

  await t.test('`astrid projection show routes --at N` computes the state as of seq N', async () => {
    const at10 = okJson<Shown>(await cli(['projection', 'show', 'routes', '--at', '10']));
    const at8 = okJson<Shown>(await cli(['projection', 'show', 'routes', '--at', '8']));
    const now = okJson<Shown>(await cli(['projection', 'show', 'routes']));

    assert.deepEqual([at10.name, at10.asOf, at10.head], ['routes', 10, 5014]);
    assert.deepEqual(at10.entries, [['orchestrator', { capsuleId: 'my-orchestrator', seq: 7 }]]);
    assert.deepEqual(at8.entries, [
      ['llm.anthropic', { capsuleId: 'anthropic-provider', seq: 8 }],
      ['orchestrator', { capsuleId: 'my-orchestrator', seq: 7 }],
    ]);
    assert.deepEqual(now.entries, [['orchestrator', { capsuleId: 'other-orchestrator', seq: 5011 }]]);
    assert.equal(now.status.pinnedAt, null);
  });

  await t.test('`astrid projection list` names every projection with its checkpoint', async () => {
    const list = okJson<ProjectionListResult>(await cli(['projection', 'list']));

    assert.equal(list.head, 5014);
    assert.ok(list.projections.some((p) => p.name === 'kv') && list.projections.some((p) => p.name === 'routes'), JSON.stringify(list));
    assert.ok(list.projections.every((p) => p.checkpoint === 5014 && p.pinnedAt === null && p.version >= 1), JSON.stringify(list));
  });

  await t.test('`astrid daemon` starts, owns the home, gives identical results, takes writes and stops', async () => {
    const reads: ReadonlyArray<readonly string[]> = [
      ['kv', 'get', 'notes', 'greeting'],
      ['kv', 'list', 'notes'],
      ['route', 'list'],
      ['log', 'show', '--from', '1', '--limit', '30'],
      ['log', 'show', '--from', '5000', '--limit', '30'],
      ['log', 'tail', '--from', '5008', '--count', '4'],
      ['log', 'verify'],
      ['projection', 'show', 'kv'],
      ['projection', 'show', 'routes', '--at', '10'],
      ['projection', 'list'],
      ['bus', 'subscribe', 'agent.>', '--from', '0', '--count', '1'],
      ['bus', 'subscribe', 'tail.*', '--from', '0', '--count', '2'],
    ];
    // One at a time: without a daemon each command owns the home for its own duration.
    const without: CliRun[] = [];
    for (const args of reads) without.push(await cli(args));
    const noDaemon = await cli(['daemon', 'status']);

    await using daemon = await startDaemon(home);
    const status = okJson<DaemonStatusResult>(await cli(['daemon', 'status']));
    const withDaemon = await Promise.all(reads.map((args) => cli(args)));
    const again = okJson<DaemonStartResult>(await cli(['daemon', 'start']));
    const set = okJson<{ seq: number }>(await cli(['kv', 'set', 'notes', 'via-daemon', '"yes"']));
    const published = okJson<PublishResult>(await cli(['bus', 'publish', 'load.daemon', '--stdin'], loadInput.split('\n').slice(0, 100).join('\n')));
    const afterWrites = okJson<DaemonStatusResult>(await cli(['daemon', 'status']));
    const stopped = okJson<DaemonStopResult>(await cli(['daemon', 'stop']));
    const after = await cli(['daemon', 'status']);
    const verified = okJson<VerifyReport>(await cli(['log', 'verify']));
    const kept = okJson<KvEntry>(await cli(['kv', 'get', 'notes', 'via-daemon']));

    const noDaemonStatus = JSON.parse(noDaemon.stdout) as DaemonStatusResult;
    assert.equal(noDaemon.code, 7);
    assert.deepEqual(noDaemonStatus, { running: false, status: null, owner: null });
    assert.equal(status.running, true);
    assert.equal(status.status?.role, 'daemon');
    assert.equal(status.status?.pid, daemon.pid);
    assert.equal(status.status?.home, home);
    assert.equal(status.status?.origin, origin);
    assert.equal(status.status?.head.seq, 5014);
    for (const [i, args] of reads.entries()) {
      assert.equal(withDaemon[i]?.code, without[i]?.code, `astrid ${args.join(' ')}`);
      assert.equal(withDaemon[i]?.stdout, without[i]?.stdout, `astrid ${args.join(' ')} differs through the daemon`);
    }
    assert.deepEqual(again, { pid: daemon.pid, alreadyRunning: true, log: join(home, 'run', 'daemon.log') });
    assert.equal(set.seq, 5015);
    assert.deepEqual([published.published, published.first?.seq, published.last?.seq], [100, 5016, 5115]);
    assert.equal(afterWrites.status?.head.seq, 5115);
    assert.equal(afterWrites.status?.pid, daemon.pid);
    assert.deepEqual(stopped, { stopped: true, pid: daemon.pid });
    assert.equal(isAlive(daemon.pid), false);
    assert.equal(after.code, 7);
    assert.equal((JSON.parse(after.stdout) as DaemonStatusResult).running, false);
    assert.deepEqual(verified, { ok: true, checked: 5115, head: 5115, firstBad: null });
    assert.deepEqual(kept, { namespace: 'notes', key: 'via-daemon', value: 'yes', seq: 5015 });
  });
});

test('`astrid` commands started at once on a home without a daemon all succeed with the same answer', async () => {
  await using dir = await tempDir('astrid-e2e-');
  const home = join(dir.path, 'home');
  okJson(await astrid(['init'], { home }));
  okJson(await astrid(['kv', 'set', 'notes', 'greeting', '"hello"'], { home }));

  // Each command either owns the home for its duration or waits for the one that does.
  const runs = await Promise.all(Array.from({ length: 12 }, () => astrid(['kv', 'get', 'notes', 'greeting'], { home })));

  for (const run of runs) assert.deepEqual(okJson<KvEntry>(run), { namespace: 'notes', key: 'greeting', value: 'hello', seq: 2 });
});

test('`astrid bus publish --stdin` beyond the rate quota is slowed to it, not refused, and loses nothing', async () => {
  await using dir = await tempDir('astrid-e2e-');
  const home = join(dir.path, 'home');
  okJson<InitResult>(await astrid(['init'], { home }));
  // The default quota lets 20,000 messages through at once, then 20,000 a second.
  const lines = 32_000;
  const input = Array.from({ length: lines }, (_, i) => JSON.stringify({ n: i + 1 })).join('\n') + '\n';
  const result = okJson<PublishResult>(await astrid(['bus', 'publish', 'paced.test', '--stdin'], { home, stdin: input }));

  assert.equal(result.published, lines);
  assert.equal(result.first?.seq, 2);
  assert.equal(result.last?.seq, lines + 1);
  const seen = okNdjson<BusMessage>(await astrid(['bus', 'subscribe', 'paced.test', '--from', '0', '--count', String(lines)], { home }));
  assert.deepEqual(seen.map((m) => (m.payload as { n: number }).n), Array.from({ length: lines }, (_, i) => i + 1));
  assert.deepEqual(seen.map((m) => m.seq), Array.from({ length: lines }, (_, i) => i + 2));
});
