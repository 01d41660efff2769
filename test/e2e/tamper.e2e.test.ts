import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { open as openFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import * as lmdb from 'lmdb';
import type { HashedEvent } from '../../kernel/events/index.ts';
import type { VerifyReport } from '../../kernel/log/index.ts';
import { tempDir } from '../support/temp-dir.ts';
import { assertBuilt, astrid, okJson, type CliRun } from './run-cli.ts';

assertBuilt();

/*
 * These tests damage `log.mdb` on disk with same-length byte edits inside stored records (or,
 * once, inside a record's key), never touching LMDB page headers, node headers or sizes, so
 * the B-tree stays readable and only the hash chain can notice. LMDB keeps stale copies of
 * records in freed pages and in the free space of split pages, so every edit targets a
 * needle that occurs exactly once in the file: the one copy that must be the live record.
 */

const MESSAGES = 60;

/** How lmdb-js encodes a key (ordered-binary); exported at runtime, missing from its typings. */
const keyValueToBuffer = (lmdb as unknown as { keyValueToBuffer(key: number): Uint8Array }).keyValueToBuffer;

interface TamperHome {
  readonly home: string;
  readonly logPath: string;
  /** Every event of the log, read through the CLI before the damage. */
  readonly events: readonly HashedEvent[];
  /** The payload marker of each bus message, by seq. */
  readonly markers: ReadonlyMap<number, string>;
}

/** A home with event 1 and MESSAGES bus messages (seqs 2…MESSAGES+1) with unique markers; nothing runs afterwards. */
async function tamperHome(root: string): Promise<TamperHome> {
  const home = join(root, 'home');
  okJson(await astrid(['init'], { home }));
  const run = randomBytes(4).toString('hex');
  const lines = Array.from({ length: MESSAGES }, (_, i) => JSON.stringify({ marker: `mk-${String(i + 1).padStart(4, '0')}-${run}` }));
  okJson(await astrid(['bus', 'publish', 'tamper.test', '--stdin'], { home, stdin: `${lines.join('\n')}\n` }));
  const events = okJson<HashedEvent[]>(await astrid(['log', 'show', '--from', '1', '--limit', '1000'], { home }));
  const markers = new Map(events.slice(1).map((e) => [e.seq, (e.data as { payload: { marker: string } }).payload.marker] as const));
  assert.equal(events.length, MESSAGES + 1);
  assert.deepEqual(okJson<VerifyReport>(await astrid(['log', 'verify'], { home })).ok, true);
  return { home, logPath: join(home, 'log.mdb'), events, markers };
}

/** The offset of `needle` in `haystack` when it occurs exactly once, else null. */
function uniqueOffset(haystack: Buffer, needle: Buffer): number | null {
  const first = haystack.indexOf(needle);
  if (first === -1 || haystack.indexOf(needle, first + 1) !== -1) return null;
  return first;
}

/** The first seq, from the middle of the messages outwards, for which `pick` finds a unique target. */
function pickSeq<T>(t: TamperHome, pick: (seq: number) => T | null): { seq: number; target: T } {
  const middle = 2 + Math.floor(MESSAGES / 2);
  for (let d = 0; d < MESSAGES / 2 - 2; d++) {
    for (const seq of [middle + d, middle - d]) {
      const target = pick(seq);
      if (target !== null) return { seq, target };
    }
  }
  assert.fail('no stored event occurs exactly once in the file');
}

/** The start of the stored record of `seq` (its hash, then its body) when it occurs once. */
function recordOffset(file: Buffer, event: HashedEvent): number | null {
  return uniqueOffset(file, Buffer.from(`${event.hash}{"seq":${event.seq},`));
}

/** The stored record of `event` (hash ‖ body), given where it starts. */
function recordAt(file: Buffer, at: number, event: HashedEvent): Buffer {
  const tail = Buffer.from(`,"prev":"${event.prev}"}`);
  const end = file.indexOf(tail, at);
  assert.ok(end > at, `the record of seq ${event.seq} has no end`);
  return file.subarray(at, end + tail.length);
}

/** Overwrites bytes of a file in place (same length, no truncation). */
async function patch(path: string, at: number, bytes: Buffer): Promise<void> {
  const handle = await openFile(path, 'r+');
  try {
    const { bytesWritten } = await handle.write(bytes, 0, bytes.length, at);
    assert.equal(bytesWritten, bytes.length);
  } finally {
    await handle.close();
  }
}

function eventOf(t: TamperHome, seq: number): HashedEvent {
  const event = t.events[seq - 1];
  assert.ok(event !== undefined && event.seq === seq);
  return event;
}

/** Runs `log verify --json` and asserts it exited 6 with a report naming `seq` as the first bad one. */
function assertFirstBad(run: CliRun, seq: number, reason: RegExp): VerifyReport {
  assert.equal(run.code, 6, `log verify exited ${run.code}: ${run.stdout}\n${run.stderr}`);
  const report = JSON.parse(run.stdout) as VerifyReport;
  assert.equal(report.ok, false);
  assert.equal(report.firstBad?.seq, seq);
  assert.match(report.firstBad.reason, reason);
  assert.equal(report.checked, seq - 1);
  assert.equal(report.head, MESSAGES + 1);
  assert.ok(run.stderr.includes(`Error [LOG_CORRUPT]: Log damaged at seq ${seq}: `), run.stderr);
  assert.match(run.stderr, /^Hint: .+/m);
  return report;
}

test('`astrid log verify` names the event whose stored JSON had one byte changed', async () => {
  await using dir = await tempDir('astrid-e2e-');
  const t = await tamperHome(dir.path);
  const file = await readFile(t.logPath);
  const { seq, target } = pickSeq(t, (s) => uniqueOffset(file, Buffer.from(t.markers.get(s) ?? '\0')));

  // "mk-0031-…" becomes "mK-0031-…": still valid JSON, same length, another printable byte.
  await patch(t.logPath, target + 1, Buffer.from('K'));
  const json = await astrid(['log', 'verify'], { home: t.home });
  const human = await astrid(['log', 'verify'], { home: t.home, json: false });

  assertFirstBad(json, seq, /hash does not match/);
  assert.equal(human.code, 6);
  assert.ok(human.stderr.includes(`Error [LOG_CORRUPT]: Log damaged at seq ${seq}: hash does not match the stored event`), human.stderr);
});

test('`astrid log verify` names the event whose stored hash had one hex digit changed', async () => {
  await using dir = await tempDir('astrid-e2e-');
  const t = await tamperHome(dir.path);
  const file = await readFile(t.logPath);
  const { seq, target } = pickSeq(t, (s) => recordOffset(file, eventOf(t, s)));
  const digit = String.fromCharCode(file[target] ?? 0);

  await patch(t.logPath, target, Buffer.from(digit === '0' ? '1' : '0'));
  const run = await astrid(['log', 'verify'], { home: t.home });

  assertFirstBad(run, seq, /hash does not match/);
});

test('`astrid log verify` names the next event when a body is changed and its own hash recomputed', async () => {
  await using dir = await tempDir('astrid-e2e-');
  const t = await tamperHome(dir.path);
  const file = await readFile(t.logPath);
  // The next record must be the live one too, so that its `prev` is what gets checked.
  const { seq, target } = pickSeq(t, (s) => (s < MESSAGES + 1 && recordOffset(file, eventOf(t, s + 1)) !== null ? recordOffset(file, eventOf(t, s)) : null));
  const record = Buffer.from(recordAt(file, target, eventOf(t, seq)));
  const body = record.subarray(64).toString('utf8');
  const marker = t.markers.get(seq) ?? '';
  const forged = body.replace(marker, marker.replace('mk-', 'mK-'));
  assert.notEqual(forged, body);

  await patch(t.logPath, target, Buffer.from(createHash('sha256').update(forged).digest('hex') + forged));
  const run = await astrid(['log', 'verify'], { home: t.home });

  assertFirstBad(run, seq + 1, /prev does not match/);
});

test('`astrid log verify` names the first of two stored events that were swapped', async () => {
  await using dir = await tempDir('astrid-e2e-');
  const t = await tamperHome(dir.path);
  const file = await readFile(t.logPath);
  const { seq, target } = pickSeq(t, (s) => {
    if (s >= MESSAGES + 1) return null;
    const a = recordOffset(file, eventOf(t, s));
    const b = recordOffset(file, eventOf(t, s + 1));
    if (a === null || b === null) return null;
    const ra = Buffer.from(recordAt(file, a, eventOf(t, s)));
    const rb = Buffer.from(recordAt(file, b, eventOf(t, s + 1)));
    return ra.length === rb.length ? { a, b, ra, rb } : null;
  });

  // Each record stays self-consistent (its hash matches its body); only the order is wrong.
  await patch(t.logPath, target.a, target.rb);
  await patch(t.logPath, target.b, target.ra);
  const run = await astrid(['log', 'verify'], { home: t.home });

  assertFirstBad(run, seq, new RegExp(`body names seq ${seq + 1}`));
});

test('`astrid log verify` names a seq that is missing from the stored keys', async () => {
  await using dir = await tempDir('astrid-e2e-');
  const t = await tamperHome(dir.path);
  const file = await readFile(t.logPath);
  // An LMDB leaf node is its header, then the key, then the value: find key ‖ record.
  const { seq, target } = pickSeq(t, (s) => {
    const key = Buffer.from(keyValueToBuffer(s));
    const at = uniqueOffset(file, Buffer.concat([key, Buffer.from(`${eventOf(t, s).hash}{"seq":${s},`)]));
    return at === null ? null : { at, key };
  });
  // seq + 0.5 sorts between its neighbours and encodes to as many bytes, so the B-tree stays valid.
  const moved = Buffer.from(keyValueToBuffer(seq + 0.5));
  assert.equal(moved.length, target.key.length);

  await patch(t.logPath, target.at, moved);
  const run = await astrid(['log', 'verify'], { home: t.home });

  assertFirstBad(run, seq, new RegExp(`seq ${seq} is missing`));
});
