import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { open } from 'lmdb';
import type { PublishResult } from '../../commands/bus/publish.ts';
import type { HashedEvent } from '../../kernel/events/index.ts';
import type { ProjectionStatus } from '../../kernel/projection/index.ts';
import { tempDir } from '../support/temp-dir.ts';
import { assertBuilt, astrid, failsWith, okJson, startDaemon, type CliError, type CliRun } from './run-cli.ts';

assertBuilt();

const MiB = 1024 * 1024;

/** What a home's log holds: every event (the logs here are small) and the bytes of the LMDB file. */
interface LogState {
  readonly events: readonly HashedEvent[];
  readonly fileSha256: string;
}

async function fileSha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

async function logState(home: string): Promise<LogState> {
  const events = okJson<HashedEvent[]>(await astrid(['log', 'show', '--from', '1', '--limit', '10000'], { home }));
  return { events, fileSha256: await fileSha256(join(home, 'log.mdb')) };
}

/** Asserts that nothing was written: the same events, and not one byte of the log file changed. */
async function assertUnchanged(home: string, before: LogState): Promise<void> {
  const after = await logState(home);
  assert.equal(after.events.at(-1)?.seq, before.events.at(-1)?.seq, 'the log head moved');
  assert.deepEqual(after.events, before.events);
  assert.equal(after.fileSha256, before.fileSha256, 'the log file changed');
}

/** A fresh home with a few events. */
async function seededHome(root: string): Promise<string> {
  const home = join(root, 'home');
  okJson(await astrid(['init'], { home }));
  okJson(await astrid(['bus', 'publish', 'seed.msg', '{"n":1}'], { home }));
  okJson(await astrid(['kv', 'set', 'notes', 'greeting', '"hello"'], { home }));
  okJson(await astrid(['route', 'set', 'orchestrator', 'my-orchestrator'], { home }));
  return home;
}

/** The names in a directory, sorted. */
async function listing(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** One refused command: its arguments, the code and exit code it must fail with, and extra checks. */
interface BadCase {
  readonly name: string;
  readonly args: readonly string[];
  readonly stdin?: string;
  readonly code: string;
  readonly exit: number;
  readonly check?: (error: CliError, head: number) => void;
}

const detailsPath = (path: string) => (error: CliError) => assert.equal(error.details?.['path'], path);

const badCases: readonly BadCase[] = [
  ...([
    ['an empty token', 'agent..response'],
    ['an empty first token', '.agent'],
    ['nothing in it', ''],
    ['the wildcard "*"', 'agent.*'],
    ['the wildcard ">"', 'agent.>'],
    ['a space', 'agent response'],
    ['a tab', 'agent.\tresponse'],
    ['302 bytes', `a.${'x'.repeat(300)}`],
    ['40 tokens', Array.from({ length: 40 }, () => 'a').join('.')],
  ] as const).map(([name, subject]): BadCase => ({
    name: `bus publish to a subject with ${name}`,
    args: ['bus', 'publish', subject, '{"n":2}'],
    code: 'SUBJECT_INVALID',
    exit: 2,
    check: (error) => assert.equal(typeof error.details?.['reason'], 'string'),
  })),
  { name: 'bus subscribe to an invalid pattern', args: ['bus', 'subscribe', 'agent.>.x', '--from', '0', '--count', '1'], code: 'PATTERN_INVALID', exit: 2 },
  { name: 'bus publish of invalid JSON', args: ['bus', 'publish', 'a.b', '{"n":'], code: 'PAYLOAD_INVALID', exit: 2, check: (e) => assert.match(e.message, /payload/) },
  { name: 'kv set of invalid JSON', args: ['kv', 'set', 'notes', 'k', '{x'], code: 'PAYLOAD_INVALID', exit: 2, check: (e) => assert.match(e.message, /value/) },
  { name: 'kv set of a bare word', args: ['kv', 'set', 'notes', 'k', 'hello'], code: 'PAYLOAD_INVALID', exit: 2, check: (e) => assert.match(e.message, /value/) },
  {
    name: 'bus publish --stdin with invalid JSON on line 3',
    args: ['bus', 'publish', 'a.b', '--stdin'],
    stdin: '{"n":1}\n{"n":2}\n{"n":3\n{"n":4}\n',
    code: 'PAYLOAD_INVALID',
    exit: 2,
    check: (e) => assert.match(e.message, /line 3/),
  },
  {
    name: 'bus publish of an agent_response without is_final',
    args: ['bus', 'publish', 'agent.v1.response', '{"type":"agent_response","text":"hi"}'],
    code: 'PAYLOAD_INVALID',
    exit: 2,
    check: (e) => assert.deepEqual(e.details, { type: 'agent_response', path: 'is_final' }),
  },
  {
    name: 'bus publish of an approval_required with an unknown risk level',
    args: ['bus', 'publish', 'approval.v1.required', '{"type":"approval_required","request_id":"r1","action":"x","resource":"y","reason":"z","risk_level":"extreme"}'],
    code: 'PAYLOAD_INVALID',
    exit: 2,
    check: detailsPath('risk_level'),
  },
  {
    name: 'bus publish of a payload one byte over 1 MiB',
    args: ['bus', 'publish', 'big.blob', '--stdin'],
    // A JSON string of n characters is n + 2 bytes once serialized.
    stdin: `${JSON.stringify('a'.repeat(MiB - 1))}\n`,
    code: 'PAYLOAD_TOO_LARGE',
    exit: 5,
    check: (e) => assert.deepEqual([e.details?.['limit'], e.details?.['bytes']], [MiB, MiB + 1]),
  },
  { name: 'kv set in an invalid namespace', args: ['kv', 'set', 'Bad NS', 'k', '1'], code: 'EVENT_INVALID', exit: 2, check: detailsPath('namespace') },
  { name: 'kv set of a key with a control character', args: ['kv', 'set', 'notes', 'a\u0001b', '1'], code: 'EVENT_INVALID', exit: 2, check: detailsPath('key') },
  { name: 'route set of an invalid role', args: ['route', 'set', 'Orchestrator', 'x'], code: 'EVENT_INVALID', exit: 2, check: detailsPath('role') },
  { name: 'route set of an invalid capsule id', args: ['route', 'set', 'orchestrator', 'Not_A_Capsule'], code: 'EVENT_INVALID', exit: 2, check: detailsPath('capsuleId') },
  ...[['projection', 'show', 'nope'], ['projection', 'show', 'nope', '--at', '1'], ['replay', '--projection', 'kv', '--projection', 'nope']].map(
    (args): BadCase => ({ name: args.join(' '), args, code: 'PROJECTION_UNKNOWN', exit: 2, check: (e) => assert.deepEqual(e.details, { name: 'nope' }) }),
  ),
  {
    name: 'replay --until past the head',
    args: ['replay', '--until', '5'],
    code: 'INVALID_ARGUMENT',
    exit: 2,
    check: (e, head) => assert.deepEqual(e.details, { until: 5, head }),
  },
  {
    name: 'projection show --at past the head',
    args: ['projection', 'show', 'kv', '--at', '999'],
    code: 'INVALID_ARGUMENT',
    exit: 2,
    check: (e, head) => assert.deepEqual(e.details, { at: 999, head }),
  },
  { name: 'replay --until -1', args: ['replay', '--until', '-1'], code: 'INVALID_ARGUMENT', exit: 2 },
];

test('`astrid` refuses bad input on a home with a clear coded error and writes nothing, with and without a daemon', async (t) => {
  await using dir = await tempDir('astrid-e2e-');
  const home = await seededHome(dir.path);
  const before = await logState(home);
  const head = before.events.at(-1)?.seq ?? 0;
  const projections = okJson<{ projections: ProjectionStatus[] }>(await astrid(['projection', 'list'], { home }));
  const runs = new Map<BadCase, CliRun>();

  for (const c of badCases) {
    await t.test(`refuses ${c.name} with ${c.code}`, async () => {
      const run = await astrid(c.args, { home, ...(c.stdin === undefined ? {} : { stdin: c.stdin }) });
      runs.set(c, run);

      const error = failsWith(run, c.code, c.exit);
      c.check?.(error, head);
    });
  }
  await t.test('left the log and the projections untouched', async () => {
    assert.deepEqual(okJson<{ projections: ProjectionStatus[] }>(await astrid(['projection', 'list'], { home })), projections);
    await assertUnchanged(home, before);
  });
  await t.test('gives the same errors through a daemon', async () => {
    await using _daemon = await startDaemon(home);

    const through = await Promise.all(badCases.map((c) => astrid(c.args, { home, ...(c.stdin === undefined ? {} : { stdin: c.stdin }) })));

    for (const [i, c] of badCases.entries()) {
      const alone = runs.get(c);
      assert.equal(through[i]?.code, alone?.code, c.name);
      assert.equal(through[i]?.stdout, alone?.stdout, c.name);
    }
    assert.deepEqual(okJson<{ projections: ProjectionStatus[] }>(await astrid(['projection', 'list'], { home })), projections);
    await assertUnchanged(home, before);
  });
  await t.test('accepts a payload of exactly 1 MiB', async () => {
    const accepted = okJson<PublishResult>(await astrid(['bus', 'publish', 'big.blob', '--stdin'], { home, stdin: `${JSON.stringify('a'.repeat(MiB - 2))}\n` }));

    assert.equal(accepted.first?.seq, head + 1);
  });
});

test('`astrid bus publish --stdin` writes nothing when a line past the first thousand is refused', async () => {
  await using dir = await tempDir('astrid-e2e-');
  const home = await seededHome(dir.path);
  const before = await logState(home);
  const good = Array.from({ length: 1199 }, (_, i) => JSON.stringify({ n: i + 1 }));
  const input = [...good, '{"type":"agent_response","text":"no is_final"}', ''].join('\n');

  const run = await astrid(['bus', 'publish', 'load.test', '--stdin'], { home, stdin: input });

  // The command's own contract: "the whole input is checked before anything is published".
  failsWith(run, 'PAYLOAD_INVALID', 2);
  await assertUnchanged(home, before);
});

test('`astrid` refuses a directory that is not an Astrid home and creates nothing in it', async () => {
  await using dir = await tempDir('astrid-e2e-');
  const notHome = join(dir.path, 'not-a-home');
  await mkdir(notHome);
  await writeFile(join(notHome, 'notes.txt'), 'mine\n');
  const missing = join(dir.path, 'missing');
  const commands: ReadonlyArray<readonly string[]> = [['kv', 'get', 'notes', 'k'], ['bus', 'publish', 'a.b', '1'], ['log', 'verify'], ['daemon', 'start'], ['replay']];

  const inNotHome = await Promise.all(commands.map((args) => astrid(args, { home: notHome })));
  const inMissing = await Promise.all(commands.map((args) => astrid(args, { home: missing })));
  const init = await astrid(['init'], { home: notHome });

  for (const run of inNotHome) assert.match(failsWith(run, 'HOME_NOT_INITIALIZED', 3).message, /is not an Astrid home/);
  for (const run of inMissing) assert.match(failsWith(run, 'HOME_NOT_INITIALIZED', 3).message, /does not exist/);
  failsWith(init, 'HOME_INVALID', 3);
  assert.deepEqual(await listing(notHome), ['notes.txt']);
  assert.deepEqual(await listing(dir.path), ['not-a-home']);
});

test('`astrid` refuses a log written in a newer format with LOG_FORMAT_UNSUPPORTED and writes nothing', async () => {
  await using dir = await tempDir('astrid-e2e-');
  const home = await seededHome(dir.path);
  const logPath = join(home, 'log.mdb');
  const raw = open({ path: logPath, maxDbs: 64 });
  const meta = raw.openDB<{ version: number; origin: string }, string>('meta', { encoding: 'json' });
  const format = meta.get('format');
  assert.ok(format !== undefined);
  await meta.put('format', { ...format, version: 99 });
  await raw.close();
  const fileBefore = await fileSha256(logPath);

  const runs: CliRun[] = [];
  for (const args of [['log', 'show'], ['bus', 'publish', 'a.b', '{"n":2}'], ['kv', 'set', 'notes', 'k', '1'], ['replay'], ['log', 'verify']]) {
    runs.push(await astrid(args, { home }));
  }
  const daemon = await astrid(['daemon', 'start'], { home });

  for (const run of runs) {
    const error = failsWith(run, 'LOG_FORMAT_UNSUPPORTED', 3);
    assert.deepEqual(error.details, { format: 99, supported: 1 });
  }
  assert.notEqual(daemon.code, 0);
  assert.match(daemon.stderr, /LOG_FORMAT_UNSUPPORTED/);
  assert.equal(await fileSha256(logPath), fileBefore, 'the log file changed');
  const reopened = open({ path: logPath, maxDbs: 64, readOnly: true });
  try {
    const events = reopened.openDB<string, number>('events', { encoding: 'string' });
    assert.deepEqual([...events.getKeys()], [1, 2, 3, 4]);
  } finally {
    await reopened.close();
  }
});

test('`astrid` refuses a home.json that is garbage, malformed or from a newer format with HOME_INVALID', async (t) => {
  await using dir = await tempDir('astrid-e2e-');
  const home = await seededHome(dir.path);
  const markerPath = join(home, 'home.json');
  const marker = JSON.parse(await readFile(markerPath, 'utf8')) as { format: number; origin: string; createdAt: string };
  const fileBefore = await fileSha256(join(home, 'log.mdb'));
  const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['garbage', 'garbage{\n', /not valid JSON/],
    ['empty', '', /not valid JSON/],
    ['missing its origin', '{"format":1,"createdAt":"2024-01-01T00:00:00.000Z"}\n', /origin/],
    ['a newer format', `${JSON.stringify({ ...marker, format: 99 })}\n`, /format 99/],
  ];

  for (const [name, text, message] of cases) {
    await t.test(`refuses a home.json that is ${name}`, async () => {
      await writeFile(markerPath, text);

      const runs = await Promise.all([['kv', 'get', 'notes', 'greeting'], ['bus', 'publish', 'a.b', '1'], ['daemon', 'start'], ['init']].map((args) => astrid(args, { home })));

      for (const run of runs) assert.match(failsWith(run, 'HOME_INVALID', 3).message, message);
      assert.equal(await readFile(markerPath, 'utf8'), text, 'home.json was rewritten');
    });
  }
  assert.equal(await fileSha256(join(home, 'log.mdb')), fileBefore, 'the log file changed');
});
