import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { before, test } from 'node:test';
import type { HashedEvent } from '../../kernel/events/index.ts';
import { homeLayout } from '../../kernel/home/index.ts';
import type { BusMessage, PublishReceipt } from '../../kernel/service/index.ts';
import { kvGet } from '../../projections/index.ts';
import { assertCliBuilt, homeReaper, runCli, runCliJson, spawnCli, startDaemon, type TestDaemon } from '../support/cli.ts';
import { startMapsSampler } from '../support/maps-sampler.ts';
import { ownHome } from '../support/owned-home.ts';
import { tempDir } from '../support/temp-dir.ts';

interface PublishOut {
  readonly published: number;
  readonly first: PublishReceipt | null;
}

before(() => assertCliBuilt());

/** A fresh initialized home inside `dir`; returns its path and its head after `init`. */
async function initHome(dir: string): Promise<{ home: string; head: number }> {
  const home = join(dir, 'home');
  const init = await runCliJson<{ head: number }>(home, ['init']);
  return { home, head: init.head };
}

for (const withDaemon of [false, true]) {
  const how = withDaemon ? 'through a daemon' : 'with no daemon';
  test(`\`bus subscribe\` prints what \`bus publish\` in other processes appends, live, ${how}`, { timeout: 90_000 }, async () => {
    await using dir = await tempDir('astrid-mp-');
    const { home, head } = await initHome(dir.path);
    await using _reaper = homeReaper(home);
    await using daemon = withDaemon ? await startDaemon(home) : null;
    const publishers = 6;
    await using sub = spawnCli(home, ['bus', 'subscribe', 'mp.>', '--from', String(head + 1), '--count', String(publishers + 1)]);

    // A first message shows the subscription is live before the others are published.
    const warm = await runCliJson<PublishOut>(home, ['bus', 'publish', 'mp.warmup', '{"warm":true}']);
    await sub.waitForLine((l) => l.includes('"mp.warmup"'));
    const [others, ...outs] = await Promise.all([
      runCliJson<PublishOut>(home, ['bus', 'publish', 'elsewhere.x', '{"skip":true}']),
      ...Array.from({ length: publishers }, (_, i) => runCliJson<PublishOut>(home, ['bus', 'publish', `mp.p${i}`, JSON.stringify({ i })])),
    ]);
    const exit = await sub.exited;

    assert.equal(exit.code, 0, `subscriber exited ${exit.code ?? exit.signal}: ${sub.stderr}`);
    const got = sub.lines.map((l) => JSON.parse(l) as BusMessage);
    const expected = [warm, ...outs].map((o) => o.first).sort((a, b) => (a?.seq ?? 0) - (b?.seq ?? 0));
    assert.deepEqual(
      got.map((m) => [m.seq, m.subject]),
      expected.map((r) => [r?.seq, r?.subject]),
    );
    for (const m of got) {
      const i = Number(m.subject.slice('mp.p'.length));
      assert.deepEqual(m.payload, m.subject === 'mp.warmup' ? { warm: true } : { i }, `payload of seq ${m.seq}`);
    }
    assert.ok(!got.some((m) => m.seq === others.first?.seq), 'a message on another subject was delivered');
    await daemon?.stop();
  });
}

type Job =
  | { readonly kind: 'publish'; readonly subject: string; readonly payload: { mode: string; round: number; i: number } }
  | { readonly kind: 'kv'; readonly key: string; readonly value: { mode: string; round: number; i: number } }
  | { readonly kind: 'show' }
  | { readonly kind: 'replay' };

interface Acked {
  readonly job: Job;
  readonly seq: number;
}

interface Failed {
  readonly job: Job;
  readonly exit: number | string;
  readonly error: string;
}

const ROUNDS = 3;
const KINDS = ['publish', 'publish', 'publish', 'kv', 'kv', 'kv', 'show', 'replay'] as const;
const KEYS = 4;

function argsOf(job: Job): string[] {
  if (job.kind === 'publish') return ['bus', 'publish', job.subject, JSON.stringify(job.payload)];
  if (job.kind === 'kv') return ['kv', 'set', 'hammer', job.key, JSON.stringify(job.value)];
  if (job.kind === 'show') return ['log', 'show', '--from', '1', '--limit', '50'];
  return ['replay'];
}

/**
 * Runs ROUNDS rounds of KINDS.length concurrent CLI processes on `home`; returns the
 * acknowledged writes and the commands that failed (checked separately, so one kind of
 * failure does not hide the others).
 */
async function hammer(home: string, mode: string): Promise<{ acked: Acked[]; failed: Failed[] }> {
  const acked: Acked[] = [];
  const failed: Failed[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const jobs: Job[] = KINDS.map((kind, i) => {
      const tag = { mode, round, i };
      if (kind === 'publish') return { kind, subject: `hammer.${mode}.r${round}`, payload: tag };
      if (kind === 'kv') return { kind, key: `k${(round + i) % KEYS}`, value: tag };
      return { kind };
    });
    const results = await Promise.all(jobs.map(async (job) => ({ job, result: await runCli(home, argsOf(job)) })));
    for (const { job, result } of results) {
      if (result.code !== 0) {
        failed.push({ job, exit: result.code ?? result.signal ?? 'unknown', error: result.stderr.trim().slice(-600) });
        continue;
      }
      const out = JSON.parse(result.stdout) as { first?: PublishReceipt; seq?: number } | Array<{ seq: number }>;
      if (job.kind === 'publish' && !Array.isArray(out)) acked.push({ job, seq: out.first?.seq ?? -1 });
      if (job.kind === 'kv' && !Array.isArray(out)) acked.push({ job, seq: out.seq ?? -1 });
      if (job.kind === 'show') {
        assert.ok(Array.isArray(out));
        assert.deepEqual(out.map((e) => e.seq), out.map((_, i) => i + 1), 'log show returned a gap');
      }
    }
  }
  return { acked, failed };
}

/** Whether the log holds the write of a job (to tell a refused write from one done but unanswered). */
function isStored(events: readonly HashedEvent[], job: Job): boolean {
  if (job.kind === 'publish') return events.some((e) => e.subject === job.subject && isDeepStrictEqual(e.data, { kind: 'custom', payload: job.payload }));
  if (job.kind === 'kv') return events.some((e) => isDeepStrictEqual(e.data, { namespace: 'hammer', key: job.key, value: job.value }));
  return false;
}

for (const withDaemon of [true, false]) {
  const mode = withDaemon ? 'daemon' : 'nodaemon';
  const how = withDaemon ? 'while a daemon runs' : 'while no daemon runs';
  test(`${ROUNDS} rounds of ${KINDS.length} concurrent CLI processes on one home ${how}`, { timeout: 120_000 }, async (t) => {
    await using dir = await tempDir('astrid-hammer-');
    const { home } = await initHome(dir.path);
    await using _reaper = homeReaper(home);
    const log = homeLayout(home).log;
    await using daemon: TestDaemon | null = withDaemon ? await startDaemon(home) : null;
    await using sampler = await startMapsSampler({ files: [log, `${log}-lock`], cmdlineContains: home, alsoWatch: [process.pid] });
    const { acked, failed } = await hammer(home, mode);
    const maps = await sampler.stop();
    t.diagnostic(
      `${maps.samples} /proc maps samples in ${maps.elapsedMs} ms over ${maps.processesWatched} processes; ${maps.samplesWithOneMapper} saw one process mapping the log, ` +
        `${maps.unconfirmed} saw a handover in progress, ${maps.violations.length} saw two at once; ${maps.mappers.length} distinct processes mapped it`,
    );

    await t.test('no two processes ever map log.mdb at the same time', () => {
      assert.deepEqual(maps.violations, [], 'two processes mapped log.mdb at the same time');
      assert.ok(maps.samplesWithOneMapper > 0, 'the sampler never saw the log mapped, so it proved nothing');
      if (daemon !== null) assert.deepEqual(maps.mappers, [daemon.pid], 'with a daemon running only the daemon may map the log');
      else assert.ok(maps.mappers.length >= 2, 'with no daemon several commands should have owned the home in turn');
    });

    if (daemon !== null) {
      await t.test('clients of the daemon read a verified log and the last acknowledged kv values', async () => {
        const verify = await runCliJson<{ ok: boolean }>(home, ['log', 'verify']);
        assert.equal(verify.ok, true);
        for (let k = 0; k < KEYS; k++) {
          const last = lastSet(acked, `k${k}`);
          if (last !== null) assert.deepEqual(await runCliJson(home, ['kv', 'get', 'hammer', `k${k}`]), { namespace: 'hammer', key: `k${k}`, ...last });
        }
      });
      await daemon.stop();
    }

    await using owner = await ownHome(home);
    const events = [...owner.log.read()];
    await t.test('every acknowledged write holds its payload, the log verifies and kv ends with the last acknowledged values', () => {
      const report = owner.log.verify();
      assert.equal(report.ok, true, JSON.stringify(report.firstBad));
      assert.equal(report.checked, owner.log.head().seq);
      assert.ok(acked.length > 0);
      for (const { job, seq } of acked) {
        const event = owner.log.get(seq);
        assert.ok(event !== null, `acknowledged seq ${seq} is missing`);
        if (job.kind === 'publish') assert.deepEqual([event.subject, event.data], [job.subject, { kind: 'custom', payload: job.payload }]);
        if (job.kind === 'kv') assert.deepEqual(event.data, { namespace: 'hammer', key: job.key, value: job.value });
      }
      for (let k = 0; k < KEYS; k++) {
        const entry = kvGet(owner.log.projection('kv'), 'hammer', `k${k}`);
        const stored = entry === null ? null : { value: entry.value, seq: entry.seq };
        // A set that failed on the client side may still have been applied; then it is the last.
        const lastStored = events.filter((e) => e.type === 'kv.value.set' && (e.data as { key: string }).key === `k${k}`).at(-1);
        assert.deepEqual(stored, lastStored === undefined ? null : { value: (lastStored.data as { value: unknown }).value, seq: lastStored.seq });
        const last = lastSet(acked, `k${k}`);
        if (last !== null) assert.ok(stored !== null && stored.seq >= last.seq, `kv hammer/k${k} is older than its last acknowledged set`);
        if (!failed.some((f) => f.job.kind === 'kv' && f.job.key === `k${k}`)) assert.deepEqual(stored, last, `kv hammer/k${k} is not the last acknowledged value`);
      }
    });

    await t.test('every command succeeds', () => {
      const applied = failed.filter((f) => isStored(events, f.job)).length;
      assert.deepEqual(
        failed.map((f) => `${argsOf(f.job).slice(0, 2).join(' ')} exited ${f.exit}: ${f.error}`),
        [],
        `${failed.length} of ${ROUNDS * KINDS.length} commands failed (${applied} of those writes were nevertheless stored)`,
      );
    });
  });
}

/** The acknowledged `kv set` of `key` with the highest seq, as `{ value, seq }`, or null. */
function lastSet(acked: readonly Acked[], key: string): { value: unknown; seq: number } | null {
  let best: { value: unknown; seq: number } | null = null;
  for (const { job, seq } of acked) if (job.kind === 'kv' && job.key === key && (best === null || seq > best.seq)) best = { value: job.value, seq };
  return best;
}
